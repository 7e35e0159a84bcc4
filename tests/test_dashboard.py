"""The dashboard's figures: counted per request in Redis, rolled up into the database
exactly once per hour, pruned after 90 days, shown in the admin with its data in the DOM."""

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User as StaffUser
from django.urls import reverse
from django.utils import timezone

from minihub.core import figures
from minihub.core.redis import get_redis
from minihub.dashboard.models import Figure, FigureHour
from minihub.dashboard.selectors import figures_chart
from minihub.dashboard.services import figures_prune, figures_roll_up
from tests.album_factory import album_create
from tests.conftest import APPID_A, APPID_B
from tests.helpers import app_headers, log_in, manage, test_process_env

BOTH = ["default", "admin"]
pytestmark = pytest.mark.django_db(databases=BOTH)
LOGIN_PATH = "/sns/jscode2session"


def current_counters(mini_program_id: int) -> dict[str, int]:
    raw = get_redis().hgetall(figures.hour_key(mini_program_id, figures.hour_of()))
    return {name.decode(): int(value) for name, value in raw.items()}


def traffic(client, wechat, tenants) -> dict:
    """Two new users and one returning login, two plays, one read, one WeChat fault."""
    album = album_create(mini_program_id=tenants.a.id, title="专辑", artist="周杰伦")
    first = log_in(client, wechat, APPID_A, "openid-1")
    log_in(client, wechat, APPID_A, "openid-2")
    log_in(client, wechat, APPID_A, "openid-1")
    headers = app_headers(APPID_A, first["token"])
    for _ in range(2):
        assert client.post(f"/api/v2/albums/{album.id}/plays", **headers).status_code == 202
    assert client.get(f"/api/v2/albums/{album.id}", **headers).status_code == 200
    wechat.fault(LOGIN_PATH, 40029)
    code = wechat.login_code(APPID_A, "openid-3")
    refused = client.post(
        "/api/v2/auth/login", {"code": code}, content_type="application/json", **headers
    )
    assert refused.status_code >= 400
    return {"album": album, "refused_status": refused.status_code}


def test_a_request_counts_its_figures_in_redis(client, wechat, tenants):
    done = traffic(client, wechat, tenants)
    counters = current_counters(tenants.a.id)
    assert counters[figures.LOGIN_NEW] == 2
    assert counters[figures.LOGIN_RETURNING] == 1
    assert counters[figures.PLAYS] == 2
    assert counters[figures.API_REQUESTS] == 7
    assert counters[f"{figures.API_ERRORS}{done['refused_status']}"] == 1
    assert counters[f"{figures.WECHAT_CALLS}{LOGIN_PATH}|0"] == 3
    assert counters[f"{figures.WECHAT_CALLS}{LOGIN_PATH}|40029"] == 1
    latency = sum(v for k, v in counters.items() if k.startswith(figures.WECHAT_LATENCY))
    assert latency == 4
    users = figures.users_key(tenants.a.id, figures.hour_of())
    assert get_redis().pfcount(users) == 1  # only openid-1 made authenticated calls
    assert current_counters(tenants.b.id) == {}
    member = f"{tenants.a.id}:{figures.hour_of()}".encode()
    assert get_redis().sismember(figures.PENDING_HOURS_KEY, member)


def test_requests_without_a_mini_program_count_nothing(client, redis_db, db):
    assert client.get("/api/v2/albums").status_code == 400
    assert redis_db.smembers(figures.PENDING_HOURS_KEY) == set()


def test_a_deployed_process_holds_request_figures_and_writes_them_together(
    client, tenants, settings
):
    """Deployed servers (FIGURES_FLUSH_SECONDS > 0) make no Redis call for figures per
    request: the process sums them, and one write carries them all."""
    settings.FIGURES_FLUSH_SECONDS = 3600  # only the explicit flush below writes
    album = album_create(mini_program_id=tenants.a.id, title="专辑", artist="周杰伦")
    for _ in range(3):
        assert client.get(f"/api/v2/albums/{album.id}", **app_headers(APPID_A)).status_code == 200
    assert current_counters(tenants.a.id) == {}, "nothing written per request"
    figures.process_figures.flush()
    assert current_counters(tenants.a.id) == {figures.API_REQUESTS: 3}
    figures.process_figures.flush()
    assert current_counters(tenants.a.id) == {figures.API_REQUESTS: 3}, "written once"


