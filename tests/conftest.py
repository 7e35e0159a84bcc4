import logging
from pathlib import Path

import pymysql
import pytest
from django.test import override_settings

from minihub.core.redis import get_redis

pytest_plugins = ["tests.fixtures.fake_wechat", "tests.fixtures.jobs", "tests.fixtures.sentry_sink"]

SYSTEM_TESTS_DIR = Path(__file__).resolve().parent / "system"


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items):
    """Everything under tests/system starts gunicorn, supervisord, nginx or sshd: marked
    `system` however its module is marked, so that `make check` never starts one."""
    for item in items:
        if SYSTEM_TESTS_DIR in item.path.parents:
            item.add_marker(pytest.mark.system)


@pytest.fixture
def redis_db():
    """The real Redis of the test environment, emptied before and after each test."""
    client = get_redis()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def redis_unreachable():
    """Point the app at a port where no Redis listens (the tenant cache, Django's own
    cache settings, stays reachable)."""
    get_redis.cache_clear()
    dead = "redis://127.0.0.1:1/0"
    queues = {name: {"URL": dead} for name in ("high", "default", "low")}
    with override_settings(REDIS_URL=dead, RQ_QUEUES=queues):
        yield
    get_redis.cache_clear()


@pytest.fixture
def api(client):
    """Django's test client with the API prefix filled in."""

    class Api:
        prefix = "/api/v2"

        def __getattr__(self, method):
            call = getattr(client, method)

            def request(path, *args, **kwargs):
                return call(self.prefix + path, *args, **kwargs)

            return request

    return Api()


@pytest.fixture
def log_records(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


APPID_A = "wxa0000000000000a1"
APPID_B = "wxb0000000000000b2"
SECRET_A = "secret-of-a-0123456789abcdef"
SECRET_B = "secret-of-b-0123456789abcdef"


@pytest.fixture
def wechat(fake_wechat, settings):
    """The fake WeChat server over real HTTP, reset, with the app pointed at it."""
    from minihub.integrations.wechat.client import _client

    settings.WECHAT_API_BASE = fake_wechat.base_url
    _client.cache_clear()
    yield fake_wechat
    _client.cache_clear()


@pytest.fixture
def tenants(db, wechat, redis_db, settings):
    """Two mini-programs, registered both here and at the fake WeChat server."""
    from types import SimpleNamespace

    from minihub.tenants import selectors
    from minihub.tenants.services import miniprogram_create

    settings.TENANT_LOCAL_CACHE_SECONDS = 0
    selectors._local.clear()
    a = miniprogram_create(appid=APPID_A, secret=SECRET_A, name="音乐 A")
    b = miniprogram_create(appid=APPID_B, secret=SECRET_B, name="Music B")
    wechat.register_app(APPID_A, SECRET_A)
    wechat.register_app(APPID_B, SECRET_B)
    yield SimpleNamespace(a=a, b=b)
    selectors._local.clear()


@pytest.fixture
def commands(monkeypatch):
    """Every command PyMySQL sends, as (command byte, SQL): a spy, the calls go through."""
    sent = []
    original = pymysql.connections.Connection._execute_command

    def spy(self, command, sql):
        sent.append((command, sql if isinstance(sql, str) else sql.decode()))
        return original(self, command, sql)

    monkeypatch.setattr(pymysql.connections.Connection, "_execute_command", spy)
    return sent
