"""The supervised runtime with real processes: supervisord, gunicorn (gevent), RQ workers, cron."""

import signal
import threading
import time

import pytest

from tests.system.stack import kill, supervised_stack, wait_until, wrk

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
