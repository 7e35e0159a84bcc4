"""WeChat's server API: the HTTP client, its error codes, and the cryptography of pushes
and user data (docs/wechat.md). The platform features built on it are the `wechat` app."""
