"""`make run`'s script on a fresh, empty data directory: the API, the fake WeChat server,
the demo mini-program and a login, then Ctrl-C stops everything."""

import os
import signal
import subprocess
import sys

import pytest
import requests

from tests.helpers import PROJECT_DIR
from tests.system.stack import free_port, wait_until

pytestmark = pytest.mark.system

DEMO_APPID = "wx0123456789abcdef"


def test_run_local_serves_the_embedded_default_and_stops_on_ctrl_c(tmp_path):
    port, fake_port = free_port(), free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "MINIHUB_VAR_DIR": str(tmp_path),  # no database yet: everything is made here
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
    api = f"http://127.0.0.1:{port}/api/v2"
    try:
        wait_until(
            lambda: requests.get(api + "/ping", timeout=2).ok, timeout=120, what="make run serving"
        )
        assert requests.get(api + "/health", timeout=5).json()["status"] == "ok"
        albums = requests.get(api + "/albums", headers={"X-Mini-Program": DEMO_APPID}, timeout=5)
        assert len(albums.json()["items"]) == 20
        login = subprocess.run(
            [sys.executable, "scripts/demo_login.py"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert login.returncode == 0, login.stdout + login.stderr
        assert "GET /me -> 200" in login.stdout
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "MiniHub is serving" in output
    assert (tmp_path / "db" / "default.sqlite3").exists()
    assert (tmp_path / "db" / "admin.sqlite3").exists()
    for stopped_port in (port, fake_port):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{stopped_port}/", timeout=2)
