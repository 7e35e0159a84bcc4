"""`make run`: the embedded default (SQLite, in-process jobs, the fake WeChat server).

Migrates both SQLite databases, starts the fake WeChat server, registers the
demo mini-program in both, and serves the API on 127.0.0.1:8000 until
Ctrl-C, TERM or HUP, each of which stops everything this script started.

Each server runs in its own process group, stopped as a group; on Linux each is
also told to exit when this script dies, so that even a SIGKILL of the script
(which it cannot catch) leaves no server holding the ports.
"""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # the script runs from scripts/

from minihub.core.parent_death import end_with_parent  # noqa: E402

PYTHON = sys.executable
HOST = "127.0.0.1"
PORT = int(os.environ.get("MINIHUB_RUN_PORT", "8000"))
FAKE_PORT = int(os.environ.get("MINIHUB_FAKE_WECHAT_PORT", "8081"))
DEMO_APPID = "wx0123456789abcdef"
DEMO_SECRET = "demo-secret-for-local-runs-only"  # noqa: S105  # pragma: allowlist secret
FAKE = f"http://{HOST}:{FAKE_PORT}"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_TIMEOUT_SECONDS = 10

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


class StopRequested(BaseException):
    """A stop signal arrived; a BaseException, as KeyboardInterrupt is, so no
    `except Exception` on the way swallows it."""


def ignore_stop_signals() -> None:
    """Once stopping, a second Ctrl-C (or a HUP after a TERM) must not cut the stop short."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def raise_stop_requested(signum, frame):
    ignore_stop_signals()
    raise StopRequested(signal.Signals(signum).name)


@contextmanager
def stop_signals_held():
    """Stop signals wait until the block ends: a server started in it is always in
    the list of what to stop by the time one is handled."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


class Servers:
    """The long-running processes this script started, each in its own process group."""

    def __init__(self):
        self.started: list[subprocess.Popen] = []

    def start(self, args: list[str], **popen_options) -> subprocess.Popen:
        parent = os.getpid()

        def in_the_child():
            # The signal mask survives exec: the server must get its stop signals.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            end_with_parent(parent)

        with stop_signals_held():
            process = subprocess.Popen(
                args,
                cwd=PROJECT_DIR,
                stdin=subprocess.DEVNULL,
                process_group=0,
                preexec_fn=in_the_child,  # safe: this script runs no threads
                **popen_options,
            )
            self.started.append(process)
        return process

    def stop(self) -> None:
        """TERM to each group, KILL to any still running after STOP_TIMEOUT_SECONDS."""
        ignore_stop_signals()
        # Signalled only while the leader is unreaped: its pid (the group's id) cannot
        # have been reused by then.
        running = [process for process in self.started if process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start_fake_wechat(servers: Servers) -> subprocess.Popen:
    fake = servers.start(
        [PYTHON, "-m", "tools.fake_wechat", "--host", HOST, "--port", str(FAKE_PORT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    ready = fake.stdout.readline()
    if "listening" not in ready:
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


def main() -> int:
    # Set even for SIGINT where it is ignored (a shell's background job): Ctrl-C, TERM
    # and HUP (a closed terminal) all stop what this started.
    for signum in STOP_SIGNALS:
        signal.signal(signum, raise_stop_requested)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.debug")
    os.environ.setdefault("WECHAT_API_BASE", FAKE)
    servers = Servers()
    try:
        # A stop during a manage.py step: subprocess.run kills that step itself.
        manage("migrate", "--noinput", "-v0")
        manage("migrate", "--database", "admin", "--noinput", "-v0")
        start_fake_wechat(servers)
        register_demo_app()
        manage("seed_albums", "--appid", DEMO_APPID, "--count", "50")
        server = servers.start([PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"])
        print(TRY_IT, flush=True)
        return server.wait()
    except StopRequested:
        return 0
    finally:
        servers.stop()


if __name__ == "__main__":
    sys.exit(main())
