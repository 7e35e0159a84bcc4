"""The dashboard's figures, counted in Redis per mini-program and hour.

Apps call the small functions here (they live in core so that no app imports
the dashboard app); `minihub/dashboard` rolls the hours up into the database.

Within a request, figures are only collected in memory. When the response is
ready, `FiguresMiddleware` adds them to this process's sums, and a background
thread writes the sums to Redis every FIGURES_FLUSH_SECONDS in one pipelined
round trip: a request costs no Redis call for its figures (a round trip per
request took a fifth of an album read's throughput). A process that exits
normally writes what it holds; a killed one loses at most that many seconds of
its figures. With FIGURES_FLUSH_SECONDS = 0 each request writes its own.
Outside a request (jobs, cron) each call writes at once. Counting never fails
a request: a Redis error is logged and the figures are lost.

Keys, per mini-program id and UTC hour (`YYYYMMDDHH`):
- `figures:{id}:{hour}`: a hash of counters (field names below);
- `figures:{id}:{hour}:users`: a HyperLogLog of the users who made authenticated calls;
- `figures:hours`: the set of `{id}:{hour}` with counts not yet rolled up.
"""

import atexit
import contextvars
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from django.conf import settings

from minihub.core.redis import get_redis

logger = logging.getLogger(__name__)

PENDING_HOURS_KEY = "figures:hours"
# Hours not rolled up within a week (cron down) expire rather than pile up.
HOUR_KEY_TTL_SECONDS = 8 * 24 * 3600
TOKEN_FETCHED_KEY = "figures:token-fetched:{mini_program_id}"  # noqa: S105 - a key name

# Latency buckets of WeChat calls, upper bounds in milliseconds; the last is open-ended.
LATENCY_BUCKETS_MS = (50, 100, 200, 500, 1000, 2000, 5000, 10**9)

# Counter names (hash fields). Dynamic parts follow a "|".
LOGIN_NEW = "login.new"
LOGIN_RETURNING = "login.returning"
API_REQUESTS = "api.requests"
API_ERRORS = "api.errors|"  # + HTTP status
WECHAT_CALLS = "wechat.calls|"  # + path|errcode
WECHAT_LATENCY = "wechat.ms|"  # + path|bucket upper bound
TOKEN_REFRESHES = "token.refreshes"  # noqa: S105 - a figure name
TOKEN_FAILURES = "token.failures"  # noqa: S105 - a figure name
SUBSCRIBE = "subscribe|"  # + outbox status
PUSH = "push|"  # + msg_type:event
PLAYS = "plays"
# Not a hash field: the HyperLogLog's count, stored under this name by the roll-up.
ACTIVE_USERS = "users.active"


def hour_of(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y%m%d%H")


def hour_key(mini_program_id: int, hour: str) -> str:
    return f"figures:{mini_program_id}:{hour}"


def users_key(mini_program_id: int, hour: str) -> str:
    return f"figures:{mini_program_id}:{hour}:users"


@dataclass(slots=True)
class FigureBatch:
    """Figures collected during one request (or one direct call), written together."""

    counts: Counter = field(default_factory=Counter)
    users: set[tuple[int, int]] = field(default_factory=set)

    def merge(self, other: "FigureBatch") -> None:
        counts = self.counts
        for key, amount in other.counts.items():
            counts[key] += amount
        if other.users:
            self.users |= other.users

    def write(self, hour: str | None = None) -> None:
        if not self.counts and not self.users:
            return
        hour = hour or hour_of()
        pipe = get_redis().pipeline(transaction=False)
        touched = set()
        for (mini_program_id, name), amount in self.counts.items():
            pipe.hincrby(hour_key(mini_program_id, hour), name, amount)
            touched.add(mini_program_id)
        for mini_program_id, user_id in self.users:
            pipe.pfadd(users_key(mini_program_id, hour), user_id)
            pipe.expire(users_key(mini_program_id, hour), HOUR_KEY_TTL_SECONDS)
            touched.add(mini_program_id)
        for mini_program_id in touched:
            pipe.expire(hour_key(mini_program_id, hour), HOUR_KEY_TTL_SECONDS)
        pipe.sadd(PENDING_HOURS_KEY, *(f"{m}:{hour}" for m in touched))
        try:
            pipe.execute()
        except redis.RedisError:
            logger.warning("figures lost: Redis refused them", exc_info=True)


class ProcessFigures:
    """The figures of this process's requests, summed per hour in memory and written to
    Redis by a background thread every `interval` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hours: dict[int, FigureBatch] = {}
        self._flusher_started = False  # in this process: forget_in_child resets it

    def add(self, batch: FigureBatch, *, at: float | None = None) -> None:
        """Hold `batch` under the hour of `at` (a Unix time; default now)."""
        if not batch.counts and not batch.users:
            return
        hour = int(at or time.time()) // 3600  # the hour's number, formatted at the write
        with self._lock:
            if not self._flusher_started:
                self._start_flusher()
            held = self._hours.get(hour)
            if held is None:
                held = self._hours[hour] = FigureBatch()
            held.merge(batch)

    def flush(self) -> None:
        """Write everything held, each hour's figures under their own hour."""
        with self._lock:
            hours, self._hours = self._hours, {}
        for hour, batch in sorted(hours.items()):
            batch.write(hour_of(datetime.fromtimestamp(hour * 3600, UTC)))

    def forget_in_child(self) -> None:
        """After fork: the parent's lock may be held and its thread did not come along;
        the parent still holds (and writes) its own figures."""
        self._lock = threading.Lock()
        self._hours = {}
        self._flusher_started = False

    def _start_flusher(self) -> None:
        self._flusher_started = True
        thread = threading.Thread(target=self._flush_forever, name="figures-flusher", daemon=True)
        thread.start()
        atexit.register(self.flush)

    def _flush_forever(self) -> None:
        while True:
            time.sleep(settings.FIGURES_FLUSH_SECONDS or 1.0)
            try:
                self.flush()
            except Exception:  # the thread must outlive any one failure
                logger.exception("figures lost: writing them failed")


process_figures = ProcessFigures()
os.register_at_fork(after_in_child=process_figures.forget_in_child)

_request_batch: contextvars.ContextVar[FigureBatch | None] = contextvars.ContextVar(
    "figures_request_batch", default=None
)
# The mini-program on whose behalf WeChat is being called (for wechat_call_observe).
_wechat_caller: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "figures_wechat_caller", default=None
)


