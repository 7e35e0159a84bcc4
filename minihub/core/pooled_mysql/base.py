"""Django's MySQL backend through django-db-connection-pool, with one round trip per query.

The stock pooled backend spends three extra round trips on every request: a ping
at checkout, `SET SESSION TRANSACTION ISOLATION LEVEL` when Django "connects", and
a ROLLBACK at checkin. Each costs about as much as the query itself. Here:

- a connection is pinged only when it has sat idle in the pool for longer than
  POOL_PING_IDLE_SECONDS: after a quiet spell (or a database restart) a dead one
  is replaced before use, while under load no request pays for a ping;
- session settings are sent once per physical connection;
- the checkin ROLLBACK is skipped when the server says no transaction is open
  (PyMySQL reports it in every reply; mysqlclient does not, so it keeps it).

ENGINE = "minihub.core.pooled_mysql"; config/settings/database.py sets it up.
"""

import threading
import time

from dj_db_conn_pool.backends.mysql import base as pooled
from dj_db_conn_pool.core import pool_container
from sqlalchemy import event, exc

SERVER_STATUS_IN_TRANS = 1  # MySQL protocol: SERVER_STATUS_IN_TRANS
CHECKED_IN_AT = "minihub_checked_in_at"
SESSION_READY = "minihub_session_ready"
DEFAULT_PING_IDLE_SECONDS = 1.0

# What a server answers about itself never changes while the process runs.
_server_data: dict[str, dict] = {}
_watched_pools: set[int] = set()
_watch_lock = threading.Lock()


def _in_transaction(dbapi_connection) -> bool:
    status = getattr(dbapi_connection, "server_status", None)
    return status is None or bool(status & SERVER_STATUS_IN_TRANS)


def _remember_checkin(dbapi_connection, connection_record) -> None:
    connection_record.info[CHECKED_IN_AT] = time.monotonic()


def _ping_after_idle(ping_idle_seconds: float):
    def on_checkout(dbapi_connection, connection_record, connection_proxy) -> None:
        checked_in_at = connection_record.info.get(CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at <= ping_idle_seconds:
            return  # new, or in use a moment ago
        try:
            dbapi_connection.ping(False)  # False: never reconnect behind the pool's back
        except Exception as error:
            # The pool replaces the connection and tries again.
            raise exc.DisconnectionError(str(error)) from error

    return on_checkout


class DatabaseWrapper(pooled.DatabaseWrapper):
    class SQLAlchemyDialect(pooled.DatabaseWrapper.SQLAlchemyDialect):
        def do_rollback(self, dbapi_connection) -> None:
            raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
            if _in_transaction(raw):
                super().do_rollback(dbapi_connection)

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self._watch_pool(pool_container.get(self.alias))
        return connection

    def _watch_pool(self, pool) -> None:
        with _watch_lock:
            if id(pool) in _watched_pools:
                return
            _watched_pools.add(id(pool))
        idle = float(self.settings_dict.get("POOL_PING_IDLE_SECONDS", DEFAULT_PING_IDLE_SECONDS))
        event.listen(pool, "checkin", _remember_checkin)
        event.listen(pool, "checkout", _ping_after_idle(idle))

    def init_connection_state(self):
        info = self.connection.info  # the pooled physical connection's own dict
        if not info.get(SESSION_READY):
            super().init_connection_state()
            info[SESSION_READY] = True

    @property
    def mysql_server_data(self):
        # Django caches this per connection object, and there is one per thread
        # (per greenlet under gevent): a query on every new client connection.
        data = _server_data.get(self.alias)
        if data is None:
            data = _server_data[self.alias] = pooled.DatabaseWrapper.mysql_server_data.func(self)
        return data
