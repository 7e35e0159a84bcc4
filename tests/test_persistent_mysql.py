"""The persistent MySQL engine (the default: a connection per thread) against the real
MariaDB: no round trip but the query on a busy connection, and still safe: connections
the server closed, or that idled past the ping interval, are found before a query fails."""

import gc
import itertools
import os
import ssl
import threading
import time

import pymysql
import pytest
from django.db import OperationalError, connection, connections

from config.settings.database import PERSISTENT_MYSQL_ENGINE, database_from_url
from minihub.core import pymysql_tls
from minihub.core.persistent_mysql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)

_aliases = itertools.count()


@pytest.fixture
def persistent_wrapper():
    """A factory of Django connections through the persistent engine on the test database
    (what one web server thread holds)."""
    made = []

    def make(**overrides):
        alias = f"persistent_test_{next(_aliases)}"
        settings_dict = database_from_url(os.environ["DATABASE_URL"], pool_size=0)
        assert settings_dict["ENGINE"] == PERSISTENT_MYSQL_ENGINE
        settings_dict.update(NAME=connection.settings_dict["NAME"], **overrides)
        databases = {"default": connection.settings_dict, alias: settings_dict}
        wrapper = DatabaseWrapper(connections.configure_settings(databases)[alias], alias=alias)
        made.append(wrapper)
        return wrapper

    yield make
    for wrapper in made:
        wrapper.close()


@pytest.fixture
def pings(monkeypatch):
    seen = []
    original = pymysql.connections.Connection.ping

    def spy(self, reconnect=True):
        seen.append(reconnect)
        return original(self, reconnect)

    monkeypatch.setattr(pymysql.connections.Connection, "ping", spy)
    return seen


def one_request(wrapper, sql="SELECT 1"):
    """What Django does around a request: the connection check at its start and end (the
    request_started and request_finished signals), and the request's query."""
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    wrapper.close_if_unusable_or_obsolete()
    return rows


def connection_id(wrapper) -> int:
    ((found,),) = one_request(wrapper, "SELECT CONNECTION_ID()")
    return found


def kill(connection_id_: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"KILL {int(connection_id_)}")


def test_a_busy_connection_costs_one_round_trip_per_query(persistent_wrapper, commands, pings):
    wrapper = persistent_wrapper(PING_IDLE_SECONDS=60)
    first = connection_id(wrapper)  # connects and sets the session up
    commands.clear()
    assert one_request(wrapper) == ((1,),)
    assert one_request(wrapper) == ((1,),)
    assert [sql for _command, sql in commands] == ["SELECT 1", "SELECT 1"]
    assert pings == []
    assert connection_id(wrapper) == first, "the same connection, kept between requests"


def test_an_idle_connection_is_pinged_without_a_silent_reconnect(persistent_wrapper, pings):
    wrapper = persistent_wrapper(PING_IDLE_SECONDS=0)
    one_request(wrapper)
    one_request(wrapper)
    assert pings == [False]  # PyMySQL's reconnect would skip the session settings


def test_a_connection_killed_while_idle_is_replaced_before_use(persistent_wrapper):
    wrapper = persistent_wrapper(PING_IDLE_SECONDS=0.05)
    killed = connection_id(wrapper)
    kill(killed)
    time.sleep(0.2)
    assert connection_id(wrapper) != killed


def test_a_connection_killed_a_moment_after_use_is_replaced_without_a_ping(
    persistent_wrapper, monkeypatch
):
    """No ping is due (it was used a moment ago), yet the server's close is seen."""
    wrapper = persistent_wrapper(PING_IDLE_SECONDS=60)
    killed = connection_id(wrapper)
    kill(killed)
    time.sleep(0.05)  # the server's close reaches the socket
    monkeypatch.setattr(pymysql.connections.Connection, "ping", None)  # any ping would fail
    for _ in range(3):
        assert connection_id(wrapper) != killed


def test_session_settings_hold_on_a_replaced_connection(persistent_wrapper):
    wrapper = persistent_wrapper(PING_IDLE_SECONDS=60)
    sql = "SELECT @@session.tx_isolation, @@session.character_set_connection, @@session.sql_mode"
    kill(connection_id(wrapper))
    time.sleep(0.05)
    isolation, charset, sql_mode = one_request(wrapper, sql)[0]
    assert isolation == "READ-COMMITTED"
    assert charset == "utf8mb4"
    assert "STRICT_ALL_TABLES" in sql_mode


def session_exists(connection_id_: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s", [connection_id_]
        )
        return cursor.fetchone()[0] == 1


def test_a_thread_that_ends_closes_its_connection_without_the_garbage_collector():
    """As granian retires an idle blocking thread: its connection is closed when it ends."""
    opened = []

    def serve_one_request():
        wrapper = connections["default"]  # the thread's own connection, as in a request
        ((found,),) = one_request(wrapper, "SELECT CONNECTION_ID()")
        opened.append(found)

    gc.disable()  # Django's connection objects are cycles: only the thread's end may free it
    try:
        thread = threading.Thread(target=serve_one_request)
        thread.start()
        thread.join()
        assert len(opened) == 1
        wait_for(lambda: not session_exists(opened[0]), timeout=5)
    finally:
        gc.enable()


def wait_for(check, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "still open"
        time.sleep(0.05)


def test_new_connections_share_one_tls_context(persistent_wrapper, monkeypatch):
    """PyMySQL's preferred TLS built a context (the system CA store: ~50 ms) per connection."""
    built = []
    original = ssl.create_default_context

    def spy(*args, **kwargs):
        built.append(args or kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", spy)
    monkeypatch.setattr(pymysql_tls, "_preferred", None)
    ids = {connection_id(persistent_wrapper()) for _ in range(3)}
    assert len(ids) == 3  # three connections, each working
    assert len(built) == 1


def test_a_connection_with_tls_options_gets_its_own_context(persistent_wrapper, monkeypatch):
    built = []
    original = ssl.create_default_context

    def spy(*args, **kwargs):
        built.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", spy)
    wrapper = persistent_wrapper()
    wrapper.settings_dict["OPTIONS"] = {
        **wrapper.settings_dict["OPTIONS"],
        "ssl": {"ca": "/etc/ssl/certs/ca-certificates.crt"},
    }
    with pytest.raises(OperationalError):  # this MariaDB speaks no TLS: required TLS fails
        connection_id(wrapper)
    assert built == [{"cafile": "/etc/ssl/certs/ca-certificates.crt", "capath": None}]
