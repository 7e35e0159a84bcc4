"""Access tokens per appid: one copy in Redis, fetched single-flight across processes and nodes.

The stable token (/cgi-bin/stable_token) is used unless a mini-program is
configured for the old /cgi-bin/token, whose every call kills the previous
token. A fetch happens under a Redis lock; whoever waited for the lock reads
the token the holder stored instead of fetching again.
"""

import logging

import redis
from django.conf import settings

from minihub.core.redis import get_redis
from minihub.tenants.selectors import miniprogram_get
from minihub.wechat.client import AccessToken, wechat_client
from minihub.wechat.errors import WeChatCredentialsRejected, WeChatUnavailable

logger = logging.getLogger(__name__)

TOKEN_KEY = "wechat:access-token:{appid}"  # noqa: S105 - a Redis key name
LOCK_KEY = "wechat:access-token-lock:{appid}"
LOCK_TIMEOUT_SECONDS = 15  # longer than a fetch with all its retries
LOCK_WAIT_SECONDS = 10


def access_token_get(*, appid: str) -> str:
    token = get_redis().get(TOKEN_KEY.format(appid=appid))
    if token:
        return token.decode()
    return _fetch_single_flight(appid)


def _fetch_single_flight(appid: str) -> str:
    client = get_redis()
    lock = client.lock(
        LOCK_KEY.format(appid=appid),
        timeout=LOCK_TIMEOUT_SECONDS,
        blocking_timeout=LOCK_WAIT_SECONDS,
    )
    if not lock.acquire():
        raise WeChatUnavailable(-1, "access token fetch still running elsewhere", path="token")
    try:
        stored = client.get(TOKEN_KEY.format(appid=appid))
        if stored:  # fetched by the holder we waited for
            return stored.decode()
        fetched = _fetch_from_wechat(appid)
        ttl = max(fetched.expires_in - settings.WECHAT_TOKEN_REFRESH_MARGIN_SECONDS, 30)
        client.set(TOKEN_KEY.format(appid=appid), fetched.token, ex=ttl)
        return fetched.token
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("access token lock for %s expired before release", appid)


def _fetch_from_wechat(appid: str) -> AccessToken:
    program = miniprogram_get(appid=appid)
    if program is None:
        raise WeChatCredentialsRejected(40013, f"no mini-program {appid}", path="token")
    client = wechat_client()
    if program.use_legacy_token_api:
        return client.legacy_access_token(appid=appid, secret=program.secret)
    return client.stable_access_token(appid=appid, secret=program.secret)


def access_token_discard(*, appid: str, failing_token: str) -> bool:
    """After 40001/42001: forget the stored token, but only if it is the one that failed.

    Another process may already have replaced it; discarding that newer token
    would start a refresh storm. Returns whether it was discarded.
    """
    client = get_redis()
    key = TOKEN_KEY.format(appid=appid)
    with client.pipeline() as pipe:
        try:
            pipe.watch(key)
            current = pipe.get(key)
            if current is None or current.decode() != failing_token:
                return False
            pipe.multi()
            pipe.delete(key)
            pipe.execute()
            return True
        except redis.exceptions.WatchError:
            return False  # changed under us: someone else refreshed it
