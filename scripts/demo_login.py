"""Log in to a local `make run` as a demo user, the way a mini-program would.

1. The fake WeChat server hands out a wx.login code (in real life wx.login() does).
2. POST /api/v2/auth/login exchanges it for a MiniHub token.
3. GET /api/v2/me with the token.
"""

import json
import os
import sys

import requests

API = f"http://127.0.0.1:{os.environ.get('MINIHUB_RUN_PORT', '8000')}/api/v2"
FAKE = f"http://127.0.0.1:{os.environ.get('MINIHUB_FAKE_WECHAT_PORT', '8081')}"
APPID = "wx0123456789abcdef"


def main() -> int:
    openid = sys.argv[1] if len(sys.argv) > 1 else "demo-user"
    code = requests.post(
        f"{FAKE}/__fake__/codes", json={"appid": APPID, "openid": openid}, timeout=5
    ).json()["code"]
    print(f"wx.login code from the fake WeChat server: {code}")
    headers = {"X-Mini-Program": APPID}
    login = requests.post(f"{API}/auth/login", json={"code": code}, headers=headers, timeout=10)
    print(f"POST /auth/login -> {login.status_code}\n{json.dumps(login.json(), indent=2)}")
    if login.status_code != 200:
        return 1
    headers["Authorization"] = f"Bearer {login.json()['token']}"
    me = requests.get(f"{API}/me", headers=headers, timeout=10)
    print(f"GET /me -> {me.status_code}\n{json.dumps(me.json(), indent=2, ensure_ascii=False)}")
    auth = headers["Authorization"]
    print(f"\ncurl {API}/me -H 'X-Mini-Program: {APPID}' -H 'Authorization: {auth}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