def test_the_background_thread_writes_within_the_interval(tenants, settings):
    settings.FIGURES_FLUSH_SECONDS = 0.1
    held = figures.ProcessFigures()
    batch = figures.FigureBatch()
    batch.counts[(tenants.a.id, figures.PLAYS)] += 2
    held.add(batch)
    deadline = time.monotonic() + 10
    while not current_counters(tenants.a.id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert current_counters(tenants.a.id) == {figures.PLAYS: 2}


def test_figures_held_across_an_hour_are_written_under_their_own_hours(tenants, settings):
    settings.FIGURES_FLUSH_SECONDS = 3600
    held = figures.ProcessFigures()
    ten = datetime(2026, 11, 30, 10, 59, 59, tzinfo=UTC)
    for moment, plays in ((ten, 1), (ten + timedelta(seconds=2), 4)):
        batch = figures.FigureBatch()
        batch.counts[(tenants.a.id, figures.PLAYS)] += plays
        held.add(batch, at=moment.timestamp())
    held.flush()
    for hour, plays in (("2026113010", b"1"), ("2026113011", b"4")):
        assert get_redis().hget(figures.hour_key(tenants.a.id, hour), figures.PLAYS) == plays
    pending = {m.decode() for m in get_redis().smembers(figures.PENDING_HOURS_KEY)}
    assert pending == {f"{tenants.a.id}:2026113010", f"{tenants.a.id}:2026113011"}


@pytest.mark.django_db(databases=BOTH, transaction=True)  # the child process sees the rows
def test_a_process_that_exits_writes_the_figures_it_holds(tenants):
    album = album_create(mini_program_id=tenants.a.id, title="专辑", artist="周杰伦")
    reads = (
        "from django.test import Client;"
        f"c = Client(HTTP_HOST='localhost', HTTP_X_MINI_PROGRAM='{APPID_A}');"
        f"print([c.get('/api/v2/albums/{album.id}').status_code for _ in range(4)])"
    )
    # An hour between writes: only the write on the way out can carry them.
    env = test_process_env(FIGURES_FLUSH_SECONDS="3600")
    result = manage("shell", "--no-imports", "-c", reads, env=env)
    assert result.stdout.strip().splitlines()[-1] == "[200, 200, 200, 200]", result.stderr
    assert current_counters(tenants.a.id) == {figures.API_REQUESTS: 4}


def test_roll_up_writes_each_finished_hour_exactly_once(client, wechat, tenants):
    traffic(client, wechat, tenants)
    hour = figures.hour_of()
    assert figures_roll_up() == 0  # the hour is not over yet
    later = timezone.now() + timedelta(hours=1, minutes=3)
    assert figures_roll_up(now=later) == 1
    record = FigureHour.objects.get(mini_program=tenants.a)
    values = dict(record.figures.values_list("name", "value"))
    assert values[figures.LOGIN_NEW] == 2 and values[figures.PLAYS] == 2
    assert record.active_users == 1
    assert not get_redis().exists(figures.hour_key(tenants.a.id, hour))
    assert get_redis().smembers(figures.PENDING_HOURS_KEY) == set()

    # A crash after the commit, before Redis forgot the hour: the keys come back.
    get_redis().hset(figures.hour_key(tenants.a.id, hour), figures.PLAYS, 2)
    get_redis().sadd(figures.PENDING_HOURS_KEY, f"{tenants.a.id}:{hour}")
    assert figures_roll_up(now=later) == 0
    assert dict(record.figures.values_list("name", "value"))[figures.PLAYS] == 2
    assert not get_redis().exists(figures.hour_key(tenants.a.id, hour))
    assert FigureHour.objects.count() == 1


@pytest.mark.django_db(databases=BOTH, transaction=True)  # the worker sees the rows
def test_roll_up_job_runs_in_a_real_worker(client, wechat, tenants, worker_burst):
    from minihub.core.jobs import enqueue_on_commit
    from minihub.dashboard.jobs import figures_roll_up_job

    earlier = datetime.now(UTC) - timedelta(hours=2)
    old_hour = figures.hour_of(earlier)
    get_redis().hset(figures.hour_key(tenants.b.id, old_hour), figures.PLAYS, 5)
    get_redis().sadd(figures.PENDING_HOURS_KEY, f"{tenants.b.id}:{old_hour}")
    enqueue_on_commit(figures_roll_up_job, queue="low")
    worker_burst()
    record = FigureHour.objects.get(mini_program=tenants.b)
    assert record.hour == earlier.replace(minute=0, second=0, microsecond=0)
    assert record.figures.get(name=figures.PLAYS).value == 5


def test_prune_keeps_90_days(tenants):
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    old = FigureHour.objects.create(mini_program=tenants.a, hour=now - timedelta(days=91))
    Figure.objects.create(hour_record=old, name=figures.PLAYS, value=1)
    kept = FigureHour.objects.create(mini_program=tenants.a, hour=now - timedelta(days=89))
    assert figures_prune() == 1
    assert list(FigureHour.objects.values_list("id", flat=True)) == [kept.id]
    assert not Figure.objects.filter(hour_record_id=old.id).exists()


def page_data(response) -> dict:
    match = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page carries its data"
    return json.loads(match.group(1))


@pytest.fixture
def staff_client(client):
    staff = StaffUser.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    client.force_login(staff)
    return client


def test_dashboard_page_shows_the_figures(client, wechat, tenants, staff_client):
    traffic(client, wechat, tenants)
    url = reverse("admin:dashboard_figurehour_miniprogram", args=[tenants.a.id])
    for window in ("24h", "7d", "30d"):
        data = page_data(staff_client.get(url, {"window": window}))
        assert data["window"] == window
        assert data["totals"]["logins_new"] == 2
        assert data["totals"]["logins_returning"] == 1
        assert data["totals"]["plays"] == 2
        assert data["totals"]["wechat_errors"] == 1
        assert max(data["series"]["active_users"]) == 1
        assert len(data["labels"]) == {"24h": 24, "7d": 8, "30d": 31}[window]
    data = page_data(staff_client.get(url))
    assert len(data["labels"]) == 24
    (login_row,) = data["wechat"]
    assert login_row["endpoint"] == LOGIN_PATH
    assert login_row["errcodes"] == {"0": 3, "40029": 1}
    assert login_row["p95_ms"] is not None
    assert set(data["state"]["outbox"]) == {"pending", "sending", "sent", "refused", "failed"}
    assert [q["name"] for q in data["state"]["queues"]] == ["high", "default", "low"]
    # Rolled up, the same numbers come from the database.
    figures_roll_up(now=timezone.now() + timedelta(hours=1, minutes=3))
    assert page_data(staff_client.get(url))["totals"]["plays"] == 2


@pytest.mark.parametrize("clock", ["00:10", "12:00", "23:30"])
@pytest.mark.parametrize(("window", "days"), [("7d", 8), ("30d", 31)])
def test_a_daily_window_has_the_same_days_at_any_hour(tenants, window, days, clock):
    """Today and the 7 (30) days before it, also in the last hour of a day."""
    hour, minute = map(int, clock.split(":"))
    now = datetime(2026, 11, 30, hour, minute, tzinfo=UTC)
    labels = figures_chart(mini_program_id=tenants.a.id, window=window, now=now)["labels"]
    assert len(labels) == days
    assert labels[-1] == "2026-11-30"
    assert labels[0] == (now - timedelta(days=days - 1)).strftime("%Y-%m-%d")


def test_overview_compares_mini_programs(client, wechat, tenants, staff_client):
    traffic(client, wechat, tenants)
    response = staff_client.get(reverse("admin:dashboard_figurehour_changelist"))
    rows = {row["appid"]: row for row in page_data(response)["rows"]}
    assert rows[APPID_A]["totals"]["plays"] == 2
    assert rows[APPID_B]["totals"]["plays"] == 0
    link = reverse("admin:dashboard_figurehour_miniprogram", args=[tenants.a.id])
    assert link in response.content.decode()
    program_list = staff_client.get(reverse("admin:tenants_miniprogram_changelist"))
    assert link in program_list.content.decode()
    index = staff_client.get(reverse("admin:index"))
    assert reverse("admin:dashboard_figurehour_changelist") in index.content.decode()


def test_bad_input_is_a_clear_4xx(tenants, staff_client):
    url = reverse("admin:dashboard_figurehour_miniprogram", args=[tenants.a.id])
    bad = staff_client.get(url, {"window": "1y"})
    assert bad.status_code == 400 and b"24h, 7d or 30d" in bad.content
    assert (
        staff_client.get(
            reverse("admin:dashboard_figurehour_changelist"), {"window": "x"}
        ).status_code
        == 400
    )
    missing = reverse("admin:dashboard_figurehour_miniprogram", args=[999999])
    assert staff_client.get(missing).status_code == 404


def test_the_dashboard_is_for_staff_only(client, tenants):
    url = reverse("admin:dashboard_figurehour_miniprogram", args=[tenants.a.id])
    assert client.get(url).status_code == 302  # to the admin's login
    visitor = StaffUser.objects.create_user("visitor", password="pw-0123456789", is_staff=True)
    client.force_login(visitor)
    assert client.get(url).status_code == 403
