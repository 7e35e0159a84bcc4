"""The admin site: staff only (Django's rule), login attempts throttled per address and name."""

import math

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from minihub.core.errors import ApiError
from minihub.core.net import client_ip
from minihub.core.throttle import rate_limit

WINDOW_SECONDS = 300


class MiniHubAdminSite(admin.AdminSite):
    site_header = _("MiniHub administration")
    site_title = "MiniHub"

    def login(self, request, extra_context=None):
        if request.method == "POST":
            try:
                self._count_login_attempt(request)
            except ApiError as exc:
                return _too_many_attempts(exc)
        return super().login(request, extra_context)

    @staticmethod
    def _count_login_attempt(request) -> None:
        username = request.POST.get("username", "")[:150].lower()
        rate_limit(
            scope="admin-login-ip",
            key=client_ip(request),
            limit=settings.ADMIN_LOGIN_ATTEMPTS_PER_IP,
            window_seconds=WINDOW_SECONDS,
        )
        rate_limit(
            scope="admin-login-user",
            key=username,
            limit=settings.ADMIN_LOGIN_ATTEMPTS_PER_USER,
            window_seconds=WINDOW_SECONDS,
        )


def _too_many_attempts(exc: ApiError) -> HttpResponse:
    response = HttpResponse(
        gettext("Too many login attempts; try again later."), status=429, content_type="text/plain"
    )
    response["Retry-After"] = exc.headers.get("Retry-After", str(math.ceil(WINDOW_SECONDS)))
    return response
