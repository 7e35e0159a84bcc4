"""Django's MySQL backend through django-db-connection-pool, with one round trip per query.

The stock pooled backend spends three extra round trips on every request: a ping
at checkout, `SET SESSION TRANSACTION ISOLATION LEVEL` when Django "connects", and
a ROLLBACK at checkin. Each costs about as much as the query itself. Here:

- at checkout, a connection the server has closed (a restart, KILL, wait_timeout)
  is found without a round trip: its socket is readable (end of file, or the
  server's last error packet) where a healthy idle one has nothing to read; it is
  replaced before use. One left idle for longer than POOL_PING_IDLE_SECONDS is
  also pinged (a dead peer that sent nothing). Under load no request pays a ping;
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

from minihub.core.mysql_liveness import closed_by_server, ping_without_reconnect

SERVER_STATUS_IN_TRANS = 1  # MySQL protocol: SERVER_STATUS_IN_TRANS
CHECKED_IN_AT = "minihub_checked_in_at"
SESSION_READY = "minihub_session_ready"
DEFAULT_PING_IDLE_SECONDS = 1.0

# What a server answers about itself never changes while the process runs.
_server_data: dict[str, dict] = {}
_watch_lock = threading.Lock()


def _needs_rollback(dbapi_connection) -> bool:
    """False only when PyMySQL's connection is open and MariaDB's last reply said no
    transaction is open. A closed one is rolled back too: that fails, and the pool
    drops it instead of handing a dead connection to the next request."""
    status = getattr(dbapi_connection, "server_status", None)
    if status is None or not getattr(dbapi_connection, "open", False):
        return True
    return bool(status & SERVER_STATUS_IN_TRANS)


def _remember_checkin(dbapi_connection, connection_record) -> None:
    connection_record.info[CHECKED_IN_AT] = time.monotonic()


def _ping_after_idle(ping_idle_seconds: float):
    def on_checkout(dbapi_connection, connection_record, connection_proxy) -> None:
        checked_in_at = connection_record.info.get(CHECKED_IN_AT)
        if checked_in_at is None:
            return  # new
        # Either way the pool replaces the connection and tries again.
        if closed_by_server(dbapi_connection):
            raise exc.DisconnectionError("closed by the server")
        if time.monotonic() - checked_in_at <= ping_idle_seconds:
            return  # in use a moment ago
        try:
            ping_without_reconnect(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(str(error)) from error

    return on_checkout


class DatabaseWrapper(pooled.DatabaseWrapper):
    class SQLAlchemyDialect(pooled.DatabaseWrapper.SQLAlchemyDialect):
        def do_rollback(self, dbapi_connection) -> None:
            raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
            if _needs_rollback(raw):
                super().do_rollback(dbapi_connection)

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self._watch_pool(pool_container.get(self.alias))
        return connection

    def _watch_pool(self, pool) -> None:
        if getattr(self, "_watched_pool", None) is pool:
            return  # this thread's connection object has seen this pool already
        self._watched_pool = pool
        idle = float(self.settings_dict.get("POOL_PING_IDLE_SECONDS", DEFAULT_PING_IDLE_SECONDS))
        with _watch_lock:
            if event.contains(pool, "checkin", _remember_checkin):
                return
            event.listen(pool, "checkin", _remember_checkin)
            event.listen(pool, "checkout", _ping_after_idle(idle))

    def is_usable(self):
        # Django's pings with the driver's default, which for PyMySQL reconnects in
        # place: the session settings below would not be sent again.
        try:
            ping_without_reconnect(self.connection.driver_connection)
        except self.Database.Error:
            return False
        return True

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
