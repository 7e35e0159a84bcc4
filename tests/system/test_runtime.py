"""The supervised runtime with real processes: supervisord, the web server (gunicorn, the
default, and granian, the alternative), RQ workers, cron."""

import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.system.env_files import environment_of, hostile_secret_key, write_env_file
from tests.system.stack import (
    CTL,
    RECYCLING,
    WEB_SERVERS,
    kill,
    processes_of_run_dir,
    running,
    supervised_stack,
    wait_until,
    wrk,
)

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(tmp_path):
    with supervised_stack(tmp_path) as started:
        yield started


@pytest.fixture(params=WEB_SERVERS)
def web_stack(request, tmp_path):
    """The supervised stack under each web server in turn."""
    with supervised_stack(tmp_path, MINIHUB_WEB_SERVER=request.param) as started:
        yield started


def test_supervisord_starts_every_program(stack):
    assert set(stack.pids()) == {
        "minihub:web",
        "minihub:rqworker_00",
        "minihub:rqworker_01",
        "minihub:rqcron",
    }
    assert len(stack.web_workers()) == 2
    main_process = Path(f"/proc/{stack.pids()['minihub:web']}/cmdline").read_bytes()
    assert b".venv/bin/gunicorn" in main_process  # the shipped default
    for name in ("web.access.log", "web.log", "rq.log", "cron.log", "supervisord.log"):
        assert (stack.run_dir / "logs" / name).exists()


def test_minihubctl_status_shows_the_programs_and_the_data_tier(stack):
    status = stack.ctl("status")
    assert re.search(r"minihub:web\s+RUNNING", status), status
    assert re.search(r"redis master: 127\.0\.0\.1:\d+ \(from REDIS_URL\), answering", status)
    assert "replicas: none (every read on the primary)" in status


def test_a_killed_web_worker_is_replaced_within_10_seconds(web_stack):
    victim = web_stack.web_workers()[0]
    kill(victim)
    wait_until(
        lambda: victim not in web_stack.web_workers() and len(web_stack.web_workers()) == 2,
        timeout=10,
        what="a new web worker",
    )
    assert web_stack.live()


def test_a_killed_web_server_is_restarted_within_10_seconds_without_its_old_workers(web_stack):
    main_process = web_stack.pids()["minihub:web"]
    old_workers = web_stack.web_workers()
    kill(main_process)
    wait_until(
        lambda: (
            web_stack.pids().get("minihub:web") not in (None, main_process) and web_stack.live()
        ),
        timeout=10,
        what="the web server restarted by supervisor",
    )
    # Workers of the killed one would serve old code beside the new ones.
    wait_until(
        lambda: not any(running(pid) for pid in old_workers),
        timeout=25,
        what="the killed server's workers gone",
    )


def test_a_killed_rq_worker_is_restarted_within_10_seconds(stack):
    worker = stack.pids()["minihub:rqworker_00"]
    kill(worker)
    wait_until(
        lambda: stack.pids().get("minihub:rqworker_00") not in (None, worker),
        timeout=10,
        what="RQ worker restarted by supervisor",
    )


@pytest.mark.parametrize("recycling", [False, True], ids=["hup", "hup-while-recycling"])
@pytest.mark.parametrize("web_server", WEB_SERVERS)
def test_reload_under_load_replaces_every_worker(tmp_path, web_server, recycling):
    """Two HUPs, as a deploy sends, with workers recycled all along or not. Under gunicorn,
    the default, no request fails. granian answers every request it reads, but closes a
    connection accepted in the instant its worker stops without reading it (hyper's
    graceful shutdown): that client sees a reset, which is why gunicorn is the default."""
    recycling_env, recycled = RECYCLING[web_server]
    extra = recycling_env if recycling else {}
    with supervised_stack(tmp_path, MINIHUB_WEB_SERVER=web_server, **extra) as stack:
        workers_before = set(stack.web_workers())
        reloader = threading.Thread(target=stack.reload_web)
        reloader.start()
        # Keep-alive clients at full speed: a request sent as a worker stops must not be lost.
        result = wrk(stack.base_url + "/api/v2/health/live", seconds=12, connections=32)
        reloader.join()
        assert result.requests > 100, result.output
        assert result.non_2xx == 0, result.output
        print(f"{web_server}: {result.socket_errors} reset of {result.requests} requests")
        if web_server == "gunicorn":
            assert result.socket_errors == 0, result.output
        wait_until(
            lambda: not workers_before & set(stack.web_workers()),
            timeout=30,
            what="every worker replaced",
        )
        if recycling:
            log = (stack.run_dir / "logs" / "web.log").read_text()
            assert recycled in log


