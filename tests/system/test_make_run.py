"""`make run`'s script on a fresh, empty data directory: the API, the fake WeChat server,
the demo mini-program and a login; then whatever stops it (Ctrl-C, TERM, HUP, even KILL)
stops everything it started."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.helpers import PROJECT_DIR
from tests.system.stack import free_port, wait_until

pytestmark = pytest.mark.system

DEMO_APPID = "wx0123456789abcdef"


@dataclass
class LocalRun:
    process: subprocess.Popen
    env: dict[str, str]
    port: int
    fake_port: int

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v2"

    def wait_until_serving(self) -> None:
        wait_until(
            lambda: requests.get(self.api + "/ping", timeout=2).ok,
            timeout=120,
            what="make run serving",
        )


def start_run_local(data_dir: Path) -> LocalRun:
    port, fake_port = free_port(), free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "MINIHUB_VAR_DIR": str(data_dir),  # no database yet: everything is made here
        "MINIHUB_RUN_PORT": str(port),
        "MINIHUB_FAKE_WECHAT_PORT": str(fake_port),
    }
    process = subprocess.Popen(
        [sys.executable, "scripts/run_local.py"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return LocalRun(process=process, env=env, port=port, fake_port=fake_port)


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): state, ppid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> set[int]:
    """Every process started by pid, by its children, and so on."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int(stat_fields(int(entry.name))[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper that never comes)."""
    try:
        return stat_fields(pid)[0] != "Z"
    except FileNotFoundError:
        return False


def port_is_free(port: int) -> bool:
    """Free for the next `make run`: its servers bind with SO_REUSEADDR as this does."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_run_local_serves_the_embedded_default_and_stops_on_ctrl_c(tmp_path):
    run = start_run_local(tmp_path)
    children = set()
    try:
        run.wait_until_serving()
        children = descendants(run.process.pid)
        assert requests.get(run.api + "/health", timeout=5).json()["status"] == "ok"
        albums = requests.get(
            run.api + "/albums", headers={"X-Mini-Program": DEMO_APPID}, timeout=5
        )
        assert len(albums.json()["items"]) == 20
        login = subprocess.run(
            [sys.executable, "scripts/demo_login.py"],
            cwd=PROJECT_DIR,
            env=run.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert login.returncode == 0, login.stdout + login.stderr
        assert "GET /me -> 200" in login.stdout
    finally:
        run.process.send_signal(signal.SIGINT)
        output, _ = run.process.communicate(timeout=30)
    assert "MiniHub is serving" in output
    assert (tmp_path / "db" / "default.sqlite3").exists()
    assert (tmp_path / "db" / "admin.sqlite3").exists()
    assert not [pid for pid in children if running(pid)]
    for stopped_port in (run.port, run.fake_port):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{stopped_port}/", timeout=2)


@pytest.mark.parametrize(
    "stop_signal",
    [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
    ids=lambda sig: signal.Signals(sig).name,
)
def test_run_local_leaves_no_server_behind_when_signalled(tmp_path, stop_signal):
    """TERM (make's own stop, a service manager's) and HUP (a closed terminal) stop what it
    started; so does KILL, which the script cannot catch: its children then die with it."""
    run = start_run_local(tmp_path)
    children = set()
    try:
        run.wait_until_serving()
        children = descendants(run.process.pid)
        assert len(children) >= 2  # the development server and the fake WeChat
        run.process.send_signal(stop_signal)
        run.process.wait(timeout=30)
        wait_until(
            lambda: not [pid for pid in children if running(pid)],
            timeout=15,
            what="every process make run started stopped",
        )
        assert port_is_free(run.port)
        assert port_is_free(run.fake_port)
    finally:
        for pid in [run.process.pid, *children]:  # what a failed stop left
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.process.communicate(timeout=30)
