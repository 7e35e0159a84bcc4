"""POST /albums/{id}/plays, counted in Redis and written back exactly once by the flush job.

Real Redis, real RQ workers (worker_burst), real child processes playing at
once; crashes are real process deaths (os._exit in the work horse, injected from
the test side by tests/jobs_for_tests.py).
"""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rq.registry import FailedJobRegistry

from minihub.albums.jobs import PLAYS_FLUSH_TIMEOUT_SECONDS, album_plays_flush_job
from minihub.albums.models import Album, PlaysFlushBatch
from minihub.albums.plays_store import DIRTY
from minihub.albums.services import album_plays_flush
from minihub.core.jobs import enqueue_on_commit
from tests.album_factory import TrackSpec, album_create
from tests.conftest import APPID_A, APPID_B
from tests.helpers import PROJECT_DIR, app_headers, log_in
from tests.helpers import test_process_env as child_env
from tests.jobs_for_tests import album_plays_flush_crashing_job

PROCESSES = 4
PLAYS_PER_PROCESS = 2_500
TOTAL = PROCESSES * PLAYS_PER_PROCESS

# Runs in a child `manage.py shell`: the plays service in a loop, answers as JSON.
PLAY_LOOP = """
import json
from minihub.albums.services import album_play
answers = [album_play(album_id={album_id}, mini_program_id={program_id}) for _ in range({times})]
print(json.dumps(answers))
"""


def make_album(program, title="🎵 夜曲 3") -> Album:
    return album_create(
        mini_program_id=program.id,
        title=title,
        tracks=[TrackSpec(title="第一首", duration_seconds=180)],
    )


@pytest.fixture
def album_a(tenants):
    return make_album(tenants.a)


@pytest.fixture
def album_b(tenants):
    return make_album(tenants.b, title="B")


def play(client, album_id, appid=APPID_A, **kwargs):
    return client.post(f"/api/v2/albums/{album_id}/plays", **app_headers(appid), **kwargs)


def plays_shown(client, album_id, appid=APPID_A):
    response = client.get(f"/api/v2/albums/{album_id}", **app_headers(appid))
    assert response.status_code == 200, response.content
    return response.json()["plays"]


def stored_plays(album) -> int:
    return Album.objects.get(pk=album.pk).plays


def plays_keys(redis_db) -> list[bytes]:
    return redis_db.keys("albums:plays:*")


def run_flush(worker_burst, crash_at: str | None = None):
    """The flush job on a real worker; `crash_at` makes its work horse die there."""
    if crash_at:
        enqueue_on_commit(album_plays_flush_crashing_job, crash_at)
    else:
        enqueue_on_commit(album_plays_flush_job, timeout=PLAYS_FLUSH_TIMEOUT_SECONDS)
    return worker_burst()


def failed_flushes(rq_queues) -> int:
    return len(FailedJobRegistry(queue=rq_queues["default"]).get_job_ids())


