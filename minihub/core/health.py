"""Dependency checks for GET /health: short timeouts, one word per dependency."""

import logging

from django.conf import settings
from django.db import connections

from minihub.core.redis import get_redis

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"


def _check(name: str, probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure of the dependency makes it unhealthy
        logger.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
        return UNAVAILABLE
    return OK


def _databases_answer() -> None:
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")


def _redis_answers() -> None:
    get_redis().ping()


def _queue_answers() -> None:
    if settings.JOBS_RUN_INLINE:
        return  # jobs run in-process: nothing to reach
    import django_rq

    django_rq.get_queue("default").connection.ping()


def run_health_checks() -> dict[str, str]:
    return {
        "database": _check("database", _databases_answer),
        "redis": _check("redis", _redis_answers),
        "queue": _check("queue", _queue_answers),
    }
