"""Figures from Redis into the database, each mini-program's hour exactly once; pruning."""

import logging
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from minihub.core import figures
from minihub.core.redis import get_redis
from minihub.dashboard.models import Figure, FigureHour
from minihub.tenants.models import MiniProgram

logger = logging.getLogger(__name__)

# An hour is rolled up once it has been over this long: requests that began in it are done.
ROLL_UP_GRACE = timedelta(minutes=2)
KEEP_DAYS = 90


def parse_hour(hour: str) -> datetime:
    return datetime.strptime(hour, "%Y%m%d%H").replace(tzinfo=UTC)


def _pending_hours(now: datetime) -> list[tuple[int, str]]:
    """(mini-program id, hour) with figures in Redis, for hours that are over."""
    pending = []
    for member in get_redis().smembers(figures.PENDING_HOURS_KEY):
        mini_program_id, hour = member.decode().split(":")
        if parse_hour(hour) + timedelta(hours=1) + ROLL_UP_GRACE <= now:
            pending.append((int(mini_program_id), hour))
    return sorted(pending, key=lambda item: (item[1], item[0]))


def hour_figures_read(*, mini_program_id: int, hour: str) -> tuple[dict[str, int], int]:
    """The counters and the active users Redis holds for one hour: one round trip."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.hgetall(figures.hour_key(mini_program_id, hour))
    pipe.pfcount(figures.users_key(mini_program_id, hour))
    counters, active = pipe.execute()
    return {name.decode(): int(value) for name, value in counters.items()}, int(active)


def _forget(mini_program_id: int, hour: str) -> None:
    pipe = get_redis().pipeline(transaction=True)
    pipe.delete(figures.hour_key(mini_program_id, hour), figures.users_key(mini_program_id, hour))
    pipe.srem(figures.PENDING_HOURS_KEY, f"{mini_program_id}:{hour}")
    pipe.execute()


def _hour_apply(mini_program_id: int, hour: str, counters: dict[str, int], active: int) -> bool:
    """Record the hour and its figures in one transaction; False if it was recorded before."""
    try:
        with transaction.atomic():
            # Inserted first: an hour recorded before fails here, changing nothing.
            record = FigureHour.objects.create(
                mini_program_id=mini_program_id, hour=parse_hour(hour), active_users=active
            )
            Figure.objects.bulk_create(
                Figure(hour_record=record, name=name, value=value)
                for name, value in sorted(counters.items())
            )
    except IntegrityError:
        if FigureHour.objects.filter(mini_program_id=mini_program_id, hour=parse_hour(hour)):
            return False
        raise
    return True


def figures_roll_up(*, now: datetime | None = None) -> int:
    """Move every finished hour's figures from Redis into the database; the hours written.

    Exactly once, like the play counts: the hour's row and its figures commit
    together (a unique hour per mini-program), and Redis forgets the hour only
    after that. A crash before the commit leaves Redis as it was, so the next
    run writes the hour; a crash after it leaves keys the next run finds
    already recorded, and only deletes. Figures counted after their hour was
    rolled up (a request slower than ROLL_UP_GRACE) are dropped and logged.
    """
    now = now or timezone.now()
    known = set(MiniProgram.objects.values_list("id", flat=True))
    written = 0
    for mini_program_id, hour in _pending_hours(now):
        counters, active = hour_figures_read(mini_program_id=mini_program_id, hour=hour)
        if mini_program_id not in known:
            logger.info("figures of deleted mini-program %s dropped", mini_program_id)
        elif _hour_apply(mini_program_id, hour, counters, active):
            written += 1
        elif counters:
            logger.warning("figures of %s at %s came after its roll-up", mini_program_id, hour)
        _forget(mini_program_id, hour)
    return written


def figures_prune(*, now: datetime | None = None) -> int:
    """Forget hours older than KEEP_DAYS; the hours deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=KEEP_DAYS)
    Figure.objects.filter(hour_record__hour__lt=cutoff).delete()
    deleted, _ = FigureHour.objects.filter(hour__lt=cutoff).delete()
    return deleted
