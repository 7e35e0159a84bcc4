"""Writes of albums: seeding them, favorites, counting plays and writing them back."""

import random
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from minihub.albums import plays_store
from minihub.albums.models import Album, Favorite, PlaysFlushBatch, Track
from minihub.albums.selectors import album_get_row
from minihub.core import figures
from minihub.core.errors import ApiError

# Albums per flush batch: bounds one MULTI/EXEC and one UPDATE statement.
FLUSH_BATCH_SIZE = 500
# Applied-batch records are kept this long; a batch is closed within minutes.
FLUSH_RECORD_DAYS = 7


# --- seed data -----------------------------------------------------------------------

SEED_WORDS = [
    "夜曲",
    "晴天",
    "稻香",
    "青花瓷",
    "七里香",
    "月光",
    "海阔天空",
    "蓝色月亮 Blue Moon",
    "春天",
]
SEED_EMOJI = ["🎵", "🎧", "🎸", "🎹", "🥁", "🎷", "🎻", "🌙"]
SEED_ARTISTS = ["周杰伦", "王菲", "陈奕迅", "Beyond", "邓紫棋", "林俊杰", "Faye 🌸"]


def _seed_album(mini_program_id: int, number: int, rng: random.Random) -> Album:
    return Album(
        mini_program_id=mini_program_id,
        title=f"{SEED_EMOJI[number % len(SEED_EMOJI)]} {rng.choice(SEED_WORDS)} {number}",
        artist=rng.choice(SEED_ARTISTS),
        cover_url=f"https://cdn.example.com/covers/{number}.jpg",
    )


def _seed_tracks(album: Album, rng: random.Random) -> list[Track]:
    return [
        Track(
            album=album,
            position=position,
            title=f"{rng.choice(SEED_WORDS)} ({position}) 🎶",
            duration_seconds=rng.randint(90, 420),
        )
        for position in range(1, rng.randint(3, 12) + 1)
    ]


def album_seed(*, mini_program_id: int, count: int) -> int:
    """Top this mini-program up to `count` albums of 3-12 tracks; the number created.

    Reruns create nothing once the count is reached. Deterministic content.
    """
    existing = Album.objects.filter(mini_program_id=mini_program_id).count()
    rng = random.Random(f"{mini_program_id}:{existing}")  # noqa: S311 - demo data
    numbers = range(existing + 1, count + 1)
    with transaction.atomic():
        albums = Album.objects.bulk_create(
            [_seed_album(mini_program_id, n, rng) for n in numbers], batch_size=500
        )
        tracks = [track for album in albums for track in _seed_tracks(album, rng)]
        Track.objects.bulk_create(tracks, batch_size=2000)
    return len(albums)


# --- favorites -------------------------------------------------------------------------


def album_favorite(*, user_id: int, mini_program_id: int, album_id: int) -> None:
    """Mark as favorite; doing it again changes nothing."""
    album_get_row(album_id=album_id, mini_program_id=mini_program_id)
    try:
        with transaction.atomic():
            Favorite.objects.get_or_create(user_id=user_id, album_id=album_id)
    except IntegrityError as exc:
        # A concurrent PUT won the race (fine), or the token's user is gone.
        if not Favorite.objects.filter(user_id=user_id, album_id=album_id).exists():
            raise ApiError("unauthenticated", "This token's user no longer exists.") from exc


def album_unfavorite(*, user_id: int, mini_program_id: int, album_id: int) -> None:
    """Remove from favorites; removing it again changes nothing."""
    album_get_row(album_id=album_id, mini_program_id=mini_program_id)
    Favorite.objects.filter(user_id=user_id, album_id=album_id).delete()


# --- plays -------------------------------------------------------------------------------


def album_play(*, album_id: int, mini_program_id: int) -> int:
    """Count one play in Redis; the album's new total.

    The row is read before Redis (see RedisPlays.total): a flush running at
    the same time can never make a play count twice in the answer.
    """
    # Plays are counted in Redis: they go on while the primary database is down.
    row = album_get_row(album_id=album_id, mini_program_id=mini_program_id, fresh=False)
    redis_plays = plays_store.play_count(album_id)
    figures.figure_add(mini_program_id=mini_program_id, name=figures.PLAYS)
    return redis_plays.total(db_plays=row["plays"], db_batch=row["plays_batch"])


def album_plays_flush() -> int:
    """Write the plays counted in Redis into Album.plays, exactly once; the plays written.

    First finishes batches a crashed (or concurrent) flush left open, then
    moves the dirty albums' pending counts into new batches and applies each.
    A batch is recorded in the database (PlaysFlushBatch) in the same
    transaction as its counts, so a rerun after a crash at any point neither
    loses nor repeats a count.
    """
    written = sum(_batch_finish(batch_id) for batch_id in plays_store.open_batch_ids())
    dirty = plays_store.dirty_album_ids()
    for start in range(0, len(dirty), FLUSH_BATCH_SIZE):
        chunk = dirty[start : start + FLUSH_BATCH_SIZE]
        batch_id = uuid.uuid4().hex
        moved = plays_store.batch_open(batch_id=batch_id, album_ids=chunk)
        plays_store.dirty_forget_empty(set(chunk) - set(moved))
        if moved:
            written += _batch_finish(batch_id)
    _forget_old_batch_records()
    return written


def _batch_finish(batch_id: str) -> int:
    written = _batch_apply(batch_id, plays_store.batch_counts(batch_id))
    plays_store.batch_close(batch_id)
    return written


def _batch_apply(batch_id: str, counts: dict[int, int]) -> int:
    """Add a batch's counts and record the batch, in one transaction; 0 if already applied."""
    plays = sum(counts.values())
    try:
        with transaction.atomic():
            # Inserted first: a batch applied before fails here, changing nothing.
            PlaysFlushBatch.objects.create(batch_id=batch_id, albums=len(counts), plays=plays)
            if counts:
                increments = [When(id=a, then=Value(n)) for a, n in counts.items()]
                Album.objects.filter(id__in=list(counts)).update(
                    plays=F("plays") + Case(*increments, default=Value(0)),
                    plays_batch=batch_id,
                )
    except IntegrityError:
        if PlaysFlushBatch.objects.filter(batch_id=batch_id).exists():
            return 0
        raise
    return plays


def _forget_old_batch_records() -> None:
    cutoff = timezone.now() - timedelta(days=FLUSH_RECORD_DAYS)
    PlaysFlushBatch.objects.filter(applied_at__lt=cutoff).delete()
