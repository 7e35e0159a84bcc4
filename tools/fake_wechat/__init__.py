"""A fake WeChat API server for tests, local runs and benchmarks (development tooling:
not part of the shipped `minihub` package).

Standard library only (no Django), so it runs anywhere:

    python -m tools.fake_wechat --port 0 [--host 127.0.0.1] [--token-ttl 7200]
                               [--app APPID:SECRET ...] [--verbose]

Once ready it prints `fake wechat listening on http://HOST:PORT` (the real
port when --port is 0) and stops cleanly on SIGTERM or SIGINT. All state
lives in memory.

WeChat paths (real paths, shapes and error codes; see docs/wechat.md). Every
error is HTTP 200 with {"errcode": N, "errmsg": "... rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"}:
    GET  /sns/jscode2session        GET  /cgi-bin/token
    POST /cgi-bin/stable_token      POST /wxa/business/getuserphonenumber
    POST /cgi-bin/message/subscribe/send
    POST /wxa/msg_sec_check         POST /wxa/getwxacodeunlimit
Unknown paths: HTTP 404 {"errcode": 404, "errmsg": "not found rid: ..."}.
msgSecCheck answers "risky" (label 20001) for text containing "risky-word",
"违规" or "赌博", "review" (label 100) for "review-word", else "pass".

Control endpoints (malformed requests: HTTP 400 {"error": "..."}):
    POST /__fake__/apps {"appid", "secret"}            register or update an app
    POST /__fake__/codes {"appid", "openid", "unionid"?, "session_key"?,
                          "blocked"?, "age_seconds"?}  -> {"code", "session_key"}
        a wx.login code: single use, 5 minutes. "blocked": true makes it
        answer 40226; "age_seconds" backdates it (to test expiry).
    POST /__fake__/phone-codes {"appid", "phone", "age_seconds"?} -> {"code"}
        phone: "13800138000", "+8613800138000" or "+1 2025550123".
    POST /__fake__/faults {"path", "errcode", "times"?=1, "delay"?=10}
        the next `times` calls of `path` answer `errcode`, or, for
        "errcode": "timeout", get no answer for `delay` seconds and a hang-up.
    GET  /__fake__/messages?appid=   {"messages": [...]} subscribe messages sent
    GET  /__fake__/stats             {"<path>": calls} per WeChat path, faulted calls included
    POST /__fake__/reset             forget everything (apps included)
    POST /__fake__/clock {"seconds"} move the fake's clock forward (token
        lifetimes, force_refresh spacing) without waiting; reset puts it back.
"""

from .server import FakeWeChatServer, main
from .state import State

__all__ = ["FakeWeChatServer", "State", "main"]
