"""One measurement: a load run, with the server's and the machine's CPU, the server's peak
memory and the MariaDB connections in use recorded around it."""

from collections.abc import Callable
from dataclasses import dataclass

from bench.cpu import CpuWindow, wait_idle, wait_machine_quiet
from bench.dbconns import ConnectionSampler, ConnectionStats
from bench.loadgen.result import LoadResult
from bench.memory import MemoryPeak, TreeMemory

SETTLE_TIMEOUT_SECONDS = 60
# Per measured run; about 60 runs, so at most 3 minutes on a machine that stays busy.
MACHINE_QUIET_TIMEOUT_SECONDS = 3


@dataclass
class Measurement:
    configuration: str
    endpoint: str
    connections: int
    load: LoadResult
    server_cpu_pct: float
    client_cpu_pct: float
    # CPU used by everything else on the machine meanwhile (other people's work, the
    # harness): high values mean noisy figures.
    other_cpu_pct: float
    db: ConnectionStats
    memory_peak: TreeMemory
    # Waited before the run for the server to finish the previous run's leftovers.
    settle_seconds: float

    def to_json(self) -> dict:
        load = self.load.to_json()
        return {
            "configuration": self.configuration,
            "endpoint": self.endpoint,
            "connections": self.connections,
            "tool": load["tool"],
            "requests": load["requests"],
            "seconds": round(load["seconds"], 3),
            "rps": load["rps"],
            "latency_ms": {k: round(v, 3) for k, v in load["latency_ms"].items()},
            "errors": load["errors"],
            "error_total": load["error_total"],
            "statuses": load["statuses"],
            "server_cpu_pct": round(self.server_cpu_pct, 1),
            "client_cpu_pct": round(self.client_cpu_pct, 1),
            "other_cpu_pct": round(self.other_cpu_pct, 1),
            "db_connections_open_peak": self.db.open_peak,
            "db_connections_active_peak": self.db.active_peak,
            "db_connections_active_mean": round(self.db.active_mean, 1),
            "settle_seconds": round(self.settle_seconds, 2),
            "memory_peak": self.memory_peak.to_json(),
            **self.load.extra,
        }


def measure(
    run_load: Callable[[], LoadResult],
    *,
    configuration: str,
    endpoint: str,
    connections: int,
    server_pids: list[int],
    sampler: ConnectionSampler,
) -> Measurement:
    waited = wait_idle(server_pids, timeout=SETTLE_TIMEOUT_SECONDS)
    waited += wait_machine_quiet(timeout=MACHINE_QUIET_TIMEOUT_SECONDS)
    cpu = CpuWindow(server_pids)
    memory = MemoryPeak(server_pids)
    sampler.start()
    memory.start()
    cpu.start()
    try:
        load = run_load()
    finally:
        use = cpu.stop()
        memory_peak = memory.stop()
        db = sampler.stop()
    return Measurement(
        configuration=configuration,
        endpoint=endpoint,
        connections=connections,
        load=load,
        server_cpu_pct=use.server_pct,
        client_cpu_pct=load.client_cpu_pct,
        other_cpu_pct=max(0.0, use.machine_pct - use.server_pct - load.client_cpu_pct),
        db=db,
        memory_peak=memory_peak,
        settle_seconds=waited,
    )
