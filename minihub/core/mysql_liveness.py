"""Is a MySQL/MariaDB connection between requests still alive? Asked without a round trip
where possible: shared by the pooled and the persistent engines."""

import select
import sys


def _pymysql_connection_class():
    connections = sys.modules.get("pymysql.connections")  # not imported: not PyMySQL
    return connections.Connection if connections is not None else None


def is_pymysql_module(database_module) -> bool:
    """Is Django's MySQL backend running on PyMySQL (installed as MySQLdb)?"""
    connection_class = _pymysql_connection_class()
    module_class = getattr(database_module, "Connection", None)
    return connection_class is not None and module_class is connection_class


def _is_pymysql(dbapi_connection) -> bool:
    connection_class = _pymysql_connection_class()
    return connection_class is not None and isinstance(dbapi_connection, connection_class)


def _socket_fileno(dbapi_connection) -> int | None:
    if _is_pymysql(dbapi_connection):
        sock = getattr(dbapi_connection, "_sock", None)
        return sock.fileno() if sock is not None else None
    try:
        return dbapi_connection.fileno()  # mysqlclient
    except Exception:  # closed: the driver refuses
        return None


def _os_poll():
    """select.poll, the operating system's even where gevent has patched it (gevent's
    own never reports readiness within a zero timeout)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("select"):
        return monkey.get_original("select", "poll")()
    return select.poll()


def closed_by_server(dbapi_connection) -> bool:
    """A pooled connection between requests has nothing to read; anything there
    (end of file, an error packet) means the server has closed it."""
    fileno = _socket_fileno(dbapi_connection)
    if fileno is None or fileno < 0:
        return True
    poller = _os_poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def ping_without_reconnect(dbapi_connection) -> None:
    """Ping without reconnecting behind the pool's back: PyMySQL reconnects unless told
    not to; mysqlclient does not, and warns when told."""
    if _is_pymysql(dbapi_connection):
        dbapi_connection.ping(False)
    else:
        dbapi_connection.ping()
