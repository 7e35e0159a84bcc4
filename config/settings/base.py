"""Settings shared by every environment. Nothing here reads a secret."""

from pathlib import Path

from config.settings.env import csv_list, env, ip_networks, optional
from config.settings.logging import build_logging

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(optional("MINIHUB_VAR_DIR", str(BASE_DIR / "var")))
# Written by `fab deploy` into each release: which code this process runs.
_release_file = BASE_DIR / "RELEASE"
RELEASE = _release_file.read_text().strip() if _release_file.exists() else "dev"

INSTALLED_APPS = [
    # First, so that its `migrate` (which refuses where migrations are off) wins.
    "minihub.core",
    "minihub.core.admin_config.MiniHubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    # Its Swagger and Redoc assets as static files: /api/v2/docs needs no CDN.
    "ninja",
    "minihub.tenants",
    "minihub.accounts",
    "minihub.wechat",
    "minihub.notifications",
    "minihub.albums",
    "minihub.dashboard",
    # Chart.js (a static file of this package) for the dashboard: no CDN.
    "admin_list_charts",
]

MIDDLEWARE = [
    "minihub.core.middleware.RequestIdMiddleware",
    "minihub.core.middleware.FiguresMiddleware",
    "minihub.core.middleware.BodySizeLimitMiddleware",
    "minihub.core.middleware.AdminAllowListMiddleware",
    "minihub.core.middleware.WriteRateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "minihub.core.middleware.BrowserOnlyMiddleware",
]
# Run by BrowserOnlyMiddleware for the admin and its pages, never for the API.
# Django's admin checks look for them in MIDDLEWARE; minihub/core/checks.py
# checks them here instead.
SILENCED_SYSTEM_CHECKS = [
    *("admin.E408", "admin.E409", "admin.E410", "security.W002", "security.W003")
]
BROWSER_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The admin's language from the switch or Accept-Language; the API stays English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------
# Which database alias holds each app's tables. Apps not listed live on
# `default`. The env-specific settings drop the `admin` entries when no
# ADMIN_DATABASE_URL is configured (then everything lives on `default`).
# django_rq has no tables, only the admin permissions of its dashboard.
ADMIN_APP_LABELS = ("admin", "auth", "contenttypes", "sessions", "django_rq")
DATABASE_APPS_MAPPING: dict[str, str] = {}
DATABASE_ROUTERS = ["config.db_router.DatabaseAppsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Production tables are created by the DBA from `manage.py schema_sql`.
MIGRATIONS_ALLOWED = True

# --- Internationalisation ------------------------------------------------------
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "minihub" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- API ---------------------------------------------------------------------
API_PREFIX = "api/v2/"
# Bodies above this are refused with 413 before being read.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
HEALTH_CHECK_TIMEOUT_SECONDS = 2.0

# --- Abuse limits ----------------------------------------------------------------
# Per minute, counted in Redis across every process and server.
API_WRITES_PER_IP_PER_MINUTE = env.int("API_WRITES_PER_IP_PER_MINUTE", default=600)
API_WRITES_PER_USER_PER_MINUTE = env.int("API_WRITES_PER_USER_PER_MINUTE", default=120)
# Admin login attempts per 5 minutes.
ADMIN_LOGIN_ATTEMPTS_PER_IP = env.int("ADMIN_LOGIN_ATTEMPTS_PER_IP", default=20)
ADMIN_LOGIN_ATTEMPTS_PER_USER = env.int("ADMIN_LOGIN_ATTEMPTS_PER_USER", default=5)
# Addresses (or networks) that may reach the admin; empty: any (nginx may limit it too).
ADMIN_ALLOWED_IPS = csv_list(optional("ADMIN_ALLOWED_IPS", ""))

# --- Logging -----------------------------------------------------------------
LOG_LEVEL = optional("LOG_LEVEL", "INFO")
# "emoji" (the seed's human-read format), "plain", or "json" (one object per line).
LOG_FORMAT = optional("LOG_FORMAT", "emoji")
LOG_SQL = env.bool("LOG_SQL", default=False)
LOGGING = build_logging(level=LOG_LEVEL, fmt=LOG_FORMAT, log_sql=LOG_SQL)

# --- Jobs ----------------------------------------------------------------------
JOB_QUEUES = ("high", "default", "low")
# True in debug: jobs run in-process right after the transaction commits.
JOBS_RUN_INLINE = False
RQ = {"WORKER_CLASS": "minihub.core.jobs.MiniHubWorker"}
# JSON, not pickle, in every queue; MiniHubWorker reads with it whatever its command line says.
JOB_SERIALIZER = "minihub.core.serializers.JobSerializer"

ALLOWED_HOSTS = csv_list(optional("ALLOWED_HOSTS", ""))

# --- Proxies -------------------------------------------------------------------
# The client address is taken from X-Real-IP only when the request comes from
# one of these addresses or networks (nginx); anyone else could forge it.
TRUSTED_PROXY_IPS = ip_networks("TRUSTED_PROXY_IPS", optional("TRUSTED_PROXY_IPS", ""))

# --- Tenants -------------------------------------------------------------------
TENANT_CACHE_SECONDS = 300
TENANT_NEGATIVE_CACHE_SECONDS = 30
# Per-process memo in front of the shared cache: a change reaches every
# process within this many seconds.
TENANT_LOCAL_CACHE_SECONDS = env.float("TENANT_LOCAL_CACHE_SECONDS", default=2.0)

# --- Dashboard figures -------------------------------------------------------------
# Each process sums its requests' figures in memory and writes them to Redis this
# often, in one round trip; 0 writes at the end of every request instead.
FIGURES_FLUSH_SECONDS = env.float("FIGURES_FLUSH_SECONDS", default=1.0)

# --- Tokens ----------------------------------------------------------------------
API_TOKEN_TTL_SECONDS = env.int("API_TOKEN_TTL_SECONDS", default=7 * 24 * 3600)

# --- WeChat ------------------------------------------------------------------------
# Worst case for an unreachable WeChat: 3 x 1.2 s + backoff 0.6 s, under 5 s.
WECHAT_CONNECT_TIMEOUT_SECONDS = env.float("WECHAT_CONNECT_TIMEOUT_SECONDS", default=1.0)
WECHAT_READ_TIMEOUT_SECONDS = env.float("WECHAT_READ_TIMEOUT_SECONDS", default=1.2)
WECHAT_ATTEMPTS = env.int("WECHAT_ATTEMPTS", default=3)
WECHAT_BACKOFF_SECONDS = env.float("WECHAT_BACKOFF_SECONDS", default=0.2)
# Refresh access tokens this long before WeChat expires them.
WECHAT_TOKEN_REFRESH_MARGIN_SECONDS = 300
