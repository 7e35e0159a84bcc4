"""`python -m tools.fake_wechat --port N [--host H] [--token-ttl S] [--app APPID:SECRET]`."""

from .server import main

raise SystemExit(main())
