"""Job functions the test suite enqueues for real workers (they import this module)."""

import logging

from django.db import connection

from minihub.core.redis import get_redis

logger = logging.getLogger("minihub.tests.jobs")


def record_connection_job(list_key: str) -> None:
    """Push this job's MySQL connection id, to show each job opens its own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        get_redis().rpush(list_key, cursor.fetchone()[0])
    logger.info("recorded a connection id")


def failing_job(message: str) -> None:
    raise RuntimeError(message)
