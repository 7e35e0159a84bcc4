"""Reads of albums, always scoped to one mini-program: another one's album is simply not found."""

import logging
from dataclasses import dataclass

import redis
from django.db import connections, router
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from minihub.albums import plays_store
from minihub.albums.models import Album, Favorite, Track
from minihub.core.db import on_primary
from minihub.core.errors import ApiError

logger = logging.getLogger(__name__)

ROW_FIELDS = ("id", "title", "artist", "cover_url", "plays", "plays_batch")


@dataclass(frozen=True)
class AlbumCard:
    """An album as the API shows it. `plays` is None while Redis is unreachable."""

    id: int
    title: str
    artist: str
    cover_url: str
    tracks: int
    plays: int | None
    favorited: bool


@dataclass(frozen=True)
class AlbumPage:
    items: list[AlbumCard]
    # The id to continue below (exclusive), or None on the last page.
    next_before: int | None


def _track_count() -> Coalesce:
    """The album's number of tracks, in the same query (the unique index covers it)."""
    tracks = (
        Track.objects.filter(album_id=OuterRef("pk"))
        .order_by()
        .values("album_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(tracks, output_field=IntegerField()), 0)


def _album_rows(queryset: QuerySet, *extra: str) -> QuerySet:
    return queryset.annotate(track_total=_track_count()).values(*ROW_FIELDS, "track_total", *extra)


def album_get_row(*, album_id: int, mini_program_id: int, fresh: bool = True) -> dict:
    """The album's play columns (plays, plays_batch); not_found unless it is this mini-program's.

    `fresh` reads the primary, as a write that follows needs; otherwise a replica
    may answer, as stale as it is (see RedisPlays.total: an old row only ever
    undercounts)."""
    albums = on_primary(Album) if fresh else Album.objects
    row = (
        albums.filter(id=album_id, mini_program_id=mini_program_id)
        .values("plays", "plays_batch")
        .first()
    )
    if row is None:
        raise ApiError("not_found", "No such album.")
    return row


def _plays_of(rows: list[dict]) -> dict[int, int | None]:
    """Database count + Redis count per album; None for all when Redis is unreachable."""
    try:
        in_redis = plays_store.plays_read([row["id"] for row in rows])
    except redis.RedisError as exc:
        logger.warning("play counts unavailable (answered as null): %s", exc)
        return {row["id"]: None for row in rows}
    return {
        row["id"]: in_redis[row["id"]].total(db_plays=row["plays"], db_batch=row["plays_batch"])
        for row in rows
    }


def _favorited_ids(user_id: int | None, album_ids: list[int]) -> set[int]:
    if user_id is None or not album_ids:
        return set()
    # A replica's answer, like the album beside it: album reads keep working while the
    # primary is down, and the flag is at most as stale as the replica (docs/data-tier.md).
    return set(
        Favorite.objects.filter(user_id=user_id, album_id__in=album_ids).values_list(
            "album_id", flat=True
        )
    )


def _cards(rows: list[dict], *, favorited: set[int]) -> list[AlbumCard]:
    plays = _plays_of(rows)
    return [
        AlbumCard(
            id=row["id"],
            title=row["title"],
            artist=row["artist"],
            cover_url=row["cover_url"],
            tracks=row["track_total"],
            plays=plays[row["id"]],
            favorited=row["id"] in favorited,
        )
        for row in rows
    ]


# The benchmark endpoint's one query, written out: building it with the ORM
# costs more than running it.
# Table names come from the models; values are always parameters.
_DETAIL_SQL = (
    "SELECT a.id, a.title, a.artist, a.cover_url, a.plays, a.plays_batch,"  # noqa: S608
    f" (SELECT COUNT(*) FROM {Track._meta.db_table} t WHERE t.album_id = a.id)"
    f" FROM {Album._meta.db_table} a WHERE a.id = %s AND a.mini_program_id = %s"
)


def _album_detail_row(album_id: int, mini_program_id: int) -> dict | None:
    alias = router.db_for_read(Album)
    with connections[alias].cursor() as cursor:
        cursor.execute(_DETAIL_SQL, [album_id, mini_program_id])
        found = cursor.fetchone()
    return dict(zip((*ROW_FIELDS, "track_total"), found, strict=True)) if found else None


def album_detail(*, album_id: int, mini_program_id: int, user_id: int | None) -> AlbumCard:
    """One query for the row (and its track count) and one Redis MGET; a second
    query only for a signed-in user's favorite flag."""
    row = _album_detail_row(album_id, mini_program_id)
    if row is None:
        raise ApiError("not_found", "No such album.")
    return _cards([row], favorited=_favorited_ids(user_id, [album_id]))[0]


def _page(rows: list[dict], limit: int, cursor_key: str) -> tuple[list[dict], int | None]:
    """Rows were fetched with limit + 1: the extra one says whether a next page exists."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, rows[-1][cursor_key]


def album_page(
    *, mini_program_id: int, user_id: int | None, before: int | None, limit: int
) -> AlbumPage:
    """This mini-program's albums, newest (highest id) first."""
    albums = Album.objects.filter(mini_program_id=mini_program_id).order_by("-id")
    if before is not None:
        albums = albums.filter(id__lt=before)
    rows, next_before = _page(list(_album_rows(albums)[: limit + 1]), limit, "id")
    favorited = _favorited_ids(user_id, [row["id"] for row in rows])
    return AlbumPage(items=_cards(rows, favorited=favorited), next_before=next_before)


def favorite_album_page(
    *, mini_program_id: int, user_id: int, before: int | None, limit: int
) -> AlbumPage:
    """The user's favorite albums, most recently added first (paged by favorite id).

    From the primary: a favourite just added is listed at once."""
    albums = (
        on_primary(Album)
        .filter(mini_program_id=mini_program_id, favorites__user_id=user_id)
        .annotate(favorite_id=F("favorites__id"))
    )
    if before is not None:
        albums = albums.filter(favorite_id__lt=before)
    rows = _album_rows(albums.order_by("-favorite_id"), "favorite_id")
    rows, next_before = _page(list(rows[: limit + 1]), limit, "favorite_id")
    return AlbumPage(
        items=_cards(rows, favorited={row["id"] for row in rows}), next_before=next_before
    )