def start_players(album, *, times: int = PLAYS_PER_PROCESS) -> list[subprocess.Popen]:
    code = PLAY_LOOP.format(album_id=album.id, program_id=album.mini_program_id, times=times)
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **child_env()}
    command = [sys.executable, "manage.py", "shell", "--no-imports", "-v", "0", "-c", code]
    return [
        subprocess.Popen(
            command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(PROCESSES)
    ]


def answers_of(players: list[subprocess.Popen]) -> list[int]:
    answers = []
    for player in players:
        stdout, stderr = player.communicate(timeout=240)
        assert player.returncode == 0, stderr.decode()
        answers += json.loads(stdout.decode().strip().splitlines()[-1])
    return answers


# --- counting ---------------------------------------------------------------------------


def test_each_play_answers_202_with_the_new_total(client, album_a, album_b):
    answers = [play(client, album_a.id) for _ in range(3)]
    assert [r.status_code for r in answers] == [202, 202, 202]
    assert [r.json() for r in answers] == [{"plays": 1}, {"plays": 2}, {"plays": 3}]
    assert plays_shown(client, album_a.id) == 3
    listed = client.get("/api/v2/albums", **app_headers(APPID_A)).json()["items"]
    assert [(i["id"], i["plays"]) for i in listed] == [(album_a.id, 3)]
    assert plays_shown(client, album_b.id, appid=APPID_B) == 0
    assert stored_plays(album_a) == 0  # only the flush writes the database


def test_plays_of_unknown_or_another_mini_programs_album_are_the_same_404(
    client, album_a, album_b, redis_db
):
    errors = []
    for album_id in (album_b.id + 1000, album_b.id):
        response = play(client, album_id)
        assert response.status_code == 404
        errors.append(response.json()["error"])
    assert [e["code"] for e in errors] == ["not_found", "not_found"]
    assert errors[0]["message"] == errors[1]["message"]
    assert plays_keys(redis_db) == []
    assert plays_shown(client, album_b.id, appid=APPID_B) == 0


@pytest.mark.parametrize(("album_id", "status"), [("abc", 422), ("0", 404), ("-3", 404)])
def test_plays_of_malformed_ids(client, album_a, redis_db, album_id, status):
    response = play(client, album_id)
    assert response.status_code == status
    assert response.json()["error"]["code"] in ("validation_error", "not_found")
    assert plays_keys(redis_db) == []


def test_plays_need_the_mini_program(client, album_a, redis_db):
    response = client.post(f"/api/v2/albums/{album_a.id}/plays")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "miniprogram_required"
    assert plays_keys(redis_db) == []


def test_an_oversized_body_is_413_and_counts_nothing(client, album_a, redis_db, settings):
    body = b'{"x": "' + b"a" * settings.API_MAX_BODY_BYTES + b'"}'
    response = play(client, album_a.id, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert plays_keys(redis_db) == []
    assert plays_shown(client, album_a.id) == 0


# --- Redis unreachable ---------------------------------------------------------------------


def test_with_redis_unreachable_plays_are_null_and_the_rest_still_answers(
    client, wechat, album_a, redis_unreachable
):
    token = log_in(client, wechat, APPID_A, "openid-a")["token"]
    client.put(f"/api/v2/albums/{album_a.id}/favorite", **app_headers(APPID_A, token))
    Album.objects.filter(pk=album_a.pk).update(plays=41)  # known to the database only
    one = client.get(f"/api/v2/albums/{album_a.id}", **app_headers(APPID_A, token))
    assert one.status_code == 200, one.content
    assert one.json() | {"plays": "?"} == {
        "id": album_a.id,
        "title": album_a.title,
        "artist": "",
        "cover_url": "",
        "tracks": 1,
        "plays": "?",
        "favorited": True,
    }
    assert one.json()["plays"] is None  # unknown, not a wrong number
    listed = client.get("/api/v2/albums", **app_headers(APPID_A))
    assert [(i["id"], i["plays"]) for i in listed.json()["items"]] == [(album_a.id, None)]
    favorites = client.get("/api/v2/me/favorites", **app_headers(APPID_A, token))
    assert [i["plays"] for i in favorites.json()["items"]] == [None]


def test_with_redis_unreachable_a_play_is_503_not_500(client, album_a, redis_unreachable):
    response = play(client, album_a.id)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response["Retry-After"]
    assert stored_plays(album_a) == 0


# --- the flush, in this process ------------------------------------------------------------


def test_a_flush_writes_each_count_once(client, album_a, album_b, redis_db):
    for _ in range(5):
        play(client, album_a.id)
    play(client, album_b.id, appid=APPID_B)
    assert album_plays_flush() == 6
    assert (stored_plays(album_a), stored_plays(album_b)) == (5, 1)
    assert plays_keys(redis_db) == []
    assert album_plays_flush() == 0  # nothing new: nothing written
    assert stored_plays(album_a) == 5
    assert plays_shown(client, album_a.id) == 5
    assert play(client, album_a.id).json() == {"plays": 6}


def test_a_dirty_mark_without_a_pending_count_is_dropped(album_a, redis_db):
    redis_db.sadd(DIRTY, album_a.id)  # e.g. its counter was deleted by hand
    assert album_plays_flush() == 0
    assert plays_keys(redis_db) == []
    assert stored_plays(album_a) == 0


def test_plays_of_a_deleted_album_are_dropped_without_failing(client, tenants, redis_db):
    album = make_album(tenants.a)
    play(client, album.id)
    Album.objects.filter(pk=album.pk).delete()
    assert album_plays_flush() == 1  # counted in the batch, no row left to add to
    assert plays_keys(redis_db) == []


def test_old_batch_records_are_forgotten(album_a, redis_db):
    old = PlaysFlushBatch.objects.create(batch_id="a" * 32, albums=1, plays=1)
    PlaysFlushBatch.objects.filter(pk=old.pk).update(applied_at=timezone.now() - timedelta(days=8))
    recent = PlaysFlushBatch.objects.create(batch_id="b" * 32, albums=1, plays=1)
    album_plays_flush()
    assert list(PlaysFlushBatch.objects.values_list("pk", flat=True)) == [recent.pk]


# --- the flush job on real workers, with crashes ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_flush_job_runs_on_a_real_worker(
    client, album_a, album_b, rq_queues, worker_burst, redis_db
):
    for _ in range(4):
        play(client, album_a.id)
    play(client, album_b.id, appid=APPID_B)
    run_flush(worker_burst)
    assert failed_flushes(rq_queues) == 0
    assert (stored_plays(album_a), stored_plays(album_b)) == (4, 1)
    assert plays_keys(redis_db) == []
    assert plays_shown(client, album_a.id) == 4


@pytest.mark.django_db(transaction=True)
def test_a_flush_killed_after_moving_the_counts_loses_nothing(
    client, album_a, rq_queues, worker_burst, redis_db
):
    for _ in range(7):
        play(client, album_a.id)
    run_flush(worker_burst, crash_at="after_move")
    assert failed_flushes(rq_queues) == 1  # the work horse really died
    assert stored_plays(album_a) == 0
    assert plays_keys(redis_db)  # the moved batch is still there
    # While the batch is in flight the answers stay exact.
    assert plays_shown(client, album_a.id) == 7
    assert play(client, album_a.id).json() == {"plays": 8}
    run_flush(worker_burst)
    assert stored_plays(album_a) == 8
    assert sum(PlaysFlushBatch.objects.values_list("plays", flat=True)) == 8
    assert plays_keys(redis_db) == []
    assert plays_shown(client, album_a.id) == 8


@pytest.mark.django_db(transaction=True)
def test_a_flush_killed_after_its_commit_does_not_count_twice(
    client, album_a, rq_queues, worker_burst, redis_db
):
    for _ in range(7):
        play(client, album_a.id)
    run_flush(worker_burst, crash_at="after_commit")
    assert failed_flushes(rq_queues) == 1
    assert stored_plays(album_a) == 7
    assert plays_keys(redis_db)  # the batch was never closed
    # Database and Redis both hold the batch now: it is shown once.
    assert plays_shown(client, album_a.id) == 7
    assert play(client, album_a.id).json() == {"plays": 8}
    run_flush(worker_burst)
    assert stored_plays(album_a) == 8
    assert PlaysFlushBatch.objects.count() == 2  # the 7, then the 1
    assert plays_keys(redis_db) == []
    assert plays_shown(client, album_a.id) == 8


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_ten_thousand_plays_from_four_processes_are_flushed_exactly(
    client, album_a, rq_queues, worker_burst, redis_db
):
    answers = answers_of(start_players(album_a))
    # No flush ran meanwhile: every answer is a distinct running total.
    assert sorted(answers) == list(range(1, TOTAL + 1))
    run_flush(worker_burst)
    assert stored_plays(album_a) == TOTAL
    assert plays_shown(client, album_a.id) == TOTAL
    assert plays_keys(redis_db) == []


def wait_until_dirty(redis_db, players) -> None:
    """Until some play is pending (so the next flush surely moves something)."""
    while not redis_db.scard(DIRTY):
        assert all(p.poll() is None for p in players), "players ended before playing"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_ten_thousand_plays_survive_flushes_killed_halfway_while_they_run(
    client, album_a, rq_queues, worker_burst, redis_db
):
    players = start_players(album_a)
    wait_until_dirty(redis_db, players)
    run_flush(worker_burst, crash_at="after_move")  # dies holding a moved batch
    assert failed_flushes(rq_queues) == 1
    run_flush(worker_burst, crash_at="after_commit")  # finishes that batch, dies before closing
    assert failed_flushes(rq_queues) == 2
    while any(p.poll() is None for p in players):
        run_flush(worker_burst)  # flushes racing the plays
    answers = answers_of(players)
    run_flush(worker_burst)
    assert failed_flushes(rq_queues) == 2
    assert stored_plays(album_a) == TOTAL
    assert plays_shown(client, album_a.id) == TOTAL
    assert plays_keys(redis_db) == []
    assert len(answers) == TOTAL
    # Never more than were played: no count was ever shown twice.
    assert max(answers) <= TOTAL
    assert min(answers) >= 1
