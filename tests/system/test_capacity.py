"""1,000 concurrent connections on the album endpoint under each web server, as shipped:
no errors, and the web tier's database connections stay bounded: by workers x threads
with the shipped persistent connections, by workers x pool with a pool (what gevent
needs). Counted per process: RQ jobs run by cron meanwhile hold connections of their own."""

import subprocess
import threading
import time

import pytest

from minihub.albums.models import Album
from minihub.albums.services import album_seed
from minihub.tenants.services import miniprogram_create
from tests.system.stack import supervised_stack, wrk

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

APPID = "wxc0000000000000c1"
# The shipped defaults on a 2-core machine: gunicorn (the default) 2 x CPU + 1 workers,
# granian a worker per core; 4 threads each.
WORKERS = {"granian": 2, "gunicorn": 5}
THREADS = 4
POOL = 10
MYSQL_MAX_CONNECTIONS = 151


def threads_connected() -> int:
    out = subprocess.run(
        ["mariadb", "-uroot", "-N", "-e", "SHOW STATUS LIKE 'Threads_connected'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.split()[1])


class ConnectionSampler(threading.Thread):
    """The web tier's connections and the server's total, four times a second."""

    def __init__(self, stack):
        super().__init__(daemon=True)
        self.stack = stack
        self.web_tier: list[int] = []
        self.server_total: list[int] = []
        self.running = True

    def run(self):
        while self.running:
            self.web_tier.append(self.stack.web_database_connections())
            self.server_total.append(threads_connected())
            time.sleep(0.25)


@pytest.mark.parametrize(
    ("pool", "per_worker"),
    [("0", THREADS), (str(POOL), POOL)],
    ids=["persistent-per-thread", "pooled"],
)
@pytest.mark.parametrize("web_server", ["granian", "gunicorn"])
def test_1000_connections_for_30_seconds_no_errors_and_bounded_connections(
    tmp_path, web_server, pool, per_worker
):
    program = miniprogram_create(appid=APPID, secret="s")
    album_seed(mini_program_id=program.id, count=20)
    album_id = Album.objects.filter(mini_program=program).order_by("id").first().id
    workers = WORKERS[web_server]
    shipped = {
        "MINIHUB_WEB_SERVER": web_server,
        "GRANIAN_WORKERS": str(workers),
        "GUNICORN_WORKERS": str(workers),
        "DATABASE_POOL_SIZE": pool,
    }
    with supervised_stack(tmp_path, **shipped) as stack:
        sampler = ConnectionSampler(stack)
        sampler.start()
        url = f"{stack.base_url}/api/v2/albums/{album_id}"
        result = wrk_with_header(url, seconds=30, connections=1000)
        sampler.running = False
        sampler.join()
    assert result.requests > 1000, result.output
    assert result.socket_errors == 0, result.output
    assert result.non_2xx == 0, result.output
    peak = max(sampler.web_tier)
    print(f"{web_server}, pool {pool}: {result.requests} requests, peak {peak} connections")
    assert 0 < peak <= workers * per_worker, sampler.web_tier
    assert max(sampler.server_total) < MYSQL_MAX_CONNECTIONS


def wrk_with_header(url: str, *, seconds: int, connections: int):
    # wrk sends no custom headers without a script; -H does it.
    return wrk(url, seconds=seconds, connections=connections, headers={"X-Mini-Program": APPID})
