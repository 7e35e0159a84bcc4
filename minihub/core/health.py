"""Dependency checks for GET /health: one word per dependency, within a time limit.

Each check runs in a thread of its own and counts as unavailable once
HEALTH_CHECK_TIMEOUT_SECONDS have passed: a load balancer asks with a short timeout of its
own, and a database that accepts connections but never answers (or a pool with no
connection free) would otherwise hold the answer for the connect or pool timeout.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import connections

from minihub.core.redis import get_redis
from minihub.core.replicas import REPLICA_PREFIX

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"


def _check(name: str, probe, results: dict[str, str]) -> None:
    try:
        probe()
    except Exception as exc:  # any failure of the dependency makes it unhealthy
        logger.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
        results[name] = UNAVAILABLE
    else:
        results[name] = OK
    finally:
        connections.close_all()  # this thread's own connections, never reused


def _databases_answer() -> None:
    # Not the replicas: one that is down only leaves the rotation (minihub/core/replicas.py),
    # and must not take every app server out of the load balancer with it.
    for alias in connections:
        if alias.startswith(REPLICA_PREFIX):
            continue
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")


def _redis_answers() -> None:
    get_redis().ping()


def _queue_answers() -> None:
    if settings.JOBS_RUN_INLINE:
        return  # jobs run in-process: nothing to reach
    import django_rq

    django_rq.get_queue("default").connection.ping()


PROBES = {"database": _databases_answer, "redis": _redis_answers, "queue": _queue_answers}


def run_health_checks() -> dict[str, str]:
    """Every check at once; one still running at the time limit is left behind, unavailable."""
    results: dict[str, str] = {}
    threads = [
        threading.Thread(target=_check, args=(name, probe, results), daemon=True)
        for name, probe in PROBES.items()
    ]
    deadline = time.monotonic() + settings.HEALTH_CHECK_TIMEOUT_SECONDS
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    finished = dict(results)  # a check finishing from now on comes too late
    for name in PROBES.keys() - finished.keys():
        logger.warning(
            "health check %s timed out after %s s", name, settings.HEALTH_CHECK_TIMEOUT_SECONDS
        )
    return {name: finished.get(name, UNAVAILABLE) for name in PROBES}
