"""What `test` (staging) and `master` (production) share: every server-side
setting comes from the environment, and the mandatory ones fail closed."""

from config.settings.base import *  # noqa: F403
from config.settings.base import ADMIN_APP_LABELS
from config.settings.database import databases_from_urls, install_driver
from config.settings.env import (
    csv_list,
    env,
    optional,
    redis_url_with_credentials,
    require,
    sentinel_addresses,
)

DEBUG = False
SECRET_KEY = require("SECRET_KEY")
ALLOWED_HOSTS = csv_list(require("ALLOWED_HOSTS"))

install_driver(optional("DATABASE_DRIVER", "pymysql"))
_admin_database_url = optional("ADMIN_DATABASE_URL", "")
DATABASES = databases_from_urls(
    default=require("DATABASE_URL"),
    admin=_admin_database_url or require("DATABASE_URL"),
    replicas=csv_list(optional("DATABASE_REPLICA_URLS", "")),
    conn_max_age=env.int("DATABASE_CONN_MAX_AGE", default=60),
    # 0 (the default): a persistent connection per thread, bounded by the web
    # server's threads. A pool of this many connections per process and database
    # is for gevent workers, whose greenlets nothing else bounds.
    pool_size=env.int("DATABASE_POOL_SIZE", default=0),
    pool_wait_seconds=env.float("DATABASE_POOL_WAIT_SECONDS", default=10),
)
# A replica further behind (or down, or not replicating) gets no reads until it catches up.
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=10)
if _admin_database_url:
    DATABASE_APPS_MAPPING = {label: "admin" for label in ADMIN_APP_LABELS}
else:
    # One database for everything: a second alias onto it would share its
    # django_migrations table and skip the admin tables.
    del DATABASES["admin"]
    DATABASE_APPS_MAPPING = {}

REDIS_URL = redis_url_with_credentials("REDIS_URL")
REDIS_MAX_CONNECTIONS = env.int("REDIS_MAX_CONNECTIONS", default=50)
REDIS_POOL_TIMEOUT_SECONDS = env.float("REDIS_POOL_TIMEOUT_SECONDS", default=5)
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=2)
# Through Sentinel: REDIS_URL then gives only the database number and credentials.
REDIS_SENTINELS = sentinel_addresses("REDIS_SENTINELS", optional("REDIS_SENTINELS", ""))
REDIS_SENTINEL_MASTER = optional("REDIS_SENTINEL_MASTER", "minihub")
REDIS_SENTINEL_PASSWORD = optional("REDIS_SENTINEL_PASSWORD", "")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "minihub",
        "OPTIONS": {
            # JSON, not pickle: nothing read from Redis can run code.
            "serializer": "minihub.core.serializers.CacheSerializer",
            # get_redis()'s pool: bounded, and through Sentinel when it is configured.
            "pool_class": "minihub.core.redis.ProcessConnectionPool",
        },
    }
}


def _rq_connection() -> dict:
    """django-rq's connection settings: REDIS_URL, or Sentinel with REDIS_URL's db and
    credentials (django-rq builds a redis.sentinel client from SENTINELS)."""
    if not REDIS_SENTINELS:
        return {"URL": REDIS_URL}
    from minihub.core.redis import url_database_and_credentials

    url = url_database_and_credentials(REDIS_URL)
    timeouts = {
        "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
    }
    return {
        "SENTINELS": REDIS_SENTINELS,
        "MASTER_NAME": REDIS_SENTINEL_MASTER,
        "DB": url.get("db", 0),
        "USERNAME": url.get("username"),
        "PASSWORD": url.get("password"),
        "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
        "CONNECTION_KWARGS": {"socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS},
        "SENTINEL_KWARGS": {"password": REDIS_SENTINEL_PASSWORD or None, **timeouts},
    }


RQ_QUEUES = {
    name: {**_rq_connection(), "DEFAULT_TIMEOUT": 300, "SERIALIZER": JOB_SERIALIZER}  # noqa: F405
    for name in JOB_QUEUES  # noqa: F405
}

FIELD_ENCRYPTION_KEYS = csv_list(require("FIELD_ENCRYPTION_KEYS"))
WECHAT_API_BASE = optional("WECHAT_API_BASE", "https://api.weixin.qq.com")
ADMIN_URL = optional("ADMIN_URL", "admin/")
API_THROTTLES_ENABLED = env.bool("API_THROTTLES_ENABLED", default=True)

SENTRY_DSN = optional("SENTRY_DSN", "")
