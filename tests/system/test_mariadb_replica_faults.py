"""A real MariaDB replica (GTID replication, read_only) stopped, lagging, and delayed on
purpose while in rotation; its primary stopped under load.

Where reads went is read from the replica itself: its count of SELECTs answered.
"""

import time
from collections import Counter
from dataclasses import dataclass

import pytest
import requests

from tests.fixtures.fake_wechat import running_fake_wechat
from tests.helpers import manage
from tests.system.data_tier import APPID, new_processes, prepare_database, running_minihub
from tests.system.failover_load import FailoverLoad
from tests.system.private_servers import USER, PrivateMariaDB, PrivateRedis
from tests.system.stack import wait_until

pytestmark = pytest.mark.system

FIRST_SECONDS = 5  # a GET may fail this long after the replica stops
BACK_WITHIN_SECONDS = 15


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("replication")
    for name in ("primary", "replica", "redis"):
        (root / name).mkdir()
    primary = PrivateMariaDB(root / "primary", server_id=1)
    replica = PrivateMariaDB(root / "replica", server_id=2)
    cache = PrivateRedis(root / "redis")
    try:
        for server in (primary, replica):
            server.install()
            server.start()
        primary.serve_replication()
        primary.create_app_databases("tier", "tier_admin")
        # The lag check's privilege (docs/data-tier.md); replicated like the rest.
        assert primary.sql(f"GRANT SLAVE MONITOR ON *.* TO '{USER}'@'127.0.0.1'") is not None
        replica.replicate_from(primary)
        cache.start()
        yield root, primary, replica, cache
    finally:
        for server in (cache, replica, primary):
            server.stop()


@pytest.fixture(scope="module")
def minihub(cluster):
    root, primary, replica, cache = cluster
    processes = new_processes(
        root, primary, REDIS_URL=cache.url, DATABASE_REPLICA_URLS=replica.url("tier")
    )
    prepare_database(processes)
    wait_until(
        lambda: replica.sql("SELECT COUNT(*) FROM tier.albums_album") == "1\n",
        timeout=20,
        what="replica caught up",
    )
    with running_minihub(processes, with_jobs=False):
        yield processes


def reads_reach(replica: PrivateMariaDB, processes, requests: int = 20) -> bool:
    before = replica.selects_served()
    for _ in range(requests):
        processes.get(f"/albums/{processes.album_id}")
    return replica.selects_served() > before


