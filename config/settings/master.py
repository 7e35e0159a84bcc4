"""Production. Behind nginx, which terminates TLS and sets X-Forwarded-Proto."""

from config.settings.deployed import *  # noqa: F403
from config.settings.deployed import SECRET_KEY, SENTRY_DSN
from config.settings.env import env, ip_networks, optional, require, unguessable_path
from config.settings.sentry import init_sentry

ENVIRONMENT = "master"
# Not /admin/: set ADMIN_URL, or find the derived one with `manage.py admin_url`.
ADMIN_URL = optional("ADMIN_URL", "") or unguessable_path(SECRET_KEY, "admin")
# Unset, every client behind nginx would share nginx's address and its limits.
TRUSTED_PROXY_IPS = ip_networks(
    "TRUSTED_PROXY_IPS",
    require(
        "TRUSTED_PROXY_IPS",
        hint="List the addresses or networks of the proxies (nginx) in front, "
        "or write TRUSTED_PROXY_IPS=none when clients connect directly.",
    ),
)
# Tables are created by the DBA from `manage.py schema_sql`; `migrate` refuses.
MIGRATIONS_ALLOWED = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# nginx answers plain-HTTP health probes itself; the app may be probed on /health.
SECURE_REDIRECT_EXEMPT = [r"^api/v2/health"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [
    origin for origin in optional("CSRF_TRUSTED_ORIGINS", "").split(",") if origin.strip()
]

init_sentry(dsn=SENTRY_DSN, environment=ENVIRONMENT)