def request_batch_start() -> contextvars.Token:
    """Figures counted from here on (a request) are collected in memory."""
    return _request_batch.set(FigureBatch())


def request_batch_end(token: contextvars.Token) -> None:
    """The request's figures join this process's sums (or are written at once with
    FIGURES_FLUSH_SECONDS = 0)."""
    batch = _request_batch.get()
    _request_batch.reset(token)
    if settings.FIGURES_FLUSH_SECONDS > 0:
        process_figures.add(batch)
    else:
        batch.write()


def figure_add(*, mini_program_id: int, name: str, amount: int = 1) -> None:
    """Count `amount` of figure `name` for this mini-program in the current hour."""
    batch = _request_batch.get()
    if batch is not None:
        batch.counts[(mini_program_id, name)] += amount
        return
    direct = FigureBatch()
    direct.counts[(mini_program_id, name)] += amount
    direct.write()


def figure_user_active(*, mini_program_id: int, user_id: int) -> None:
    batch = _request_batch.get()
    if batch is not None:
        batch.users.add((mini_program_id, user_id))
        return
    direct = FigureBatch(users={(mini_program_id, user_id)})
    direct.write()


@contextmanager
def wechat_calls_for(mini_program_id: int | None) -> Iterator[None]:
    """WeChat calls made inside count for this mini-program."""
    token = _wechat_caller.set(mini_program_id)
    try:
        yield
    finally:
        _wechat_caller.reset(token)


def latency_bucket(milliseconds: float) -> int:
    return next(bound for bound in LATENCY_BUCKETS_MS if milliseconds <= bound)


def wechat_call_observe(path: str, errcode: int, seconds: float) -> None:
    """The WeChat client's observer: one call (one attempt) to `path` answered `errcode`."""
    mini_program_id = _wechat_caller.get()
    if mini_program_id is None:
        return
    figure_add(mini_program_id=mini_program_id, name=f"{WECHAT_CALLS}{path}|{errcode}")
    bucket = latency_bucket(seconds * 1000)
    figure_add(mini_program_id=mini_program_id, name=f"{WECHAT_LATENCY}{path}|{bucket}")


def access_token_fetched(*, mini_program_id: int, ok: bool) -> None:
    """A fetch of the access token from WeChat, successful or not."""
    figure_add(mini_program_id=mini_program_id, name=TOKEN_REFRESHES if ok else TOKEN_FAILURES)
    if ok:
        try:
            get_redis().set(
                TOKEN_FETCHED_KEY.format(mini_program_id=mini_program_id),
                int(time.time()),
                ex=HOUR_KEY_TTL_SECONDS,
            )
        except redis.RedisError:
            logger.warning("access token fetch time not recorded", exc_info=True)
