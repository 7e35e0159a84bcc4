"""The work of MiniHub's /ping and /albums/<id>, written the plain way: one SQL query (the
row and its track count) and one Redis MGET of the album's unflushed play counts."""

import redis
from django.conf import settings
from django.db import connection
from django.http import Http404, JsonResponse

ALBUM_SQL = """
SELECT a.id, a.title, a.artist, a.cover_url, a.plays, a.plays_batch,
       (SELECT COUNT(*) FROM albums_track t WHERE t.album_id = a.id)
FROM albums_album a WHERE a.id = %s AND a.mini_program_id = %s
"""
# The play-count keys MiniHub keeps per album (pending, in flight, in-flight batch).
PLAYS_KEYS = (
    "albums:plays:{}:pending",
    "albums:plays:{}:inflight",
    "albums:plays:{}:inflight-batch",
)

redis_client = redis.Redis.from_url(settings.REDIS_URL)


def ping(request):
    return JsonResponse({"message": "pong"})


def album(request, album_id):
    with connection.cursor() as cursor:
        cursor.execute(ALBUM_SQL, [album_id, settings.BENCH_MINI_PROGRAM_ID])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    pending, inflight, batch = redis_client.mget([key.format(album_id) for key in PLAYS_KEYS])
    counted = batch is not None and batch.decode() == row[5]
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
