"""Which read replicas get reads: checked in the background, by one thread per process.

The thread starts at a process's first routed read (and again in a forked child,
since threads do not survive a fork). Every CHECK_INTERVAL_SECONDS it asks each
replica how far behind its primary it is (`SHOW REPLICA STATUS`). A replica
leaves the rotation when it does not answer, when its replication is stopped
or broken (no lag figure: its data is aging with no bound), or when it is more
than DATABASE_REPLICA_MAX_LAG_SECONDS behind; it comes back at the first check
that finds it within the limit. A server that is not a replica at all (no
replication status) is trusted as the operator configured it.

When the primary stops, the replica's IO thread loses it and the lag figure
goes NULL although the replica holds everything it received. A replica whose
SQL thread runs and has applied all its IO thread received keeps the freshness
measured at its last in-step check: it stays in rotation while that data is at
most DATABASE_REPLICA_MAX_LAG_SECONDS old (the lag then plus the time since),
so the bound on staleness is the same as with a running primary.

Requests only read the last verdict. The first read of a process waits up to
FIRST_ROUND_WAIT_SECONDS for the first round, so that a new worker does not
start with every read on the primary; before the first verdict a replica gets
no reads. The check needs the REPLICA MONITOR privilege on the replica (see
docs/data-tier.md); without it a replica stays out (a server that never replicated
is still recognised as not a replica).
"""

import logging
import os
import threading
import time
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

REPLICA_PREFIX = "replica_"  # the aliases of DATABASE_REPLICA_URLS
CHECK_INTERVAL_SECONDS = 1.0
FIRST_ROUND_WAIT_SECONDS = 1.0
CHECK_TIMEOUT_SECONDS = 2
DEFAULT_MAX_LAG_SECONDS = 10.0
# MariaDB and MySQL < 8.0.22 say Master, MySQL 8.0.22+ says Source.
LAG_COLUMNS = ("Seconds_Behind_Master", "Seconds_Behind_Source")


@dataclass(frozen=True)
class ReplicaState:
    in_rotation: bool
    lag_seconds: float | None = None
    reason: str = "not checked yet"
    # time.monotonic() up to which the replica's data is known complete (check time - lag).
    current_as_of: float | None = None


def _column(status: dict, *names: str):
    """MariaDB and MySQL < 8.0.22 say Master/Slave, MySQL 8.0.22+ Source/Replica."""
    return next((status[name] for name in names if name in status), None)


def applied_all_received(status: dict) -> bool:
    """The SQL thread runs and has executed every event the IO thread wrote to the relay log."""
    return (
        _column(status, "Slave_SQL_Running", "Replica_SQL_Running") == "Yes"
        and _column(status, "Relay_Master_Log_File", "Relay_Source_Log_File")
        == _column(status, "Master_Log_File", "Source_Log_File")
        and _column(status, "Exec_Master_Log_Pos", "Exec_Source_Log_Pos")
        == _column(status, "Read_Master_Log_Pos", "Read_Source_Log_Pos")
    )


def lag_verdict(
    status: dict | None,
    max_lag_seconds: float,
    *,
    previous: ReplicaState | None = None,
    now: float | None = None,
) -> ReplicaState:
    """The verdict on one row of SHOW REPLICA STATUS (None: not a replica), given the
    previous verdict (the freshness it measured carries over while the primary is lost)."""
    now = time.monotonic() if now is None else now
    if status is None:
        return ReplicaState(in_rotation=True, reason="not a replica: no lag to measure")
    lag = _column(status, *LAG_COLUMNS)
    if lag is None:
        return _without_lag_figure(status, max_lag_seconds, previous, now)
    lag = float(lag)
    current_as_of = now - lag
    if lag > max_lag_seconds:
        return ReplicaState(False, lag, "lagging", current_as_of)
    return ReplicaState(True, lag, "in step", current_as_of)


def _without_lag_figure(
    status: dict, max_lag_seconds: float, previous: ReplicaState | None, now: float
) -> ReplicaState:
    if not applied_all_received(status):
        return ReplicaState(in_rotation=False, reason="replication stopped or broken")
    current_as_of = previous.current_as_of if previous is not None else None
    if current_as_of is None:
        return ReplicaState(
            in_rotation=False, reason="primary unreachable, replica's freshness unknown"
        )
    staleness = now - current_as_of
    if staleness > max_lag_seconds:
        return ReplicaState(False, staleness, "primary unreachable too long", current_as_of)
    return ReplicaState(True, staleness, "primary unreachable, all received applied", current_as_of)


