"""ApacheBench with the seed's own flags: `ab -H 'Accept-Encoding: gzip' (-t T | -n N) -c C -r`.

ab speaks HTTP/1.0 without keep-alive, from one thread: a new connection per
request. Its "Failed requests" include "Length" failures: an answer whose body
length differs from the FIRST answer's counts as failed, even with status 200.
`-l` accepts variable lengths (dynamic pages).
"""

import re

from bench.loadgen.result import LoadResult
from bench.processes import run_measured

SEED_HEADERS = {"Accept-Encoding": "gzip"}
FAILED_KINDS = ("connect", "receive", "length", "exceptions")


class LoadFailed(RuntimeError):
    pass


def _number(pattern: str, output: str, default: float | None = None) -> float:
    match = re.search(pattern, output, re.MULTILINE)
    if match:
        return float(match.group(1))
    if default is None:
        raise LoadFailed(f"ab output has no {pattern!r}:\n{output[-2000:]}")
    return default


def _failed_by_kind(output: str) -> dict[str, int]:
    match = re.search(
        r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)", output
    )
    counts = [int(n) for n in match.groups()] if match else [0, 0, 0, 0]
    return dict(zip(FAILED_KINDS, counts, strict=True))


def _percentiles_ms(output: str) -> dict[str, float]:
    """ab's "Percentage of the requests served within a certain time (ms)" table."""
    table = {int(p): float(ms) for p, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", output, re.MULTILINE)}
    return {
        "p50": table.get(50, 0.0),
        "p90": table.get(90, 0.0),
        "p99": table.get(99, 0.0),
        "p999": table.get(100, 0.0),  # ab has no 99.9 %: its longest request
        "max": table.get(100, 0.0),
        "mean": _number(r"^Time per request:\s+([\d.]+) \[ms\] \(mean\)$", output, 0.0),
    }


def ab(
    url: str,
    *,
    concurrency: int,
    seconds: float | None = None,
    requests: int | None = None,
    variable_length: bool = False,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """`-t seconds` or `-n requests`, as the seed ran it; `variable_length` adds -l."""
    mode = ["-t", str(max(1, round(seconds)))] if seconds else ["-n", str(requests)]
    header_args = [
        arg
        for name, value in {**SEED_HEADERS, **(headers or {})}.items()
        for arg in ("-H", f"{name}: {value}")
    ]
    argv = ["ab", *header_args, *mode, "-c", str(concurrency), "-r", "-q"]
    if variable_length:
        argv.append("-l")
    finished = run_measured([*argv, url], timeout=(seconds or 60) + 120)
    output = finished.output
    complete = int(_number(r"^Complete requests:\s+(\d+)$", output))
    non_2xx = int(_number(r"^Non-2xx responses:\s+(\d+)$", output, 0))
    elapsed = _number(r"^Time taken for tests:\s+([\d.]+) seconds$", output)
    failed = _failed_by_kind(output)
    return LoadResult(
        tool="ab",
        requests=complete,
        seconds=elapsed,
        latency_ms=_percentiles_ms(output),
        # ab's connect/receive/exception failures are socket errors; "length" is not.
        socket_errors={
            "connect": failed["connect"],
            "read": failed["receive"] + failed["exceptions"],
            "write": 0,
            "timeout": 0,
        },
        # ab tells 2xx from the others only.
        statuses={"2xx": complete - non_2xx, **({"non2xx": non_2xx} if non_2xx else {})},
        client_cpu_pct=100 * finished.cpu_seconds / max(elapsed, 1e-6),
        extra={
            "command": " ".join(f"'{a}'" if " " in a else a for a in [*argv, url]),
            "failed_requests": int(_number(r"^Failed requests:\s+(\d+)$", output)),
            "failed_by_kind": failed,
            "ab_rps": _number(r"^Requests per second:\s+([\d.]+)", output),
        },
    )
