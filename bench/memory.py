"""Memory of a server's process tree from /proc: RSS per process (what `top` shows) and PSS
(RSS with each shared page divided among its sharers: the honest sum for forked workers)."""

import threading
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import descendants

SAMPLE_SECONDS = 0.5


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

    def to_json(self) -> dict:
        return {
            "processes": self.processes,
            "rss_mb_total": round(self.rss_mb_total, 1),
            "rss_mb_max_process": round(self.rss_mb_max_process, 1),
            "pss_mb_total": round(self.pss_mb_total, 1),
        }


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
    )


class MemoryPeak:
    """The largest tree_memory() seen between start() and stop(), sampled twice a second."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self._peak = TreeMemory(0, 0.0, 0.0, 0.0)
        self._stop = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while True:
            now = tree_memory(self.pids)
            if now.pss_mb_total > self._peak.pss_mb_total:
                self._peak = now
            if self._stop.wait(SAMPLE_SECONDS):
                return

    def stop(self) -> TreeMemory:
        self._stop.set()
        self._thread.join()
        return self._peak
