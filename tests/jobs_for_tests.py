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


def album_plays_flush_crashing_job(crash_at: str) -> None:
    """The plays flush with its work horse dying (os._exit, as a kill -9 would) at a point:
    "after_move", once counts moved into a batch in Redis; "after_commit", once a batch's
    counts committed to the database. Patched here, in the forked work horse only."""
    import os

    from minihub.albums import plays_store, services

    def then_die(function, *, when_result=lambda result: True):
        def wrapped(*args, **kwargs):
            result = function(*args, **kwargs)
            if when_result(result):
                os._exit(1)
            return result

        return wrapped

    if crash_at == "after_move":
        plays_store.batch_open = then_die(plays_store.batch_open, when_result=bool)
    elif crash_at == "after_commit":
        services._batch_apply = then_die(services._batch_apply)
    else:
        raise ValueError(f"unknown crash point {crash_at!r}")
    services.album_plays_flush()