def _connect(alias: str):
    import MySQLdb  # mysqlclient, or PyMySQL installed under its name (DATABASE_DRIVER)

    config = settings.DATABASES[alias]
    return MySQLdb.connect(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 3306),
        user=config["USER"],
        password=config["PASSWORD"],
        database=config["NAME"],
        connect_timeout=CHECK_TIMEOUT_SECONDS,
        read_timeout=CHECK_TIMEOUT_SECONDS,
    )


ACCESS_DENIED = 1227  # ER_SPECIFIC_ACCESS_DENIED_ERROR: no REPLICA MONITOR privilege


def _replication_status(connection) -> dict | None:
    with connection.cursor() as cursor:
        try:
            cursor.execute("SHOW REPLICA STATUS")
        except Exception as exc:
            if exc.args[:1] == (ACCESS_DENIED,) and _never_replicated(cursor):
                return None
            raise
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([column[0] for column in cursor.description], row, strict=True))


def _never_replicated(cursor) -> bool:
    """Without the privilege, MariaDB still tells a server that never replicated (no GTID
    position as a replica, no replication thread running) from a replica."""
    cursor.execute("SELECT @@global.gtid_slave_pos")
    (position,) = cursor.fetchone()
    cursor.execute("SHOW GLOBAL STATUS LIKE 'Slaves_running'")
    (_name, running) = cursor.fetchone()
    return not position and str(running) == "0"


class ReplicaMonitor:
    """The verdicts of one process, refreshed by its checker thread."""

    def __init__(self, aliases: list[str], max_lag_seconds: float):
        self.aliases = aliases
        self.max_lag_seconds = max_lag_seconds
        self.states = {alias: ReplicaState(in_rotation=False) for alias in aliases}
        self.first_round = threading.Event()
        self.stopped = threading.Event()
        self._connections: dict = {}

    def in_rotation(self) -> list[str]:
        return [alias for alias, state in self.states.items() if state.in_rotation]

    def check(self, alias: str) -> ReplicaState:
        previous = self.states[alias]
        try:
            if alias not in self._connections:
                self._connections[alias] = _connect(alias)
            status = _replication_status(self._connections[alias])
        except Exception as exc:  # any failure to answer takes the replica out
            stale_connection = self._connections.pop(alias, None)
            if stale_connection is not None:
                _close_quietly(stale_connection)
            return ReplicaState(in_rotation=False, reason=f"{type(exc).__name__}: {exc}")
        return lag_verdict(status, self.max_lag_seconds, previous=previous)

    def check_all(self) -> None:
        for alias in self.aliases:
            state = self.check(alias)
            previous = self.states[alias]
            if state.in_rotation != previous.in_rotation:
                logger.warning(
                    "replica %s %s rotation: %s (lag %s s)",
                    alias,
                    "back in" if state.in_rotation else "out of",
                    state.reason,
                    state.lag_seconds,
                )
            self.states[alias] = state
        self.first_round.set()

    def run(self) -> None:
        """Checks until stopped (only when replaced: the thread lives with the process)."""
        while not self.stopped.is_set():
            self.check_all()
            self.stopped.wait(CHECK_INTERVAL_SECONDS)
        self.close()

    def close(self) -> None:
        for connection in self._connections.values():
            _close_quietly(connection)
        self._connections.clear()


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # already broken: nothing left to close
        logger.debug("closing a replica check connection failed", exc_info=True)


def max_lag_seconds() -> float:
    return getattr(settings, "DATABASE_REPLICA_MAX_LAG_SECONDS", DEFAULT_MAX_LAG_SECONDS)


_monitor: ReplicaMonitor | None = None
_monitor_pid: int | None = None
_monitor_lock = threading.Lock()


def replica_monitor(aliases: list[str]) -> ReplicaMonitor:
    """This process's monitor of `aliases`, started on first use (and after a fork)."""
    global _monitor, _monitor_pid
    monitor = _monitor
    if monitor is not None and _monitor_pid == os.getpid() and monitor.aliases == aliases:
        return monitor
    with _monitor_lock:
        if _monitor is None or _monitor_pid != os.getpid() or _monitor.aliases != aliases:
            if _monitor is not None and _monitor_pid == os.getpid():
                _monitor.stopped.set()  # other replicas configured (tests override settings)
            _monitor = ReplicaMonitor(aliases, max_lag_seconds())
            _monitor_pid = os.getpid()
            threading.Thread(target=_monitor.run, name="replica-lag-checker", daemon=True).start()
            _monitor.first_round.wait(FIRST_ROUND_WAIT_SECONDS)
        return _monitor


def replicas_in_rotation(aliases: list[str]) -> list[str]:
    return replica_monitor(aliases).in_rotation() if aliases else []
