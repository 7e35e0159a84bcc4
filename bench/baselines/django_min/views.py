"""The same work as MiniHub's /ping and /albums/<id>, in the leanest Django: one SQL query
(the row and its track count, as MiniHub's ORM sends it) and one Redis MGET."""

import functools

import redis
from django.conf import settings
from django.db import connection
from django.http import Http404, JsonResponse

ALBUM_SQL = """
SELECT a.id, a.title, a.artist, a.cover_url, a.plays, a.plays_batch,
       COALESCE((SELECT COUNT(t.id) FROM albums_track t WHERE t.album_id = a.id
                 GROUP BY t.album_id), 0)
FROM albums_album a WHERE a.id = %s AND a.mini_program_id = %s LIMIT 1
"""
# MiniHub's play-count keys (minihub/albums/plays_store.py).
PLAYS_KEYS = (
    "albums:plays:{}:pending",
    "albums:plays:{}:inflight",
    "albums:plays:{}:inflight-batch",
)


@functools.cache
def _redis() -> redis.Redis:
    pool = redis.BlockingConnectionPool.from_url(
        settings.REDIS_URL, max_connections=settings.REDIS_MAX_CONNECTIONS, timeout=5
    )
    return redis.Redis(connection_pool=pool)


def ping(request):
    return JsonResponse({"message": "pong"})


def album(request, album_id: int):
    with connection.cursor() as cursor:
        cursor.execute(ALBUM_SQL, [album_id, settings.BENCH_MINI_PROGRAM_ID])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    pending, inflight, batch = _redis().mget([key.format(album_id) for key in PLAYS_KEYS])
    counted = bool(batch) and batch.decode() == row[5]
    plays = row[4] + int(pending or 0) + (0 if counted else int(inflight or 0))
    return JsonResponse(
        {
            "id": row[0],
            "title": row[1],
            "artist": row[2],
            "cover_url": row[3],
            "tracks": row[6],
            "plays": plays,
            "favorited": False,
        }
    )
