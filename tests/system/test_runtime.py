"""The supervised runtime with real processes: supervisord, gunicorn (gevent), RQ workers, cron."""

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import threading
import time

import pytest
import requests

from tests.system.env_files import environment_of, hostile_secret_key, write_env_file
from tests.system.stack import (
    CTL,
    kill,
    processes_of_run_dir,
    supervised_stack,
    wait_until,
    wrk,
)

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(tmp_path):
    with supervised_stack(tmp_path) as running:
        yield running


def test_supervisord_starts_every_program(stack):
    assert set(stack.pids()) == {
        "minihub:web",
        "minihub:rqworker_00",
        "minihub:rqworker_01",
        "minihub:rqcron",
    }
    assert len(stack.gunicorn_workers()) == 2
    for name in ("web.access.log", "web.log", "rq.log", "cron.log", "supervisord.log"):
        assert (stack.run_dir / "logs" / name).exists()


def test_minihubctl_status_shows_the_programs_and_the_data_tier(stack):
    status = stack.ctl("status")
    assert re.search(r"minihub:web\s+RUNNING", status), status
    assert re.search(r"redis master: 127\.0\.0\.1:\d+ \(from REDIS_URL\), answering", status)
    assert "replicas: none (every read on the primary)" in status


def test_a_killed_gunicorn_worker_is_replaced_within_10_seconds(stack):
    victim = stack.gunicorn_workers()[0]
    kill(victim)
    wait_until(
        lambda: victim not in stack.gunicorn_workers() and len(stack.gunicorn_workers()) == 2,
        timeout=10,
        what="a new gunicorn worker",
    )
    assert stack.live()


def test_a_killed_gunicorn_master_is_restarted_within_10_seconds(stack):
    master = stack.pids()["minihub:web"]
    kill(master)
    wait_until(
        lambda: stack.pids().get("minihub:web") not in (None, master) and stack.live(),
        timeout=10,
        what="gunicorn restarted by supervisor",
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
def test_reload_under_load_drops_no_request(tmp_path, recycling):
    extra = (
        {"GUNICORN_MAX_REQUESTS": "40", "GUNICORN_MAX_REQUESTS_JITTER": "10"} if recycling else {}
    )
    with supervised_stack(tmp_path, **extra) as stack:

        def reload_twice():
            for _ in range(2):
                time.sleep(2.5)
                assert "signalled" in stack.supervisorctl("signal", "HUP", "minihub:web")

        reloader = threading.Thread(target=reload_twice)
        reloader.start()
        result = wrk(stack.base_url + "/api/v2/health", seconds=8, connections=16)
        reloader.join()
        assert result.requests > 100, result.output
        assert result.non_2xx == 0, result.output
        assert result.socket_errors == 0, result.output
        if recycling:
            log = (stack.run_dir / "logs" / "web.log").read_text()
            assert "Autorestarting worker after current request" in log


def test_stop_is_graceful_for_gunicorn(stack):
    master = stack.pids()["minihub:web"]
    kill(master, signal.SIGTERM)  # what supervisor sends on stop
    wait_until(
        lambda: "Shutting down" in (stack.run_dir / "logs" / "web.log").read_text(),
        timeout=30,
        what="graceful shutdown logged",
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