def test_stop_lets_an_in_flight_request_finish(web_stack):
    """TERM (what supervisor sends on stop) while a request's body is still arriving:
    the request is answered, then the server exits."""
    body = b'{"appid": "wx0000000000000000", "code": "in-flight"}'
    host, port = web_stack.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as client:
        client.sendall(
            b"POST /api/v2/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(1)  # the server has the request and waits for its body
        main_process = web_stack.pids()["minihub:web"]
        kill(main_process, signal.SIGTERM)
        time.sleep(1)
        client.sendall(body[10:])
        answer = client.makefile("rb").read()
    status_line = answer.split(b"\r\n", 1)[0]
    assert re.match(rb"HTTP/1\.1 [24]\d\d ", status_line), answer[:300]
    wait_until(
        lambda: not running(main_process),
        timeout=30,
        what="the stopped server gone",
    )


def test_minihubctl_reads_the_env_file_as_data(tmp_path):
    marker = tmp_path / "marker"
    secret_key = hostile_secret_key(marker)
    env_file = tmp_path / "secrets" / "test.env"
    write_env_file(env_file, {"SECRET_KEY": secret_key})
    with supervised_stack(tmp_path, MINIHUB_ENV_FILE=str(env_file)) as stack:
        gunicorn_environment = environment_of(stack.pids()["minihub:web"])
    assert not marker.exists()
    assert gunicorn_environment["SECRET_KEY"] == secret_key


@pytest.mark.parametrize(
    ("mode", "owner", "problem"),
    [
        (0o644, "root", "mode 0644 is more open than 0640 (others can read it)"),
        (0o600, "nobody", "owned by nobody, but this runs as root"),
    ],
    ids=["world-readable", "owned-by-another-user"],
)
def test_minihubctl_refuses_an_env_file_others_control_or_read(tmp_path, mode, owner, problem):
    env_file = tmp_path / "secrets" / "test.env"
    write_env_file(env_file, {"SECRET_KEY": "never-loaded"})
    env_file.chmod(mode)
    shutil.chown(env_file, owner)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "MINIHUB_RUN_DIR": str(tmp_path),
        "MINIHUB_ENV_FILE": str(env_file),
    }
    try:
        result = subprocess.run(
            [CTL, "test", "start"], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode != 0
        assert f"{env_file}: {problem}" in result.stderr
        assert not (tmp_path / "pids" / "supervisord.pid").exists()
    finally:
        for pid in processes_of_run_dir(tmp_path):  # what a start that went ahead left
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def common_umask():
    """The umask most login shells have (022): log files must not depend on the caller's."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_log_files_and_their_directories_are_closed_to_others(common_umask, tmp_path):
    logs = tmp_path / "logs"
    # Small files: supervisord rotates web.access.log after a few requests.
    with supervised_stack(tmp_path, MINIHUB_LOG_MAXBYTES="2KB") as stack:
        wait_until(
            lambda: (
                requests.get(stack.base_url + "/api/v2/health/live", timeout=2).ok
                and (logs / "web.access.log.1").exists()
            ),
            timeout=30,
            what="web.access.log rotated",
        )
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in logs.iterdir()}
        directory_modes = {
            name: stat.S_IMODE((tmp_path / name).stat().st_mode)
            for name in ("logs", "pids", "socks")
        }
    expected = {"supervisord.log", "web.log", "web.access.log", "web.access.log.1", "rq.log"}
    assert expected <= set(modes)
    # 0640 at most: no write for the group, nothing for others.
    assert {name: f"{mode:04o}" for name, mode in modes.items() if mode & 0o037} == {}
    assert {name: f"{mode:04o}" for name, mode in directory_modes.items() if mode & 0o027} == {}
