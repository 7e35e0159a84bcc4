"""Wait until a MiniHub server is healthy and, when asked, runs a given release.

Run on a host by fabfile.py (standard library only):

    python probe.py http://127.0.0.1:8000 [--release ID] [--timeout SECONDS] [--pid PID]

Exit 0 as soon as GET /api/v2/health/live names the release (if one is given)
and GET /api/v2/health answers 200. Exit 1, printing the last answer seen, when
the timeout passes first or when process PID (a server started just for this
check) has exited. --timeout 0 checks once (`fab status`).
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

POLL_SECONDS = 0.5
REQUEST_TIMEOUT_SECONDS = 5


def get(url: str) -> tuple[int, str]:
    """Status and body; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return 0, f"{type(error).__name__}: {error}"


def check(base: str, release: str | None) -> tuple[bool, str]:
    status, body = get(base + "/api/v2/health/live")
    if status != 200:
        return False, f"live: {status} {body.strip()}"
    try:
        running = json.loads(body)["release"]
    except (ValueError, KeyError, TypeError):
        return False, f"live: not MiniHub's answer: {body.strip()[:200]}"
    if release and running != release:
        return False, f"live: release {running}, expected {release}"
    status, body = get(base + "/api/v2/health")
    return status == 200, f"release {running}; health: {status} {body.strip()}"


def alive(pid: int) -> bool:
    """False once the process has exited (a zombie counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--release")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--pid", type=int)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    while True:
        ok, seen = check(args.base_url.rstrip("/"), args.release)
        if ok:
            print(seen)
            return 0
        if time.monotonic() >= deadline or (args.pid and not alive(args.pid)):
            print(seen, file=sys.stderr)
            return 1
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
