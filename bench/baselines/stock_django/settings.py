"""Stock settings: Django's own MySQL backend through PyMySQL with persistent connections,
no apps, no middleware. Read from the same environment variables MiniHub is given."""

import os
from urllib.parse import unquote, urlsplit

import pymysql

pymysql.install_as_MySQLdb()

SECRET_KEY = "bench-stock-django-not-a-secret"  # noqa: S105 - answers two read-only views  # pragma: allowlist secret
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.baselines.stock_django.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True

_database = urlsplit(os.environ["DATABASE_URL"])
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.mysql",
        "NAME": _database.path.lstrip("/"),
        "USER": unquote(_database.username or ""),
        "PASSWORD": unquote(_database.password or ""),
        "HOST": _database.hostname,
        "PORT": _database.port or 3306,
        "CONN_MAX_AGE": 60,
        "OPTIONS": {"charset": "utf8mb4"},
    }
}
REDIS_URL = os.environ["REDIS_URL"]
# The mini-program whose albums the view reads (MiniHub finds it from X-Mini-Program).
BENCH_MINI_PROGRAM_ID = int(os.environ["BENCH_MINI_PROGRAM_ID"])
