"""`make run`: the embedded default (SQLite, in-process jobs, the fake WeChat server).

Migrates both SQLite databases, starts the fake WeChat server, registers the
demo mini-program in both, and serves the API on 127.0.0.1:8000 until
Ctrl-C, which stops everything this script started.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
PORT = int(os.environ.get("MINIHUB_RUN_PORT", "8000"))
FAKE_PORT = int(os.environ.get("MINIHUB_FAKE_WECHAT_PORT", "8081"))
DEMO_APPID = "wx0123456789abcdef"
DEMO_SECRET = "demo-secret-for-local-runs-only"  # noqa: S105  # pragma: allowlist secret
FAKE = f"http://{HOST}:{FAKE_PORT}"

TRY_IT = f"""
MiniHub is serving http://{HOST}:{PORT}  (fake WeChat at {FAKE}; Ctrl-C stops both)

  curl {HOST}:{PORT}/api/v2/ping
  curl {HOST}:{PORT}/api/v2/health
  curl -H 'X-Mini-Program: {DEMO_APPID}' {HOST}:{PORT}/api/v2/albums
  API docs: http://{HOST}:{PORT}/api/v2/docs

Log in as a user of the demo mini-program {DEMO_APPID}:
  .venv/bin/python scripts/demo_login.py
"""


def manage(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=PROJECT_DIR, check=check, capture_output=not check
    )


def start_fake_wechat() -> subprocess.Popen:
    fake = subprocess.Popen(
        [PYTHON, "-m", "minihub.wechat.fake", "--host", HOST, "--port", str(FAKE_PORT)],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    ready = fake.stdout.readline()
    if "listening" not in ready:
        fake.kill()
        sys.exit(f"the fake WeChat server did not start (is port {FAKE_PORT} free?)")
    return fake


def register_demo_app() -> None:
    requests.post(
        f"{FAKE}/__fake__/apps", json={"appid": DEMO_APPID, "secret": DEMO_SECRET}, timeout=5
    ).raise_for_status()
    listed = manage("miniprogram", "list", check=False).stdout or b""
    if DEMO_APPID.encode() not in listed:
        manage(
            "miniprogram",
            "add",
            "--appid",
            DEMO_APPID,
            "--secret",
            DEMO_SECRET,
            "--name",
            "Demo 🎵",
        )


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    # Ctrl-C must stop us even when started where SIGINT is ignored (a shell's background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.debug")
    os.environ.setdefault("WECHAT_API_BASE", FAKE)
    manage("migrate", "--noinput", "-v0")
    manage("migrate", "--database", "admin", "--noinput", "-v0")
    fake = start_fake_wechat()
    server = None
    try:
        register_demo_app()
        manage("seed_albums", "--appid", DEMO_APPID, "--count", "50")
        server = subprocess.Popen(
            [PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"], cwd=PROJECT_DIR
        )
        print(TRY_IT, flush=True)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(*(p for p in (server, fake) if p is not None))


if __name__ == "__main__":
    sys.exit(main())
