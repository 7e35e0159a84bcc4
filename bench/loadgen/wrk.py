"""wrk: closed-loop throughput and latency percentiles (HTTP/1.1 keep-alive, 2 threads)."""

import json
from pathlib import Path

from bench.loadgen.result import LoadResult
from bench.processes import run_measured

HERE = Path(__file__).resolve().parent
REPORT_SCRIPT = HERE / "wrk_report.lua"
BODIES_SCRIPT = HERE / "wrk_bodies.lua"
MARKER = "BENCH_JSON "
# An answer slower than this counts as a "timeout" error (wrk's own default is 2 s).
TIMEOUT_SECONDS = 10
MAX_THREADS = 2  # one per core; wrk shares the machine with the server


class LoadFailed(RuntimeError):
    pass


def _script(script_dir: Path, with_bodies: bool) -> Path:
    if not with_bodies:
        return REPORT_SCRIPT
    path = script_dir / "wrk_bodies_combined.lua"
    path.write_text(REPORT_SCRIPT.read_text() + BODIES_SCRIPT.read_text())
    return path


def wrk(
    url: str,
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    bodies_file: Path | None = None,
    script_dir: Path | None = None,
) -> LoadResult:
    """GET `url` (or POST each line of `bodies_file` once) over `connections` connections."""
    threads = min(MAX_THREADS, connections)
    header_args = [a for name, value in (headers or {}).items() for a in ("-H", f"{name}: {value}")]
    script = _script(script_dir or HERE, bodies_file is not None)
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={TIMEOUT_SECONDS}s",
        "-s",
        str(script),
        *header_args,
        url,
    ]
    if bodies_file is not None:
        argv += ["--", str(bodies_file), str(threads)]
    finished = run_measured(argv, timeout=seconds + TIMEOUT_SECONDS + 60)
    report = _report(finished.output)
    elapsed = report["duration_us"] / 1e6
    return LoadResult(
        tool="wrk",
        requests=report["requests"],
        seconds=elapsed,
        latency_ms={name: us / 1000 for name, us in report["latency_us"].items()},
        socket_errors={k: v for k, v in report["errors"].items() if k != "status"},
        statuses={str(status): n for status, n in report["statuses"].items()},
        client_cpu_pct=100 * finished.cpu_seconds / max(elapsed, 1e-6),
        extra={"threads_out_of_bodies": report["threads_out_of_bodies"]},
    )


def _report(output: str) -> dict:
    for line in output.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise LoadFailed(f"wrk printed no report:\n{output[-2000:]}")
