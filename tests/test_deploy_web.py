"""deploy/web, the web tier's one entry point, run for real: it serves on MINIHUB_BIND,
is the server itself (exec; gunicorn by default, granian when chosen), stops gracefully on
TERM, and runs its project as named (through a `current` link, as supervisor starts it)."""

import contextlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.helpers import PROJECT_DIR, test_process_env
from tests.system.stack import free_port, running, wait_until

WEB = PROJECT_DIR / "deploy" / "web"


def web_env(tmp_path, **overrides: str) -> dict[str, str]:
    """A web tier on this test run's databases, its pid file and socket in `tmp_path`."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        **test_process_env(
            **{
                "GUNICORN_WORKERS": "1",
                "GRANIAN_WORKERS": "1",
                "GUNICORN_PROC_NAME": "minihub-deploy-web-test",
                "MINIHUB_RUN_DIR": str(tmp_path),
                **overrides,
            }
        ),
    }


def printed_config(command: str, env: dict[str, str]) -> dict[str, str]:
    """What gunicorn (the default) makes of the shipped config: `deploy/web --print-config`,
    passed on."""
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


@dataclass(frozen=True)
class Served:
    output: str  # the server's stdout
    messages: str  # its stderr
    took: float  # seconds from TERM to its exit
    ping: requests.Response


def serve_then_term(tmp_path, server_name: str, **overrides: str) -> Served:
    """Start deploy/web, check it answers /ping on MINIHUB_BIND as `server_name` itself,
    TERM it."""
    port = free_port()
    env = web_env(tmp_path, MINIHUB_BIND=f"127.0.0.1:{port}", **overrides)
    out_path, err_path = tmp_path / f"{server_name}.out", tmp_path / f"{server_name}.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        server = subprocess.Popen([str(WEB)], cwd="/", env=env, stdout=out, stderr=err)
        try:
            ping = wait_until(
                lambda: requests.get(f"http://127.0.0.1:{port}/api/v2/ping", timeout=2),
                timeout=30,
                what=f"deploy/web ({server_name}) answering",
            )
            assert ping.status_code == 200, ping.text
            assert ping.json() == {"message": "pong"}
            # exec: the process started is the server's main process, which TERM reaches.
            argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
            assert any(arg.endswith(f".venv/bin/{server_name}".encode()) for arg in argv), argv
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0
            took = time.monotonic() - started
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/api/v2/ping", timeout=2)
    return Served(out_path.read_text(), err_path.read_text(), took, ping)


def test_granian_when_chosen_writes_minihubs_access_line(tmp_path, django_db_setup):
    served = serve_then_term(tmp_path, "granian", MINIHUB_WEB_SERVER="granian")
    # A connection per request: a stopping granian worker drops its idle keep-alive
    # connections, and with them a request a client was sending on one.
    assert served.ping.headers["Connection"] == "close"
    # Its own messages on stderr (web.log under supervisor), the access lines on stdout.
    assert "Starting granian" in served.messages and "Starting granian" not in served.output
    (line,) = [line for line in served.output.splitlines() if "/api/v2/ping" in line]
    # MiniHub's line, with the request id granian's own line cannot carry.
    assert re.fullmatch(
        r'127\.0\.0\.1 "GET /api/v2/ping HTTP/1\.1" 200 \d+ \d+ms ".*" rid=\w+', line
    )


def test_gunicorn_is_the_default_and_term_stops_it_gracefully(tmp_path, django_db_setup):
    env = web_env(tmp_path)
    graceful_timeout = float(printed_config(str(WEB), env)["graceful_timeout"])
    served = serve_then_term(tmp_path, "gunicorn")
    assert served.took < graceful_timeout
    assert re.search(r'"GET /api/v2/ping HTTP/1\.1" 200 \d+ \d+ms ".*" rid=\w+', served.output)
    assert served.ping.headers.get("Connection") != "close"  # nginx may keep it for others


def test_an_unknown_web_server_is_refused_by_name(tmp_path, django_db_setup):
    env = web_env(tmp_path, MINIHUB_WEB_SERVER="uwsgi")
    result = subprocess.run([str(WEB)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "MINIHUB_WEB_SERVER must be granian or gunicorn, not 'uwsgi'" in result.stderr


@pytest.mark.parametrize("when", ["serving", "starting"])
def test_granians_workers_end_with_its_main_process(tmp_path, django_db_setup, when):
    """A killed main process (OOM killer, kill -9) must not leave workers serving old code
    on the port beside the one supervisor starts again: neither workers that serve nor
    workers still starting (importing Django) when it died."""
    port = free_port()
    env = web_env(tmp_path, MINIHUB_BIND=f"127.0.0.1:{port}", GRANIAN_WORKERS="2")
    env["MINIHUB_WEB_SERVER"] = "granian"
    with (tmp_path / "granian.log").open("w") as log:
        server = subprocess.Popen([str(WEB)], cwd="/", env=env, stdout=log, stderr=log)
    workers = []
    try:
        workers = wait_until(
            lambda: len(children(server.pid)) == 2 and children(server.pid),
            timeout=30,
            interval=0.02,
            what="two workers forked",
        )
        if when == "serving":
            wait_until(
                lambda: requests.get(f"http://127.0.0.1:{port}/api/v2/ping", timeout=2).ok,
                timeout=30,
                what="deploy/web answering",
            )
        server.kill()
        server.wait()
        wait_until(
            lambda: not any(running(pid) for pid in workers), timeout=30, what="no worker left"
        )
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if server.poll() is None:
            server.kill()
            server.wait()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/api/v2/ping", timeout=2)


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(child) for child in out.stdout.split()]
