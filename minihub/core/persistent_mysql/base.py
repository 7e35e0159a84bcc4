"""Django's MySQL backend with persistent connections, checked without a round trip.

Under gunicorn's gthread workers and granian's blocking threads each thread keeps
its own connection (CONN_MAX_AGE): connections are already bounded by processes
x threads, and a pool in front of them would only add a checkout to every
request. Django's own health check (CONN_HEALTH_CHECKS) pings before the first
query of every request, a round trip each time. Here, as in the pooled engine:

- a connection the server has closed (a restart, KILL, wait_timeout) is found
  without a round trip, its socket being readable, and replaced before use;
- one unused for longer than PING_IDLE_SECONDS is pinged (a peer that died
  silently), without PyMySQL's silent reconnect;
- one used a moment ago is used as it is: under load no request pays a ping;
- a thread that ends closes its connection then and there: granian retires idle
  blocking threads and starts new ones, and a Django connection (full of
  reference cycles) would otherwise hold its MariaDB session until the garbage
  collector's next full pass.

ENGINE = "minihub.core.persistent_mysql"; config/settings/database.py sets it up.
"""

import contextlib
import threading
import time

from django.db.backends.mysql import base as mysql

from minihub.core import pymysql_tls
from minihub.core.mysql_liveness import (
    closed_by_server,
    is_pymysql_module,
    ping_without_reconnect,
)

DEFAULT_PING_IDLE_SECONDS = 1.0

# Per thread: alias -> _CloseWithThread. Python drops a thread's values when the thread ends.
_thread_connections = threading.local()


class _CloseWithThread:
    """Holds a thread's DB-API connection (no reference cycle: freed the moment its
    thread ends) and closes it then."""

    __slots__ = ("dbapi_connection",)

    def __init__(self, dbapi_connection):
        self.dbapi_connection = dbapi_connection

    def __del__(self):
        with contextlib.suppress(Exception):  # already closed by Django, or the server gone
            self.dbapi_connection.close()


class DatabaseWrapper(mysql.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.last_used_at = 0.0
        self.ping_idle_seconds = float(
            self.settings_dict.get("PING_IDLE_SECONDS", DEFAULT_PING_IDLE_SECONDS)
        )

    def get_new_connection(self, conn_params):
        if is_pymysql_module(self.Database):
            dbapi_connection = pymysql_tls.Connection(**conn_params)  # one TLS context
        else:
            dbapi_connection = super().get_new_connection(conn_params)  # mysqlclient
        # Replaces (and so closes) the connection this thread held before under the alias.
        closers = _thread_connections.__dict__.setdefault("by_alias", {})
        closers[self.alias] = _CloseWithThread(dbapi_connection)
        return dbapi_connection

    def close_if_health_check_failed(self):
        """Django calls this before the first query of each request."""
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        idle = time.monotonic() - self.last_used_at > self.ping_idle_seconds
        if closed_by_server(self.connection) or (idle and not self.is_usable()):
            self.close()
        self.health_check_done = True

    def create_cursor(self, name=None):
        self.last_used_at = time.monotonic()
        return super().create_cursor(name)

    def is_usable(self):
        # Django's ping reconnects in place under PyMySQL: the session settings of
        # init_connection_state would not be sent again.
        try:
            ping_without_reconnect(self.connection)
        except self.Database.Error:
            return False
        return True
