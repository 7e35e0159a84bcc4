"""Which mini-program a request belongs to: X-Mini-Program, else WeChat's own Referer."""

import re

import sentry_sdk
from django.http import HttpRequest

from minihub.core.errors import ApiError
from minihub.tenants.selectors import TenantInfo, enabled_tenant_get
from minihub.tenants.validators import APPID_PATTERN

# What WeChat sends from inside a mini-program.
WECHAT_REFERER = re.compile(r"^https://servicewechat\.com/(wx[0-9a-f]{16})/[^/]+/page-frame\.html$")


def _appid_from(request: HttpRequest) -> str:
    # META, not request.headers: that copies every header on first use.
    header = request.META.get("HTTP_X_MINI_PROGRAM", "").strip()
    if header:
        return header
    match = WECHAT_REFERER.match(request.META.get("HTTP_REFERER", ""))
    return match.group(1) if match else ""


def request_tenant(request: HttpRequest) -> TenantInfo:
    """The request's enabled mini-program, or the documented 400/404."""
    cached = getattr(request, "minihub_tenant", None)
    if cached is not None:
        return cached
    appid = _appid_from(request)
    if not appid:
        raise ApiError(
            "miniprogram_required",
            "Say which mini-program this is: header X-Mini-Program: <appid>.",
        )
    tenant = enabled_tenant_get(appid=appid) if APPID_PATTERN.match(appid) else None
    if tenant is None:
        raise ApiError("miniprogram_unknown", "Unknown or disabled mini-program.")
    request.minihub_tenant = tenant
    sentry_sdk.get_isolation_scope().set_tag("miniprogram", tenant.appid)
    return tenant
