"""Bearer tokens: opaque, random, stored hashed, bound to one user of one mini-program.

The database row (ApiToken) is the truth; Redis holds a copy per token hash
so that checking a token costs no database query. Revocation writes a
tombstone to Redis first (every node sees it at once), then the row. A cache
miss is filled with SET NX, so a late refill can never overwrite a tombstone.
If Redis is unreachable, checks fall back to the database.
"""

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.utils import timezone

from minihub.accounts.models import ApiToken, User
from minihub.core.db import on_primary
from minihub.core.redis import get_redis

logger = logging.getLogger(__name__)

CACHE_KEY = "auth:token:{digest}"
REVOKED = b"revoked"


@dataclass(frozen=True)
class Identity:
    user_id: int
    mini_program_id: int
    token_digest: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _cache_value(user_id: int, mini_program_id: int, expires_at: float) -> str:
    return f"{user_id}:{mini_program_id}:{int(expires_at)}"


def token_issue(*, user: User) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    lifetime = settings.API_TOKEN_TTL_SECONDS
    expires_at = timezone.now() + timedelta(seconds=lifetime)
    digest = _digest(token)
    ApiToken.objects.create(
        key_hash=digest, user=user, mini_program_id=user.mini_program_id, expires_at=expires_at
    )
    try:
        get_redis().set(
            CACHE_KEY.format(digest=digest),
            _cache_value(user.id, user.mini_program_id, expires_at.timestamp()),
            ex=lifetime,
        )
    except redis.RedisError as exc:
        logger.warning("token not cached (checks fall back to the database): %s", exc)
    return IssuedToken(token=token, expires_in=lifetime)


def token_authenticate(*, token: str, mini_program_id: int) -> Identity | None:
    """The identity behind a token, if it is valid and issued for this mini-program."""
    if not token or len(token) > 256:
        return None
    digest = _digest(token)
    key = CACHE_KEY.format(digest=digest)
    try:
        cached = get_redis().get(key)
    except redis.RedisError as exc:
        logger.warning("token cache unreachable, checking the database: %s", exc)
        return _authenticate_from_database(digest, mini_program_id, refill=False)
    if cached == REVOKED:
        return None
    if cached is None:
        return _authenticate_from_database(digest, mini_program_id, refill=True)
    user_id, token_program_id, expires_at = (int(part) for part in cached.split(b":"))
    if token_program_id != mini_program_id or expires_at <= time.time():
        return None
    return Identity(user_id=user_id, mini_program_id=token_program_id, token_digest=digest)


def _authenticate_from_database(digest: str, mini_program_id: int, *, refill: bool):
    row = (
        on_primary(ApiToken)
        .filter(key_hash=digest, revoked_at__isnull=True)
        .values("user_id", "mini_program_id", "expires_at")
        .first()
    )
    now = timezone.now()
    if row is None or row["expires_at"] <= now:
        return None
    if refill:
        remaining = int((row["expires_at"] - now).total_seconds())
        value = _cache_value(row["user_id"], row["mini_program_id"], row["expires_at"].timestamp())
        get_redis().set(CACHE_KEY.format(digest=digest), value, ex=max(remaining, 1), nx=True)
    if row["mini_program_id"] != mini_program_id:
        return None
    return Identity(
        user_id=row["user_id"], mini_program_id=row["mini_program_id"], token_digest=digest
    )


def token_revoke(*, token_digest: str) -> None:
    """Stop a token at once on every node. Raises if Redis cannot record that."""
    _tokens_revoke([token_digest])


def user_tokens_revoke(*, user_id: int) -> int:
    """Stop every live token of a user at once on every node; how many there were.

    Raises if Redis cannot record that. A login running at the same time can
    still issue one more: callers that must exclude that hold the user's row lock.
    """
    digests = list(
        on_primary(ApiToken)
        .filter(user_id=user_id, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .values_list("key_hash", flat=True)
    )
    _tokens_revoke(digests)
    return len(digests)


def _tokens_revoke(digests: list[str]) -> None:
    """Tombstones in Redis first (every node sees them at once), then the rows."""
    if not digests:
        return
    pipeline = get_redis().pipeline(transaction=False)
    for digest in digests:
        pipeline.set(CACHE_KEY.format(digest=digest), REVOKED, ex=settings.API_TOKEN_TTL_SECONDS)
    pipeline.execute()
    ApiToken.objects.filter(key_hash__in=digests, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