def datatier_status(processes) -> str:
    result = manage("datatier_status", env=processes.env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_reads_go_to_the_replica_and_migrations_never_touch_it(minihub, cluster):
    _root, _primary, replica, _cache = cluster
    assert wait_until(lambda: reads_reach(replica, minihub), timeout=10, what="reads on replica")
    assert replica.sql("SELECT @@read_only") == "1\n"
    assert f"replica_0 127.0.0.1:{replica.port}: in rotation (in step" in datatier_status(minihub)
    for command in (("migrate", "-v0"), ("schema_sql",)):
        result = manage(*command, env=minihub.env)
        assert result.returncode == 0, result.stderr[-2000:]
    # The replica's own binary log holds only what was written on it: nothing.
    assert replica.sql("SELECT @@gtid_binlog_pos") == "\n"


def test_replica_stopped_then_started_under_load(minihub, cluster):
    _root, _primary, replica, _cache = cluster
    with FailoverLoad(minihub.target(), seconds=20, connections=6) as load:
        time.sleep(3)
        stopped_at = time.monotonic()
        replica.stop()
        time.sleep(7)
        replica.start()  # same port and data: replication resumes from its position
        started_at = time.monotonic()
        wait_until(
            lambda: reads_reach(replica, minihub),
            timeout=BACK_WITHIN_SECONDS,
            what="reads back on the replica",
        )
        back_after = time.monotonic() - started_at
    report = load.report
    # POST /plays reads the album first: it fails with the GETs, in the first seconds only.
    last_failed = report.last_failure("")
    print(
        f"\nMARIADB REPLICA STOPPED 7 s: {report.summary(stopped_at)}; last failed request "
        f"{'none' if last_failed is None else f'{last_failed - stopped_at:+.2f} s'} "
        f"after the stop; reads back on the replica {back_after:.1f} s after its start"
    )
    assert last_failed is None or last_failed - stopped_at < FIRST_SECONDS


def test_replica_lagging_is_left_out_and_required_reads_stay_fresh(minihub, cluster):
    _root, _primary, replica, _cache = cluster
    assert replica.sql("STOP SLAVE SQL_THREAD") is not None
    stopped_at = time.monotonic()
    try:
        wait_until(
            lambda: not reads_reach(replica, minihub),
            timeout=FIRST_SECONDS,
            what="replica out of rotation",
        )
        out_after = time.monotonic() - stopped_at
        status = datatier_status(minihub)
        assert "replica_0" in status and "out of rotation (replication stopped or broken" in status
        # Writes the replica will not see for as long as its SQL thread stays stopped.
        token = minihub.issue_token("while-lagging")
        favorite = minihub.put_favorite(token)
        assert favorite.status_code in (200, 201, 204), favorite.text
        me = minihub.get("/me", token=token)
        favorites = minihub.get("/me/favorites", token=token)
        with FailoverLoad(minihub.target(), seconds=10, connections=4) as load:
            time.sleep(1)
        print(
            f"\nMARIADB REPLICA SQL THREAD STOPPED: out of rotation after {out_after:.1f} s; "
            f"{load.report.summary(stopped_at)}"
        )
        assert me.status_code == 200 and me.json()["openid"] == "while-lagging"
        assert [item["id"] for item in favorites.json()["items"]] == [minihub.album_id]
        assert load.report.failed_requests == 0
        assert not reads_reach(replica, minihub)
    finally:
        assert replica.sql("START SLAVE SQL_THREAD") is not None
    wait_until(
        lambda: reads_reach(replica, minihub),
        timeout=BACK_WITHIN_SECONDS,
        what="reads back after the replica caught up",
    )


PRIMARY_OUTAGE_SECONDS = 6  # within DATABASE_REPLICA_MAX_LAG_SECONDS (10): the replica stays
UNAVAILABLE_WITHIN_SECONDS = 2
RECOVERED_WITHIN_SECONDS = 20


@dataclass
class TimedAnswer:
    kind: str
    status: int
    seconds: float
    unavailable: bool  # a 503 with the code service_unavailable

    def __str__(self) -> str:
        return f"{self.kind} {self.status} in {self.seconds:.2f} s"


def timed(minihub, kind: str, method: str, path: str) -> TimedAnswer:
    started = time.monotonic()
    response = minihub.request(method, path)
    unavailable = response.status_code == 503 and (
        response.json().get("error", {}).get("code") == "service_unavailable"
    )
    return TimedAnswer(kind, response.status_code, time.monotonic() - started, unavailable)


def answers_during_outage(minihub) -> list[TimedAnswer]:
    """Each second of the outage: a write, a read that must be fresh, a read that may be stale."""
    answers = []
    deadline = time.monotonic() + PRIMARY_OUTAGE_SECONDS
    while time.monotonic() < deadline:
        album = f"/albums/{minihub.album_id}"
        answers.append(timed(minihub, "PUT favorite", "PUT", f"{album}/favorite"))
        answers.append(timed(minihub, "GET /me", "GET", "/me"))
        answers.append(timed(minihub, "GET /albums/<id>", "GET", album))
        time.sleep(1)
    return answers


def test_primary_stopped_under_load(minihub, cluster):
    _root, primary, replica, _cache = cluster
    assert wait_until(lambda: reads_reach(replica, minihub), timeout=10, what="reads on replica")
    with FailoverLoad(minihub.target(), seconds=PRIMARY_OUTAGE_SECONDS + 8, connections=4) as load:
        time.sleep(2)
        stopped_at = time.monotonic()
        primary.stop()
        during = answers_during_outage(minihub)
        served_by_replica = reads_reach(replica, minihub, requests=5)
        primary.start()  # same port and data: the replica reconnects by itself
        started_at = time.monotonic()
        wait_until(
            lambda: all(
                timed(minihub, kind, method, path).status in (200, 204)
                for kind, method, path in (
                    ("GET /me", "GET", "/me"),
                    ("PUT favorite", "PUT", f"/albums/{minihub.album_id}/favorite"),
                )
            ),
            timeout=RECOVERED_WITHIN_SECONDS,
            what="writes and fresh reads answered again",
        )
        recovered_after = time.monotonic() - started_at
    by_kind = {kind: [a for a in during if a.kind == kind] for kind in {a.kind for a in during}}
    slowest = max(during, key=lambda answer: answer.seconds)
    print(
        f"\nMARIADB PRIMARY STOPPED {PRIMARY_OUTAGE_SECONDS} s: {load.report.summary(stopped_at)}; "
        f"during the outage {len(during)} timed requests, slowest {slowest}; "
        + "; ".join(
            f"{kind}: {sorted({a.status for a in answers})}" for kind, answers in by_kind.items()
        )
        + f"; probe failures by kind {Counter(a.kind for a in load.report.answers if not a.ok)}"
        f"; everything answered again {recovered_after:.1f} s after the start"
    )
    for answer in by_kind["PUT favorite"] + by_kind["GET /me"]:
        assert answer.unavailable and answer.seconds < UNAVAILABLE_WITHIN_SECONDS, answer
    assert all(answer.status == 200 for answer in by_kind["GET /albums/<id>"]), by_kind
    # Album reads come from the replica and plays are counted in Redis: neither needs
    # the primary, so only the reads that must be fresh (/me) fail.
    failed = [a for a in load.report.answers if not a.ok and a.kind != "GET /me"]
    assert failed == []
    assert served_by_replica
    assert wait_until(lambda: reads_reach(replica, minihub), timeout=10, what="replica in step")


REPLICA_DELAY_SECONDS = 30
DELAYED_MAX_LAG_SECONDS = 60
NEW_ALBUM = """
from tests.album_factory import album_create
print("ALBUM=" + str(album_create(mini_program_id={program_id}, title="Delayed").id))
"""
SET_ENABLED = """
from minihub.tenants.services import miniprogram_set_enabled
miniprogram_set_enabled(appid="{appid}", enabled={enabled})
"""


def set_replica_delay(replica: PrivateMariaDB, seconds: int) -> None:
    change = f"STOP SLAVE; CHANGE MASTER TO MASTER_DELAY={seconds}; START SLAVE"
    assert replica.sql(change) is not None


@pytest.fixture
def delayed_replica_minihub(minihub, cluster):
    """The replica 30 s behind on purpose, and MiniHub told to accept 60 s: in rotation."""
    root, primary, replica, cache = cluster
    (root / "delayed").mkdir(exist_ok=True)
    set_replica_delay(replica, REPLICA_DELAY_SECONDS)
    try:
        with running_fake_wechat() as wechat:
            wechat.register_app(APPID, "s")  # the secret prepare_database gave it
            processes = new_processes(
                root / "delayed",
                primary,
                REDIS_URL=cache.url,
                DATABASE_REPLICA_URLS=replica.url("tier"),
                DATABASE_REPLICA_MAX_LAG_SECONDS=str(DELAYED_MAX_LAG_SECONDS),
                WECHAT_API_BASE=wechat.base_url,
            )
            processes.album_id = minihub.album_id
            processes.program_id = minihub.program_id
            processes.tokens = minihub.tokens
            with running_minihub(processes, with_jobs=False):
                yield processes, wechat
    finally:
        set_replica_delay(replica, 0)


def login(processes, wechat, openid: str) -> dict:
    response = requests.post(
        f"{processes.base_url}/api/v2/auth/login",
        json={"code": wechat.login_code(APPID, openid)},
        headers={"X-Mini-Program": APPID},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_delayed_replica_in_rotation_stale_only_where_permitted(delayed_replica_minihub, cluster):
    processes, wechat = delayed_replica_minihub
    _root, _primary, replica, _cache = cluster
    created_at = time.monotonic()
    new_album = int(
        processes.shell(NEW_ALBUM.format(program_id=processes.program_id)).split("=")[1]
    )
    # A listing may be stale: the album just created is not on the delayed replica yet,
    # and the replica keeps answering reads (it is within the 60 s allowed).
    assert processes.get(f"/albums/{new_album}").status_code == 404
    assert reads_reach(replica, processes)

    # A login, then the same user's requests: from the primary, at once.
    first = login(processes, wechat, "delayed-login")
    again = login(processes, wechat, "delayed-login")
    me = processes.get("/me", token=first["token"])
    assert first["created"] and not again["created"]
    assert again["user"]["id"] == first["user"]["id"]
    assert me.status_code == 200 and me.json()["openid"] == "delayed-login"

    # Favourites: the writes act on the primary and answer at once.
    token = first["token"]
    assert processes.put_favorite(token).status_code == 204
    listed_after_put = processes.get("/me/favorites", token=token).json()["items"]
    assert [item["id"] for item in listed_after_put] == [processes.album_id]
    deleted = processes.request("DELETE", f"/albums/{processes.album_id}/favorite", token)
    assert deleted.status_code == 204

    # Disabling a mini-program takes effect at the next request, and so does enabling it.
    processes.shell(SET_ENABLED.format(appid=APPID, enabled=False))
    while_disabled = processes.get(f"/albums/{processes.album_id}")
    processes.shell(SET_ENABLED.format(appid=APPID, enabled=True))
    after_enabled = processes.get(f"/albums/{processes.album_id}")
    assert while_disabled.status_code == 404, while_disabled.text
    assert while_disabled.json()["error"]["code"] == "miniprogram_unknown"
    assert after_enabled.status_code == 200

    lag = replica.replication_field("Seconds_Behind_Master")
    wait_until(
        lambda: processes.get(f"/albums/{new_album}").status_code == 200,
        timeout=DELAYED_MAX_LAG_SECONDS,
        what="the new album on the delayed replica",
    )
    stale_for = time.monotonic() - created_at
    print(
        f"\nMARIADB REPLICA DELAYED {REPLICA_DELAY_SECONDS} s IN ROTATION: lag seen "
        f"{lag} s; login, second login, /me, favourite PUT/DELETE, disable/enable all "
        f"fresh; GET /me/favorites right after the PUT listed {len(listed_after_put)} "
        f"(stale-permitted); a new album answered 404 for {stale_for:.1f} s"
    )
    assert stale_for <= DELAYED_MAX_LAG_SECONDS + 1
