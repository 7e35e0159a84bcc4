"""CPU time from /proc: of a server's whole process tree, and of the machine.

Percentages are of one core, as `top` shows them: 200 % is both cores of a
2-core machine busy.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return text[text.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return children


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`."""
    below = []
    for child in _children(pid):
        below += [child, *descendants(child)]
    return below


def tree_cpu_seconds(pid: int) -> float:
    """User + system time of a process, its reaped children (gunicorn's recycled
    workers) and its live descendants."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 after the name.
    own = sum(int(value) for value in fields[11:15]) / CLOCK_TICKS
    return own + sum(tree_cpu_seconds(child) for child in _children(pid))


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, already counted in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def _wait_below(busy_seconds, *, timeout: float, busy_pct: float) -> float:
    """Wait until `busy_seconds()` (CPU seconds used so far) grows by less than `busy_pct` %
    of a core over a quarter-second window, or `timeout` passes; the seconds waited."""
    started = time.monotonic()
    window = 0.25
    while time.monotonic() - started < timeout:
        before = busy_seconds()
        time.sleep(window)
        if 100 * (busy_seconds() - before) / window < busy_pct:
            break
    return time.monotonic() - started


def wait_idle(pids: list[int], *, timeout: float, busy_pct: float = 10.0) -> float:
    """Wait until these processes use less than `busy_pct` % of a core (work left over from
    the previous run: answers to clients that are gone); the seconds waited."""
    return _wait_below(
        lambda: sum(tree_cpu_seconds(pid) for pid in pids), timeout=timeout, busy_pct=busy_pct
    )


def wait_machine_quiet(*, timeout: float, busy_pct: float = 30.0) -> float:
    """Wait, briefly, until the whole machine uses less than `busy_pct` % of a core (a
    database's background work, another program's burst); the seconds waited. Bounded:
    a machine that stays busy is measured anyway and its *other CPU* column says so."""
    return _wait_below(lambda: machine_cpu_seconds()[0], timeout=timeout, busy_pct=busy_pct)


@dataclass(frozen=True)
class CpuUse:
    server_pct: float
    machine_pct: float


class CpuWindow:
    """CPU used by the server processes and by the whole machine between start() and stop()."""

    def __init__(self, server_pids: list[int]):
        self.server_pids = server_pids

    def start(self) -> None:
        self._wall = time.monotonic()
        self._server = sum(tree_cpu_seconds(pid) for pid in self.server_pids)
        self._machine = machine_cpu_seconds()[0]

    def stop(self) -> CpuUse:
        wall = max(time.monotonic() - self._wall, 1e-6)
        server = sum(tree_cpu_seconds(pid) for pid in self.server_pids) - self._server
        machine = machine_cpu_seconds()[0] - self._machine
        return CpuUse(server_pct=100 * server / wall, machine_pct=100 * machine / wall)
