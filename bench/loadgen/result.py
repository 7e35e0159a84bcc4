"""What every load generator answers, in the same units."""

import math
from dataclasses import asdict, dataclass, field

SOCKET_ERROR_KINDS = ("connect", "read", "write", "timeout")


@dataclass
class LoadResult:
    tool: str
    requests: int  # answers received, whatever their status
    seconds: float
    latency_ms: dict[str, float]  # p50, p90, p99, p999, max, mean
    socket_errors: dict[str, int]  # by kind: connect, read, write, timeout
    statuses: dict[str, int]  # answers by HTTP status
    client_cpu_pct: float
    extra: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))

    @property
    def errors(self) -> dict[str, int]:
        """Errors by kind: socket errors, then each non-2xx status as `http_<status>`."""
        errors = {kind: self.socket_errors.get(kind, 0) for kind in SOCKET_ERROR_KINDS}
        errors.update(
            {
                f"http_{status}": n
                for status, n in self.statuses.items()
                if not status.startswith("2")
            }
        )
        return errors

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> dict:
        """Flat: the generator's extra figures sit beside the common ones."""
        fields = asdict(self)
        return {
            **{k: v for k, v in fields.items() if k != "extra"},
            **self.extra,
            "rps": round(self.rps, 1),
            "errors": self.errors,
            "error_total": self.error_total,
        }


def percentiles_ms(latencies_s: list[float]) -> dict[str, float]:
    """p50/p90/p99/p999/max/mean in milliseconds of latencies in seconds (nearest rank)."""
    if not latencies_s:
        return dict.fromkeys(("p50", "p90", "p99", "p999", "max", "mean"), 0.0)
    ordered = sorted(latencies_s)

    def rank(p: float) -> float:
        index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
        return 1000 * ordered[index]

    return {
        "p50": rank(50),
        "p90": rank(90),
        "p99": rank(99),
        "p999": rank(99.9),
        "max": 1000 * ordered[-1],
        "mean": 1000 * sum(ordered) / len(ordered),
    }
