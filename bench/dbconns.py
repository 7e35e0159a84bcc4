"""MariaDB connections in use on the bench's databases, sampled while a load runs."""

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import pymysql

SAMPLE_INTERVAL_SECONDS = 0.25


def connect(url: str, *, database: str | None = None) -> pymysql.Connection:
    """A plain PyMySQL connection from a mysql:// URL (the bench's own bookkeeping)."""
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "",
        password=parts.password or "",
        database=database,
        autocommit=True,
        connect_timeout=5,
    )


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@dataclass(frozen=True)
class ConnectionStats:
    open_peak: int  # connected, idle in a pool or not
    active_peak: int  # running a statement at that moment
    active_mean: float


class ConnectionSampler:
    """Counts the connections on the given databases, open and active, a few times a second.

    The user needs the PROCESS privilege to see other sessions (scripts/ensure-services.sh
    grants it); the sampler's own connection has no database and is not counted.
    """

    def __init__(self, url: str, databases: list[str]):
        self.url = url
        self.databases = databases
        self._samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _count(self, connection: pymysql.Connection) -> tuple[int, int]:
        placeholders = ", ".join(["%s"] * len(self.databases))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), COALESCE(SUM(COMMAND <> 'Sleep'), 0) "  # noqa: S608 - placeholders only
                f"FROM information_schema.PROCESSLIST WHERE DB IN ({placeholders})",
                self.databases,
            )
            opened, active = cursor.fetchone()
            return int(opened), int(active)

    def _run(self, connection: pymysql.Connection) -> None:
        with connection:
            while not self._stop.is_set():
                self._samples.append(self._count(connection))
                self._stop.wait(SAMPLE_INTERVAL_SECONDS)

    def start(self) -> None:
        self._samples = []
        self._stop.clear()
        connection = connect(self.url)
        self._thread = threading.Thread(target=self._run, args=(connection,), daemon=True)
        self._thread.start()

    def stop(self) -> ConnectionStats:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        samples = self._samples or [(0, 0)]
        active = [a for _o, a in samples]
        return ConnectionStats(
            open_peak=max(o for o, _a in samples),
            active_peak=max(active),
            active_mean=sum(active) / len(active),
        )
