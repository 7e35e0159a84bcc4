"""The process's Redis client, on a bounded pool that waits for a free connection."""

import functools

import redis
from django.conf import settings


@functools.cache
def get_redis() -> redis.Redis:
    """Redis for counters, locks and token state.

    With no REDIS_URL (the `debug` embedded default only) an in-process Redis
    (fakeredis) stands in, so `make run` needs no server.
    """
    if not settings.REDIS_URL:
        import fakeredis

        return fakeredis.FakeRedis()
    pool = redis.BlockingConnectionPool.from_url(
        settings.REDIS_URL,
        max_connections=settings.REDIS_MAX_CONNECTIONS,
        timeout=settings.REDIS_POOL_TIMEOUT_SECONDS,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
    return redis.Redis(connection_pool=pool)
