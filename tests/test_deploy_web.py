"""deploy/web, the web tier's one entry point, run for real: it serves on MINIHUB_BIND,
is gunicorn itself (exec), stops gracefully on TERM, and runs its project as named (through
a `current` link, as supervisor starts it)."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.helpers import PROJECT_DIR, test_process_env
from tests.system.stack import free_port, wait_until

WEB = PROJECT_DIR / "deploy" / "web"


def web_env(tmp_path, **overrides: str) -> dict[str, str]:
    """A web tier on this test run's databases, its pid file and socket in `tmp_path`."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        **test_process_env(
            GUNICORN_WORKERS="1",
            GUNICORN_PROC_NAME="minihub-deploy-web-test",
            MINIHUB_RUN_DIR=str(tmp_path),
            **overrides,
        ),
    }


def printed_config(command: str, env: dict[str, str]) -> dict[str, str]:
    """What gunicorn makes of the shipped config: `deploy/web --print-config`, passed on."""
    result = subprocess.run(
        [command, "--print-config"],
        cwd="/",  # deploy/web finds its project itself
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))


def test_the_default_bind_is_127_0_0_1_port_8000(tmp_path, django_db_setup):
    config = printed_config(str(WEB), web_env(tmp_path))
    assert config["bind"] == "['127.0.0.1:8000']"
    # The rest is the shipped config, GUNICORN_* variables included.
    assert config["workers"] == "1"
    assert config["worker_class"] == "gthread"
    assert config["chdir"] == str(PROJECT_DIR)


def test_minihub_bind_sets_the_address(tmp_path, django_db_setup):
    config = printed_config(str(WEB), web_env(tmp_path, MINIHUB_BIND="127.0.0.1:8123"))
    assert config["bind"] == "['127.0.0.1:8123']"


@pytest.mark.parametrize("link", ["project", "script"])
def test_it_runs_its_project_through_the_current_link(tmp_path, django_db_setup, link):
    """Started as <root>/current/deploy/web (or through a link to that), gunicorn works in
    <root>/current, never the directory the link names today: a HUP loads a new release."""
    current = tmp_path / "current"
    current.symlink_to(PROJECT_DIR)
    command = current / "deploy" / "web"
    if link == "script":
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "minihub-web").symlink_to(command)
        command = tmp_path / "bin" / "minihub-web"
    config = printed_config(str(command), web_env(tmp_path / "run"))
    assert config["chdir"] == str(current)


def test_it_serves_on_minihub_bind_and_term_stops_it_gracefully(tmp_path, django_db_setup):
    port = free_port()
    env = web_env(tmp_path, MINIHUB_BIND=f"127.0.0.1:{port}")
    graceful_timeout = float(printed_config(str(WEB), env)["graceful_timeout"])
    log = (tmp_path / "web.log").open("w")
    server = subprocess.Popen([str(WEB)], cwd="/", env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        ping = wait_until(
            lambda: requests.get(f"http://127.0.0.1:{port}/api/v2/ping", timeout=2),
            timeout=30,
            what="deploy/web answering",
        )
        assert ping.status_code == 200, ping.text
        assert ping.json() == {"message": "pong"}
        # exec: the process started is gunicorn's master, which TERM reaches directly.
        argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert any(arg.endswith(b".venv/bin/gunicorn") for arg in argv), argv
        assert not any(arg.endswith(b"deploy/web") for arg in argv), argv
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=graceful_timeout) == 0
        assert time.monotonic() - started < graceful_timeout
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/api/v2/ping", timeout=2)


def test_granian_serves_when_chosen_and_stops_on_term(tmp_path, django_db_setup):
    """MINIHUB_WEB_SERVER=granian: the same entry point, the same address, granian itself."""
    port = free_port()
    env = web_env(
        tmp_path,
        MINIHUB_BIND=f"127.0.0.1:{port}",
        MINIHUB_WEB_SERVER="granian",
        GRANIAN_WORKERS="1",
    )
    log = (tmp_path / "granian.log").open("w")
    server = subprocess.Popen([str(WEB)], cwd="/", env=env, stdout=log, stderr=log)
    try:
        ping = wait_until(
            lambda: requests.get(f"http://127.0.0.1:{port}/api/v2/ping", timeout=2),
            timeout=30,
            what="deploy/web (granian) answering",
        )
        assert ping.status_code == 200, ping.text
        assert ping.json() == {"message": "pong"}
        assert ping.headers["X-Request-ID"]
        argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert any(arg.endswith(b".venv/bin/granian") for arg in argv), argv
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    assert "GET /api/v2/ping" in (tmp_path / "granian.log").read_text(), "its access log"


def test_an_unknown_web_server_is_refused_by_name(tmp_path, django_db_setup):
    env = web_env(tmp_path, MINIHUB_WEB_SERVER="uwsgi")
    result = subprocess.run([str(WEB)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "MINIHUB_WEB_SERVER must be gunicorn or granian, not 'uwsgi'" in result.stderr
