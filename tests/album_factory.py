"""Albums with tracks for tests (production only seeds them: minihub/albums/services.py)."""

from dataclasses import dataclass

from django.db import transaction

from minihub.albums.models import Album, Track


@dataclass(frozen=True)
class TrackSpec:
    title: str
    duration_seconds: int


def album_create(
    *,
    mini_program_id: int,
    title: str,
    artist: str = "",
    cover_url: str = "",
    tracks: list[TrackSpec] | None = None,
) -> Album:
    with transaction.atomic():
        album = Album.objects.create(
            mini_program_id=mini_program_id, title=title, artist=artist, cover_url=cover_url
        )
        Track.objects.bulk_create(
            Track(album=album, position=n, title=t.title, duration_seconds=t.duration_seconds)
            for n, t in enumerate(tracks or [], start=1)
        )
    return album
