"""Settings of the minimal Django project: only what its two views need.

The database goes through the same helper as MiniHub's (driver, utf8mb4, the bounded
pool of DATABASE_POOL_SIZE connections per process), so that only the framework
layers differ.
"""

import os

from config.settings.database import database_from_url, install_driver

SECRET_KEY = "bench-minimal-django-not-a-secret"  # noqa: S105 - answers two read-only views  # pragma: allowlist secret
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.baselines.django_min.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True

install_driver(os.environ.get("DATABASE_DRIVER", "pymysql"))
DATABASES = {
    "default": database_from_url(
        os.environ["DATABASE_URL"],
        pool_size=int(os.environ.get("DATABASE_POOL_SIZE", "10")),
        pool_wait_seconds=float(os.environ.get("DATABASE_POOL_WAIT_SECONDS", "10")),
    )
}
REDIS_URL = os.environ["REDIS_URL"]
REDIS_MAX_CONNECTIONS = int(os.environ.get("REDIS_MAX_CONNECTIONS", "50"))
# The mini-program whose albums the view reads (MiniHub finds it from X-Mini-Program).
BENCH_MINI_PROGRAM_ID = int(os.environ["BENCH_MINI_PROGRAM_ID"])
