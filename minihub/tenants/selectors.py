"""Reads of mini-programs. The per-request lookup is cached: no database query on the hot path.

Two layers: the shared cache (Redis in servers), invalidated at once by every
write; and a small per-process memo in front of it that lives at most
TENANT_LOCAL_CACHE_SECONDS, so a change reaches every process and node within
that time without a Redis round trip per request.
"""

import contextlib
import logging
import time
from dataclasses import asdict, dataclass

import redis
from django.conf import settings
from django.core.cache import cache

from minihub.core.db import on_primary
from minihub.core.sentry import register_sensitive_values
from minihub.tenants.models import MiniProgram

logger = logging.getLogger(__name__)

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
    """The full row, secrets included, straight from the primary database."""
    program = on_primary(MiniProgram).filter(appid=appid).first()
    if program is not None:
        # Whatever code does with them, they never reach a Sentry event.
        register_sensitive_values(program.secret, program.push_token, program.aes_key)
    return program


def miniprogram_list() -> list[MiniProgram]:
    """Every mini-program without its secrets: nothing is decrypted, so a listing works
    even for rows whose encryption key has been dropped."""
    secrets = ("secret", "push_token", "aes_key")
    return list(MiniProgram.objects.defer(*secrets).order_by("appid"))


def _load_from_database(appid: str) -> TenantInfo | None:
    # The primary: a lagging replica would put a disabled mini-program back into the cache.
    program = on_primary(MiniProgram).filter(appid=appid, enabled=True).first()
    return _info(program) if program is not None else None


def _load_shared(appid: str) -> TenantInfo | None:
    key = CACHE_KEY.format(appid=appid)
    try:
        cached = cache.get(key)
    except redis.RedisError as exc:
        # The cache is an optimisation: without Redis, ask the database.
        logger.warning("tenant cache unreachable, reading the database: %s", exc)
        return _load_from_database(appid)
    if cached == MISSING:
        return None
    if cached is not None:
        return TenantInfo(**cached)
    info = _load_from_database(appid)
    value, ttl = (
        (asdict(info), settings.TENANT_CACHE_SECONDS)
        if info
        else (MISSING, settings.TENANT_NEGATIVE_CACHE_SECONDS)
    )
    with contextlib.suppress(redis.RedisError):
        cache.set(key, value, ttl)
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
    """Raises if Redis is unreachable: a change that cannot be announced must not pass silently."""
    _local.pop(appid, None)
    cache.delete(CACHE_KEY.format(appid=appid))
