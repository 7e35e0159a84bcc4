"""Fixed-window rate limits kept in Redis, so every process and node shares the count."""

import logging
import math
import time

import redis
from django.conf import settings

from minihub.core.errors import ApiError
from minihub.core.redis import get_redis

logger = logging.getLogger(__name__)


def rate_limit(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> None:
    """Count one hit; raise `rate_limited` (429 + Retry-After) past `limit` per window.

    With Redis unreachable the limit is not enforced (logged): an outage of the
    counter store must not lock every user out.
    """
    if not settings.API_THROTTLES_ENABLED or limit <= 0:
        return
    now = time.time()
    window = int(now // window_seconds)
    counter = f"rl:{scope}:{key}:{window}"
    try:
        pipe = get_redis().pipeline()
        pipe.incr(counter)
        pipe.expire(counter, window_seconds + 1)
        count, _ = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("rate limit %s not enforced: %s", scope, exc)
        return
    if count > limit:
        retry_after = max(1, math.ceil((window + 1) * window_seconds - now))
        raise ApiError(
            "rate_limited",
            f"Too many requests ({scope}); try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
