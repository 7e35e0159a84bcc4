"""Reads of mini-programs. The per-request lookup is cached: no database query on the hot path.

Two layers: the shared cache (Redis in servers), invalidated at once by every
write; and a small per-process memo in front of it that lives at most
TENANT_LOCAL_CACHE_SECONDS, so a change reaches every process and node within
that time without a Redis round trip per request.
"""

import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache

from minihub.tenants.models import MiniProgram

CACHE_KEY = "tenant:v1:{appid}"
MISSING = "missing"
_local: dict[str, tuple[float, "TenantInfo | None"]] = {}


@dataclass(frozen=True)
class TenantInfo:
    """What a request needs to know about its mini-program; never a secret."""

    id: int
    appid: str
    name: str
    content_check_enabled: bool
    use_legacy_token_api: bool
    login_limit_per_openid: int
    login_limit_per_ip: int


def _info(program: MiniProgram) -> TenantInfo:
    return TenantInfo(
        id=program.id,
        appid=program.appid,
        name=program.name,
        content_check_enabled=program.content_check_enabled,
        use_legacy_token_api=program.use_legacy_token_api,
        login_limit_per_openid=program.login_limit_per_openid,
        login_limit_per_ip=program.login_limit_per_ip,
    )


def miniprogram_get(*, appid: str) -> MiniProgram | None:
    """The full row, secrets included, straight from the database."""
    return MiniProgram.objects.filter(appid=appid).first()


def miniprogram_list() -> list[MiniProgram]:
    return list(MiniProgram.objects.order_by("appid"))


def _load_shared(appid: str) -> TenantInfo | None:
    key = CACHE_KEY.format(appid=appid)
    cached = cache.get(key)
    if cached == MISSING:
        return None
    if cached is not None:
        return TenantInfo(**cached)
    program = MiniProgram.objects.filter(appid=appid, enabled=True).first()
    if program is None:
        cache.set(key, MISSING, settings.TENANT_NEGATIVE_CACHE_SECONDS)
        return None
    info = _info(program)
    cache.set(key, asdict(info), settings.TENANT_CACHE_SECONDS)
    return info


def enabled_tenant_get(*, appid: str) -> TenantInfo | None:
    """The enabled mini-program with this appid, or None."""
    now = time.monotonic()
    memo = _local.get(appid)
    if memo is not None and memo[0] > now:
        return memo[1]
    info = _load_shared(appid)
    ttl = settings.TENANT_LOCAL_CACHE_SECONDS
    if ttl > 0:
        if len(_local) > 10_000:  # random appids must not grow the memo forever
            _local.clear()
        _local[appid] = (now + ttl, info)
    return info


def tenant_cache_invalidate(*, appid: str) -> None:
    cache.delete(CACHE_KEY.format(appid=appid))
    _local.pop(appid, None)
