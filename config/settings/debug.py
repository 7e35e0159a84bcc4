"""Local development: the embedded default. No server needed: SQLite, local-memory
cache, an in-process Redis stand-in, jobs run in-process. Any environment variable
(docs/operations.md) may still be set to point at real servers."""

from config.settings.base import *  # noqa: F403
from config.settings.base import ADMIN_APP_LABELS, VAR_DIR
from config.settings.database import databases_from_urls, install_driver
from config.settings.env import csv_list, env, optional

DEBUG = True
ENVIRONMENT = "debug"
SECRET_KEY = optional("SECRET_KEY", "debug-only-insecure-secret-key-never-use-elsewhere")
ALLOWED_HOSTS = csv_list(optional("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"))

DB_DIR = VAR_DIR / "db"
DB_DIR.mkdir(parents=True, exist_ok=True)
install_driver(optional("DATABASE_DRIVER", "pymysql"))
DATABASES = databases_from_urls(
    default=optional("DATABASE_URL", f"sqlite:///{DB_DIR / 'default.sqlite3'}"),
    admin=optional("ADMIN_DATABASE_URL", f"sqlite:///{DB_DIR / 'admin.sqlite3'}"),
    replicas=csv_list(optional("DATABASE_REPLICA_URLS", "")),
)
DATABASE_APPS_MAPPING = {label: "admin" for label in ADMIN_APP_LABELS}

# Empty: an in-process Redis stand-in (see minihub.core.redis).
REDIS_URL = optional("REDIS_URL", "")
REDIS_MAX_CONNECTIONS = 16
REDIS_POOL_TIMEOUT_SECONDS = 5
REDIS_SOCKET_TIMEOUT_SECONDS = 2
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
JOBS_RUN_INLINE = True
RQ_QUEUES = {
    name: {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "SERIALIZER": JOB_SERIALIZER}  # noqa: F405
    for name in JOB_QUEUES  # noqa: F405
}

# A fixed key: local data only. Never used outside `debug`.
FIELD_ENCRYPTION_KEYS = csv_list(
    optional("FIELD_ENCRYPTION_KEYS", "ZGVidWctb25seS1maWVsZC1rZXktMDAwMDAwMDAwMDA=")
)
WECHAT_API_BASE = optional("WECHAT_API_BASE", "http://127.0.0.1:8081")
SENTRY_DSN = optional("SENTRY_DSN", "")
ADMIN_URL = optional("ADMIN_URL", "admin/")
API_THROTTLES_ENABLED = env.bool("API_THROTTLES_ENABLED", default=True)
