"""The pooled MySQL engine against the real MariaDB: one round trip per query on a
reused connection, and still safe: open transactions rolled back, session settings
kept, dead connections replaced after an idle spell."""

import itertools
import os
import time

import pymysql
import pytest
from dj_db_conn_pool.core import pool_container
from django.db import connection, connections

from config.settings.database import database_from_url
from minihub.core.pooled_mysql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)

_aliases = itertools.count()


@pytest.fixture
def pooled_wrapper():
    """A factory of Django connections through the pooled engine on the test database:
    one pooled connection, so every checkout reuses the same physical one."""
    made = []

    def make(alias=None, **overrides):
        alias = alias or f"pooled_test_{next(_aliases)}"
        settings_dict = database_from_url(os.environ["DATABASE_URL"], pool_size=1)
        settings_dict.update(NAME=connection.settings_dict["NAME"], **overrides)
        databases = {"default": connection.settings_dict, alias: settings_dict}
        configured = connections.configure_settings(databases)[alias]
        wrapper = DatabaseWrapper(configured, alias=alias)
        made.append(wrapper)
        return wrapper

    yield make
    for wrapper in made:
        wrapper.close()
        if pool_container.has(wrapper.alias):
            pool_container.pop(wrapper.alias).dispose()


def one_request(wrapper, sql="SELECT 1"):
    """What a request does: connect (checkout), query, close (checkin)."""
    with wrapper.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    wrapper.close()
    return rows


def test_a_reused_connection_costs_one_round_trip_per_query(pooled_wrapper, commands):
    wrapper = pooled_wrapper()
    one_request(wrapper)  # the first checkout opens the connection and sets the session up
    commands.clear()
    assert one_request(wrapper) == ((1,),)
    assert one_request(wrapper) == ((1,),)
    assert [sql for _command, sql in commands] == ["SELECT 1", "SELECT 1"]


def test_session_settings_survive_reuse(pooled_wrapper):
    wrapper = pooled_wrapper()
    sql = "SELECT @@session.tx_isolation, @@session.character_set_connection, @@session.sql_mode"
    first = one_request(wrapper, sql)
    again = one_request(wrapper, sql)
    assert first == again
    isolation, charset, sql_mode = again[0]
    assert isolation == "READ-COMMITTED"
    assert charset == "utf8mb4"
    assert "STRICT_ALL_TABLES" in sql_mode


def test_an_open_transaction_is_rolled_back_at_checkin(pooled_wrapper, commands):
    wrapper = pooled_wrapper()
    one_request(wrapper, "CREATE TEMPORARY TABLE pooled_rows (id INT) ENGINE=InnoDB")
    wrapper.connect()
    wrapper.set_autocommit(False)
    with wrapper.cursor() as cursor:
        cursor.execute("INSERT INTO pooled_rows VALUES (1)")
    commands.clear()
    wrapper.close()  # back to the pool mid-transaction, as a crashed request would
    assert [sql for _command, sql in commands] == ["ROLLBACK"]
    # The temporary table lives in the same physical connection: the row is gone.
    assert one_request(wrapper, "SELECT COUNT(*) FROM pooled_rows") == ((0,),)


def test_a_connection_killed_while_idle_is_replaced_before_use(pooled_wrapper):
    wrapper = pooled_wrapper(POOL_PING_IDLE_SECONDS=0.05)
    ((killed_id,),) = one_request(wrapper, "SELECT CONNECTION_ID()")
    with connection.cursor() as cursor:
        cursor.execute(f"KILL {int(killed_id)}")
    time.sleep(0.2)
    ((new_id,),) = one_request(wrapper, "SELECT CONNECTION_ID()")
    assert new_id != killed_id


def test_a_busy_connection_is_not_pinged(pooled_wrapper, commands, monkeypatch):
    pings = []
    original = pymysql.connections.Connection.ping
    monkeypatch.setattr(
        pymysql.connections.Connection,
        "ping",
        lambda self, reconnect=True: pings.append(reconnect) or original(self, reconnect),
    )
    wrapper = pooled_wrapper(POOL_PING_IDLE_SECONDS=60)
    for _ in range(3):
        one_request(wrapper)
    assert pings == []
    wrapper_idle = pooled_wrapper(POOL_PING_IDLE_SECONDS=0)
    one_request(wrapper_idle)
    one_request(wrapper_idle)
    assert pings == [False]  # never a silent reconnect behind the pool's back


def test_server_facts_are_asked_once_per_process(pooled_wrapper, commands):
    first = pooled_wrapper("pooled_test_facts")
    assert first.mysql_server_data["version"]
    commands.clear()
    second = pooled_wrapper("pooled_test_facts")  # another thread's connection object
    assert second.mysql_server_data == first.mysql_server_data
    assert commands == []


def test_a_connection_killed_a_moment_after_use_is_replaced_without_a_ping(
    pooled_wrapper, monkeypatch
):
    """No ping is due (it was in use a moment ago), yet the server's close is seen."""
    wrapper = pooled_wrapper(POOL_PING_IDLE_SECONDS=60)
    ((killed_id,),) = one_request(wrapper, "SELECT CONNECTION_ID()")
    with connection.cursor() as cursor:
        cursor.execute(f"KILL {int(killed_id)}")
    time.sleep(0.05)  # the server's close reaches the socket
    monkeypatch.setattr(pymysql.connections.Connection, "ping", None)  # any ping would fail
    for _ in range(3):
        ((new_id,),) = one_request(wrapper, "SELECT CONNECTION_ID()")
        assert new_id != killed_id


def test_a_connection_broken_mid_request_is_dropped_at_checkin(pooled_wrapper):
    from django.db import OperationalError

    wrapper = pooled_wrapper(POOL_PING_IDLE_SECONDS=60)
    wrapper.connect()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        ((doomed_id,),) = cursor.fetchall()
        with connections["default"].cursor() as killer:
            killer.execute(f"KILL {int(doomed_id)}")
        time.sleep(0.05)
        with pytest.raises(OperationalError):
            cursor.execute("SELECT 1")
    wrapper.close_if_unusable_or_obsolete()  # what Django does when the request ends
    ((new_id,),) = one_request(wrapper, "SELECT CONNECTION_ID()")
    assert new_id != doomed_id
