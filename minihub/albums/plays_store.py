"""Play counts in Redis, and the batches that carry them to the database.

Keys, per album:
- `albums:plays:{id}:pending`: INCR'd by every play.
- `albums:plays:{id}:inflight` and `...:inflight-batch`: the count moved out
  of `pending` by a flush and the id of the batch it belongs to, until that
  batch has been added to the database and closed.
Shared:
- `albums:plays:dirty`: ids of albums with a pending count.
- `albums:plays:batches`: ids of batches moved but not closed yet.
- `albums:plays:batch:{batch_id}`: the album ids of one batch.

Each step is one MULTI/EXEC (no Lua: the embedded fakeredis must run it too).
The flush only WATCHes keys that plays never touch, so a busy album cannot
starve it. Several flushes may run at once: they never move the same count.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from redis import WatchError
from redis.client import Pipeline

from minihub.core.redis import get_redis

DIRTY = "albums:plays:dirty"
OPEN_BATCHES = "albums:plays:batches"


def _pending(album_id: int) -> str:
    return f"albums:plays:{album_id}:pending"


def _inflight(album_id: int) -> str:
    return f"albums:plays:{album_id}:inflight"


def _inflight_batch(album_id: int) -> str:
    return f"albums:plays:{album_id}:inflight-batch"


def _members(batch_id: str) -> str:
    return f"albums:plays:batch:{batch_id}"


def _text(value: bytes | None) -> str:
    return value.decode() if value else ""


@dataclass(frozen=True)
class RedisPlays:
    """What Redis holds for one album, read in one round trip."""

    pending: int = 0
    inflight: int = 0
    inflight_batch: str = ""

    def total(self, *, db_plays: int, db_batch: str) -> int:
        """The album's plays, given its row read BEFORE this Redis state.

        The in-flight count is already in the row once the row's last applied
        batch is the in-flight one, so it is never counted twice. (Row first,
        Redis second: a batch committed and closed between the two reads is
        missed by that one answer; a count is never added twice.)
        """
        applied = bool(self.inflight_batch) and self.inflight_batch == db_batch
        return db_plays + self.pending + (0 if applied else self.inflight)


def plays_read(album_ids: list[int]) -> dict[int, RedisPlays]:
    """Pending and in-flight counts of these albums: one MGET. Raises redis.RedisError."""
    if not album_ids:
        return {}
    keys = [key(a) for a in album_ids for key in (_pending, _inflight, _inflight_batch)]
    values = get_redis().mget(keys)
    return {
        album_id: RedisPlays(
            pending=int(values[3 * i] or 0),
            inflight=int(values[3 * i + 1] or 0),
            inflight_batch=_text(values[3 * i + 2]),
        )
        for i, album_id in enumerate(album_ids)
    }


def play_count(album_id: int) -> RedisPlays:
    """Count one play (and mark the album dirty), atomically; Redis's state after it."""
    pipe = get_redis().pipeline(transaction=True)
    pipe.incr(_pending(album_id))
    pipe.sadd(DIRTY, album_id)
    pipe.get(_inflight(album_id))
    pipe.get(_inflight_batch(album_id))
    pending, _, inflight, inflight_batch = pipe.execute()
    return RedisPlays(
        pending=pending, inflight=int(inflight or 0), inflight_batch=_text(inflight_batch)
    )


def dirty_album_ids() -> list[int]:
    return sorted(int(member) for member in get_redis().smembers(DIRTY))


def open_batch_ids() -> list[str]:
    return sorted(_text(member) for member in get_redis().smembers(OPEN_BATCHES))


def _watched(keys: list[str], step) -> list[int]:
    """Run `step(pipe)` under WATCH on `keys`, again whenever another flush changed them."""
    with get_redis().pipeline() as pipe:
        while True:
            try:
                pipe.watch(*keys)
                return step(pipe)
            except WatchError:
                continue


def batch_open(*, batch_id: str, album_ids: list[int]) -> list[int]:
    """Move these albums' pending counts into a new batch, in one MULTI/EXEC.

    The batch is listed as open in the same transaction: either it exists
    with all its counts moved, or nothing happened. Albums still in an
    unclosed batch are left for later. Returns the ids moved.
    """
    if not album_ids:
        return []

    def move(pipe: Pipeline) -> list[int]:
        busy = pipe.mget([_inflight_batch(a) for a in album_ids])
        pending = pipe.mget([_pending(a) for a in album_ids])
        # A pending key is deleted only by a move, which also sets the
        # (watched) inflight-batch key: one seen here still exists at EXEC.
        movable = [a for a, b, p in zip(album_ids, busy, pending, strict=True) if b is None and p]
        if not movable:
            pipe.unwatch()
            return []
        pipe.multi()
        for album_id in movable:
            pipe.rename(_pending(album_id), _inflight(album_id))
            pipe.set(_inflight_batch(album_id), batch_id)
        pipe.sadd(_members(batch_id), *movable)
        pipe.sadd(OPEN_BATCHES, batch_id)
        pipe.srem(DIRTY, *movable)
        pipe.execute()
        return movable

    return _watched([_inflight_batch(a) for a in album_ids], move)


def dirty_forget_empty(album_ids: Iterable[int]) -> None:
    """Drop albums from the dirty set whose pending key is gone (e.g. deleted by hand)."""
    album_ids = list(album_ids)
    if not album_ids:
        return

    def forget(pipe: Pipeline) -> list[int]:
        values = pipe.mget([_pending(a) for a in album_ids])
        empty = [a for a, value in zip(album_ids, values, strict=True) if value is None]
        if not empty:
            pipe.unwatch()
            return []
        pipe.multi()
        pipe.srem(DIRTY, *empty)
        pipe.execute()
        return empty

    _watched([_pending(a) for a in album_ids], forget)


def batch_members(batch_id: str) -> list[int]:
    return sorted(int(member) for member in get_redis().smembers(_members(batch_id)))


def batch_counts(batch_id: str) -> dict[int, int]:
    """album id -> plays carried by this open batch."""
    album_ids = batch_members(batch_id)
    if not album_ids:
        return {}
    keys = [key(a) for a in album_ids for key in (_inflight, _inflight_batch)]
    values = get_redis().mget(keys)
    counts = {}
    for i, album_id in enumerate(album_ids):
        count, owner = values[2 * i], _text(values[2 * i + 1])
        if owner == batch_id and count:
            counts[album_id] = int(count)
    return counts


def batch_close(batch_id: str) -> None:
    """Forget a batch whose counts are in the database. Idempotent.

    Only in-flight keys still owned by this batch are deleted: after a crash
    a later batch may already have moved new counts in.
    """
    album_ids = batch_members(batch_id)

    def close(pipe: Pipeline) -> list[int]:
        owners = pipe.mget([_inflight_batch(a) for a in album_ids]) if album_ids else []
        owned = [a for a, owner in zip(album_ids, owners, strict=True) if _text(owner) == batch_id]
        pipe.multi()
        for album_id in owned:
            pipe.delete(_inflight(album_id), _inflight_batch(album_id))
        pipe.delete(_members(batch_id))
        pipe.srem(OPEN_BATCHES, batch_id)
        pipe.execute()
        return owned

    _watched([_members(batch_id), *(_inflight_batch(a) for a in album_ids)], close)
