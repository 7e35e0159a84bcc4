"""Recovery from backing-service faults, on private MariaDB and Redis that the test stops."""

import subprocess
import time

import pytest
import requests

from tests.helpers import PROJECT_DIR, manage
from tests.system.data_tier import app_env
from tests.system.private_servers import PrivateMariaDB, PrivateRedis
from tests.system.stack import free_port, wait_until

pytestmark = pytest.mark.system

APPID = "wxf0000000000000f1"
SETUP = """
from minihub.accounts.models import User
from minihub.accounts.tokens import token_issue
from minihub.tenants.services import miniprogram_create
program = miniprogram_create(appid="{appid}", secret="s")
user = User.objects.create(mini_program=program, openid="fault-user")
print("TOKEN=" + token_issue(user=user).token)
"""


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    (root / "db").mkdir()
    (root / "redis").mkdir()
    database, cache = PrivateMariaDB(root / "db"), PrivateRedis(root / "redis")
    database.install()
    database.start()
    database.create_app_databases("faults", "faults_admin")
    cache.start()
    yield root, database, cache
    cache.stop()
    database.stop()


@pytest.fixture(scope="module")
def app(servers):
    root, database, cache = servers
    port = free_port()
    env = app_env(root, database, port, name="faults", REDIS_URL=cache.url)
    for args in (("migrate", "-v0"), ("migrate", "--database", "admin", "-v0")):
        assert manage(*args, env=env).returncode == 0
    setup = manage("shell", "--no-imports", "-c", SETUP.format(appid=APPID), env=env)
    token = setup.stdout.strip().rsplit("TOKEN=", 1)[-1]
    log = (root / "web.log").open("w")
    server = subprocess.Popen(
        [str(PROJECT_DIR / "deploy" / "web")],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}/api/v2"
    wait_until(
        lambda: requests.get(base + "/health/live", timeout=2).ok,
        timeout=30,
        what="the web server up",
    )
    yield {"base": base, "token": token, "server": server, "database": database, "cache": cache}
    server.terminate()
    server.wait(timeout=30)
    log.close()


def get(app, path: str, **kwargs):
    headers = {"X-Mini-Program": APPID, "Authorization": f"Bearer {app['token']}"}
    return requests.get(app["base"] + path, headers=headers, timeout=10, **kwargs)


def test_healthy_to_start_with(app):
    assert get(app, "/health").json()["status"] == "ok"
    assert get(app, "/me").json()["openid"] == "fault-user"


def test_redis_down_health_names_it_and_tokens_fall_back_to_the_database(app):
    app["cache"].stop()
    try:
        health = get(app, "/health")
        assert health.status_code == 503
        assert health.json()["checks"]["redis"] == "unavailable"
        assert health.json()["checks"]["database"] == "ok"
        assert health.json()["error"]["code"] == "service_unavailable"
        me = get(app, "/me")
        assert me.status_code == 200, me.text
    finally:
        app["cache"].start()  # same port
    wait_until(
        lambda: get(app, "/health").status_code == 200,
        timeout=15,
        what="health back after Redis returned",
    )


def test_database_down_is_a_quick_503_and_recovers_without_a_restart(app):
    workers_before = app["server"].pid
    app["database"].stop()
    try:
        started = time.monotonic()
        me = get(app, "/me")
        elapsed = time.monotonic() - started
        assert me.status_code == 503, me.text
        assert me.json()["error"]["code"] == "service_unavailable"
        assert me.headers["Retry-After"]
        assert elapsed < 5
        health = get(app, "/health")
        assert health.status_code == 503
        assert health.json()["checks"]["database"] == "unavailable"
    finally:
        app["database"].start()  # same port and data
    wait_until(
        lambda: get(app, "/me").status_code == 200,
        timeout=20,
        what="/me back after MariaDB returned",
    )
    assert get(app, "/health").status_code == 200
    assert app["server"].poll() is None and app["server"].pid == workers_before
