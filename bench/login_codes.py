"""Single-use wx.login codes for the login benchmark, made at the fake WeChat up front."""

import itertools
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

MAKERS = 8  # the fake serves each request in a thread of its own
# Codes live 5 minutes at WeChat (and the fake): make them right before the run.
MAX_CODES = 40_000


def write_login_bodies(
    path: Path, *, fake_url: str, appid: str, openids: list[str], count: int
) -> int:
    """`count` bodies {"code": ...}, one per line, for returning users taken in turn."""
    local = threading.local()

    def make(openid: str) -> str:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        answer = local.session.post(
            f"{fake_url}/__fake__/codes", json={"appid": appid, "openid": openid}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()["code"]

    count = min(count, MAX_CODES)
    wanted = itertools.islice(itertools.cycle(openids), count)
    with ThreadPoolExecutor(MAKERS) as pool:
        codes = list(pool.map(make, wanted))
    path.write_text("".join(json.dumps({"code": code}) + "\n" for code in codes))
    return count
