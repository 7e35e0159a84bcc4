"""`python -m minihub.wechat.fake --port N [--host H] [--token-ttl S] [--app APPID:SECRET]`."""

from .server import main

raise SystemExit(main())
