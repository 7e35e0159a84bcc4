"""`make run`: the embedded default (SQLite, in-process jobs, the fake WeChat server).

Migrates both SQLite databases, starts the fake WeChat server, registers the
demo mini-program with it, and serves the API on 127.0.0.1:8000 until Ctrl-C,
which stops everything this script started.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST, PORT = "127.0.0.1", 8000


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=PROJECT_DIR, check=True)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.debug")
    manage("migrate", "--noinput", "-v0")
    manage("migrate", "--database", "admin", "--noinput", "-v0")
    print(
        f"\nMiniHub is starting on http://{HOST}:{PORT}\n"
        f"  curl http://{HOST}:{PORT}/api/v2/ping\n"
        f"  curl http://{HOST}:{PORT}/api/v2/health\n"
        f"  API docs: http://{HOST}:{PORT}/api/v2/docs\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    server = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"], cwd=PROJECT_DIR
    )
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.send_signal(signal.SIGINT)
        return server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
