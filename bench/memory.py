"""A server's process tree from /proc: its memory, RSS per process (what `top` shows) and
PSS (RSS with each shared page divided among its sharers: the honest sum for forked
workers), and the MariaDB connections it holds (its TCP sockets to port 3306)."""

import dataclasses
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import descendants

SAMPLE_SECONDS = 0.5
MARIADB_PORT = 3306
TCP_ESTABLISHED = "01"


def _kib(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


@dataclass(frozen=True)
class TreeMemory:
    processes: int
    rss_mb_total: float
    rss_mb_max_process: float  # the largest process: a worker, after warm-up
    pss_mb_total: float
    mariadb_connections: int = 0

    def to_json(self) -> dict:
        return {
            "processes": self.processes,
            "mariadb_connections": self.mariadb_connections,
            "rss_mb_total": round(self.rss_mb_total, 1),
            "rss_mb_max_process": round(self.rss_mb_max_process, 1),
            "pss_mb_total": round(self.pss_mb_total, 1),
        }


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.scandir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(fd.path)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _mariadb_socket_inodes(port: int) -> set[str]:
    """Inodes of this machine's established TCP connections to MariaDB's port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == TCP_ESTABLISHED:
                inodes.add(fields[9])
    return inodes


def mariadb_connections(pids: list[int], port: int = MARIADB_PORT) -> int:
    """The established TCP connections these processes hold to MariaDB's port."""
    sockets = set().union(*(_socket_inodes(p) for p in pids)) if pids else set()
    return len(sockets & _mariadb_socket_inodes(port))


def tree_memory(pids: list[int]) -> TreeMemory:
    """These processes and their descendants (a server's master and workers)."""
    every = sorted({p for pid in pids for p in (pid, *descendants(pid))})
    rss = [_kib(Path(f"/proc/{p}/status"), "VmRSS:") / 1024 for p in every]
    pss = [_kib(Path(f"/proc/{p}/smaps_rollup"), "Pss:") / 1024 for p in every]
    return TreeMemory(
        processes=len(every),
        rss_mb_total=sum(rss),
        rss_mb_max_process=max(rss, default=0.0),
        pss_mb_total=sum(pss),
        mariadb_connections=mariadb_connections(every),
    )


class MemoryPeak:
    """The largest tree_memory() seen between start() and stop(), sampled twice a second."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self._peak = TreeMemory(0, 0.0, 0.0, 0.0)
        self._stop = threading.Event()
        self.connections_peak = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while True:
            now = tree_memory(self.pids)
            if now.pss_mb_total > self._peak.pss_mb_total:
                self._peak = now
            self.connections_peak = max(self.connections_peak, now.mariadb_connections)
            if self._stop.wait(SAMPLE_SECONDS):
                return

    def stop(self) -> TreeMemory:
        self._stop.set()
        self._thread.join()
        return dataclasses.replace(self._peak, mariadb_connections=self.connections_peak)
