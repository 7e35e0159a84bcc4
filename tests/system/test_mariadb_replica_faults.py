"""A real MariaDB replica (GTID replication, read_only) stopped, and lagging, under load.

Where reads went is read from the replica itself: its count of SELECTs answered.
"""

import time

import pytest

from tests.helpers import manage
from tests.system.data_tier import new_processes, prepare_database, running_minihub
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


def test_reads_go_to_the_replica_and_migrations_never_touch_it(minihub, cluster):
    _root, _primary, replica, _cache = cluster
    assert wait_until(lambda: reads_reach(replica, minihub), timeout=10, what="reads on replica")
    assert replica.sql("SELECT @@read_only") == "1\n"
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
