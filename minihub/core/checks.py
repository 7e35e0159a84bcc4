"""System checks for what Django's own cannot see."""

from django.conf import settings
from django.core.checks import Error, register

BROWSER_ONLY = "minihub.core.middleware.BrowserOnlyMiddleware"
# What the admin needs and what protects its pages, in this order. Django's own
# checks (admin.E408-E410, security.W002-W003) look for these in MIDDLEWARE;
# settings silence them because BrowserOnlyMiddleware runs them instead.
ADMIN_NEEDS = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


@register()
def admin_middleware_check(app_configs=None, **kwargs) -> list[Error]:
    if BROWSER_ONLY not in settings.MIDDLEWARE:
        return [Error(f"{BROWSER_ONLY} must be in MIDDLEWARE for the admin.", id="core.E001")]
    browser = list(settings.BROWSER_MIDDLEWARE)
    missing = [path for path in ADMIN_NEEDS if path not in browser]
    if missing:
        return [Error(f"BROWSER_MIDDLEWARE lacks {', '.join(missing)}.", id="core.E002")]
    if [path for path in browser if path in ADMIN_NEEDS] != list(ADMIN_NEEDS):
        return [Error(f"BROWSER_MIDDLEWARE must list {ADMIN_NEEDS} in order.", id="core.E003")]
    return []
