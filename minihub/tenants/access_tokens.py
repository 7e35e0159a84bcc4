"""Access tokens per appid: one copy in Redis, fetched single-flight across processes and nodes.

Here, not in minihub/integrations/wechat, because the cache needs the mini-program's stored
secret; the HTTP calls themselves are the integration's client.

The trap (docs/wechat.md, the access-token trap): every fetch from the old
/cgi-bin/token kills the previous token, so servers refreshing on their own keep
killing each other's. Here:

- the stable token (/cgi-bin/stable_token) is used unless a mini-program is
  configured for the old API;
- a fetch happens under a Redis lock; whoever waited for the lock reads the
  token the holder stored instead of fetching again;
- a cron job refreshes tokens ahead of expiry, so requests rarely fetch;
- after 40001/42001 the token is replaced only if the failing one is still
  the stored one, with `force_refresh` (budgeted: at most 20 a day and 30 s
  apart, as WeChat allows) because the stable API would hand back the same
  token otherwise.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings

from minihub.core import figures
from minihub.core.redis import get_redis
from minihub.integrations.wechat.client import AccessToken, wechat_client
from minihub.integrations.wechat.errors import (
    WeChatCredentialsRejected,
    WeChatTokenInvalid,
    WeChatUnavailable,
)
from minihub.tenants.models import MiniProgram
from minihub.tenants.selectors import enabled_tenant_get, miniprogram_get

logger = logging.getLogger(__name__)

TOKEN_KEY = "wechat:access-token:{appid}"  # noqa: S105 - a Redis key name
LOCK_KEY = "wechat:access-token-lock:{appid}"
FORCE_SPACING_KEY = "wechat:force-refresh-last:{appid}"
FORCE_COUNT_KEY = "wechat:force-refresh-count:{appid}:{day}"
LOCK_TIMEOUT_SECONDS = 15  # longer than a fetch with all its retries
LOCK_WAIT_SECONDS = 10
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING_SECONDS = 30

T = TypeVar("T")


def _key(appid: str) -> str:
    return TOKEN_KEY.format(appid=appid)


def access_token_get(*, appid: str) -> str:
    """The current token: from Redis, or fetched once for everybody waiting."""
    token = get_redis().get(_key(appid))
    if token:
        return token.decode()
    return _under_lock(appid, lambda stored: stored or _fetch_and_store(appid, force=False))


def with_access_token(appid: str, call: Callable[[str], T]) -> T:
    """Run a token-using call with the current token, and once more with a new one if
    WeChat rejects it (40001/42001: another process replaced it, or it expired early)."""
    tenant = enabled_tenant_get(appid=appid)
    with figures.wechat_calls_for(tenant.id if tenant else None):
        token = access_token_get(appid=appid)
        try:
            return call(token)
        except WeChatTokenInvalid:
            return call(access_token_replace(appid=appid, failing_token=token))


def access_token_replace(*, appid: str, failing_token: str) -> str:
    """After WeChat rejected `failing_token` (40001/42001): a token that should work.

    Replaced only if the failing token is still the stored one; otherwise
    another process already did it and its token is returned.
    """

    def replace(stored: str | None) -> str:
        if stored and stored != failing_token:
            return stored
        return _fetch_and_store(appid, force=_force_refresh_allowed(appid))

    return _under_lock(appid, replace)


def access_token_refresh_if_expiring(*, appid: str, ahead_seconds: int) -> bool:
    """Fetch a new token if the stored one expires within `ahead_seconds`."""
    ttl = get_redis().ttl(_key(appid))
    if ttl is not None and ttl > ahead_seconds:
        return False

    def refresh(stored: str | None) -> str:
        current_ttl = get_redis().ttl(_key(appid))
        if stored and current_ttl > ahead_seconds:  # refreshed while we waited
            return stored
        return _fetch_and_store(appid, force=False)

    _under_lock(appid, refresh)
    return True


def _under_lock(appid: str, work):
    """Run `work(stored_token_or_None)` holding the appid's fetch lock."""
    client = get_redis()
    lock = client.lock(
        LOCK_KEY.format(appid=appid),
        timeout=LOCK_TIMEOUT_SECONDS,
        blocking_timeout=LOCK_WAIT_SECONDS,
    )
    if not lock.acquire():
        raise WeChatUnavailable(-1, "access token fetch still running elsewhere", path="token")
    try:
        stored = client.get(_key(appid))
        return work(stored.decode() if stored else None)
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("access token lock for %s expired before release", appid)


def _fetch_and_store(appid: str, *, force: bool) -> str:
    fetched = _fetch_from_wechat(appid, force=force)
    ttl = max(fetched.expires_in - settings.WECHAT_TOKEN_REFRESH_MARGIN_SECONDS, 30)
    get_redis().set(_key(appid), fetched.token, ex=ttl)
    logger.info("access token for %s fetched (force=%s), kept %d s", appid, force, ttl)
    return fetched.token


def _fetch_from_wechat(appid: str, *, force: bool) -> AccessToken:
    program = miniprogram_get(appid=appid)
    if program is None:
        raise WeChatCredentialsRejected(40013, f"no mini-program {appid}", path="token")
    client = wechat_client()
    with figures.wechat_calls_for(program.id):
        try:
            if program.use_legacy_token_api:
                fetched = client.legacy_access_token(appid=appid, secret=program.secret)
            else:
                fetched = client.stable_access_token(
                    appid=appid, secret=program.secret, force_refresh=force
                )
        except Exception:
            figures.access_token_fetched(mini_program_id=program.id, ok=False)
            raise
    figures.access_token_fetched(mini_program_id=program.id, ok=True)
    return fetched


def _force_refresh_allowed(appid: str) -> bool:
    """Spend one of the day's force refreshes, if 30 s have passed since the last."""
    client = get_redis()
    spaced = client.set(
        FORCE_SPACING_KEY.format(appid=appid), 1, ex=FORCE_REFRESH_SPACING_SECONDS, nx=True
    )
    if not spaced:
        return False
    day_key = FORCE_COUNT_KEY.format(appid=appid, day=time.strftime("%Y%m%d", time.gmtime()))
    used = client.incr(day_key)
    client.expire(day_key, 2 * 24 * 3600)
    if used > FORCE_REFRESH_PER_DAY:
        logger.warning("force_refresh budget of %s spent for today", appid)
        return False
    return True


def access_tokens_refresh_all(*, ahead_seconds: int = 120) -> int:
    """The cron job's work: refresh every enabled mini-program's expiring token."""
    refreshed = 0
    for appid in MiniProgram.objects.filter(enabled=True).values_list("appid", flat=True):
        try:
            refreshed += access_token_refresh_if_expiring(appid=appid, ahead_seconds=ahead_seconds)
        except Exception:
            # One mini-program's misconfiguration must not starve the others.
            logger.exception("refreshing the access token of %s failed", appid)
    return refreshed
