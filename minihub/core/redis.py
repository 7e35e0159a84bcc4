"""The process's Redis client, on a bounded pool that waits for a free connection.

With REDIS_SENTINELS set, the pool asks Sentinel for the current master
(redis-py's redis.sentinel): every new connection looks the master up, and a
connection to a master that died or was demoted is dropped, so the next
command goes to the promoted replica without a restart. Django's cache shares
this pool (ProcessConnectionPool); RQ gets the same addresses through
RQ_QUEUES (config/settings/deployed.py).
"""

import functools

import redis
from django.conf import settings
from redis.connection import parse_url
from redis.sentinel import Sentinel, SentinelConnectionPool


class BlockingSentinelConnectionPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """Sentinel's master lookup with BlockingConnectionPool's bound: at most
    max_connections, and a caller waits up to `timeout` for a free one."""


def _pool_options() -> dict:
    return {
        "max_connections": settings.REDIS_MAX_CONNECTIONS,
        "timeout": settings.REDIS_POOL_TIMEOUT_SECONDS,
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        "health_check_interval": 30,
    }


def sentinel_client() -> Sentinel:
    """A client of the Sentinel group; REDIS_SENTINEL_PASSWORD is Sentinel's own password."""
    timeouts = {
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": settings.REDIS_SOCKET_TIMEOUT_SECONDS,
    }
    return Sentinel(
        settings.REDIS_SENTINELS,
        sentinel_kwargs={"password": settings.REDIS_SENTINEL_PASSWORD or None, **timeouts},
    )


def url_database_and_credentials(url: str) -> dict:
    """What REDIS_URL still says behind Sentinel: the database number and credentials."""
    parsed = parse_url(url)
    return {key: parsed[key] for key in ("db", "username", "password") if parsed.get(key)}


def connection_pool(url: str) -> redis.ConnectionPool:
    if not getattr(settings, "REDIS_SENTINELS", ()):
        return redis.BlockingConnectionPool.from_url(url, **_pool_options())
    return BlockingSentinelConnectionPool(
        settings.REDIS_SENTINEL_MASTER,
        sentinel_client(),
        **url_database_and_credentials(url),
        **_pool_options(),
    )


@functools.cache
def get_redis() -> redis.Redis:
    """Redis for counters, locks and token state.

    With no REDIS_URL (the `debug` embedded default only) an in-process Redis
    (fakeredis) stands in, so `make run` needs no server.
    """
    if not settings.REDIS_URL:
        import fakeredis

        return fakeredis.FakeRedis()
    return redis.Redis(connection_pool=connection_pool(settings.REDIS_URL))


def current_master() -> str:
    """host:port of the Redis master this process uses (Sentinel's answer, or REDIS_URL's)."""
    if getattr(settings, "REDIS_SENTINELS", ()):
        host, port = sentinel_client().discover_master(settings.REDIS_SENTINEL_MASTER)
        return f"{host}:{port}"
    parsed = parse_url(settings.REDIS_URL)
    return f"{parsed.get('host', 'localhost')}:{parsed.get('port', 6379)}"


class ProcessConnectionPool:
    """Django's RedisCache `pool_class`: the cache uses get_redis()'s pool, so it is
    bounded like every other Redis user and follows Sentinel the same way."""

    @classmethod
    def from_url(cls, url: str, **_options) -> redis.ConnectionPool:
        return get_redis().connection_pool
