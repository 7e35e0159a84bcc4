"""What `test` (staging) and `master` (production) share: every server-side
setting comes from the environment, and the mandatory ones fail closed."""

from config.settings.base import *  # noqa: F403
from config.settings.base import ADMIN_APP_LABELS
from config.settings.database import databases_from_urls, install_driver
from config.settings.env import csv_list, env, optional, redis_url_with_credentials, require

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
    # Connections per process and database; 0 turns pooling off (RQ workers,
    # which fork per job, connect per job instead).
    pool_size=env.int("DATABASE_POOL_SIZE", default=10),
    pool_wait_seconds=env.float("DATABASE_POOL_WAIT_SECONDS", default=10),
)
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
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "minihub",
        # JSON, not pickle: nothing read from Redis can run code.
        "OPTIONS": {"serializer": "minihub.core.serializers.CacheSerializer"},
    }
}
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300, "SERIALIZER": JOB_SERIALIZER}  # noqa: F405
    for name in JOB_QUEUES  # noqa: F405
}

FIELD_ENCRYPTION_KEYS = csv_list(require("FIELD_ENCRYPTION_KEYS"))
WECHAT_API_BASE = optional("WECHAT_API_BASE", "https://api.weixin.qq.com")
ADMIN_URL = optional("ADMIN_URL", "admin/")
API_THROTTLES_ENABLED = env.bool("API_THROTTLES_ENABLED", default=True)

SENTRY_DSN = optional("SENTRY_DSN", "")
