"""`python -m bench [--quick] [--profile] [--output DIR]`: run everything, write the results.

Every process it starts (gunicorn masters, nginx, the fake WeChat server, load
generators) is stopped on the way out, on success, error or Ctrl-C; the shared
MariaDB and Redis servers are only used, never stopped.
"""

import argparse
import datetime
import functools
import shutil
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from bench import machine, plots, report, targets
from bench.dbconns import ConnectionSampler
from bench.environment import (
    DEFAULT_ADMIN_DATABASE_URL,
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    Stores,
)
from bench.outputs import INDEX, Outputs, previous_run
from bench.plan import FULL, HEADLINE_CONNECTIONS, QUICK, Plan
from bench.probes import SIDE_BY_SIDE, SWEEP
from bench.processes import PROJECT_DIR, Processes, raise_fd_limit
from bench.progress import Progress
from bench.stack import CONFIGURATIONS, GROUPS, prepare, running, web_servers
from bench.steps import MATRIX_ENDPOINT, Steps

DEFAULT_OUTPUT = PROJECT_DIR / "bench" / "results"
# Memory, idle and at the sweep's largest concurrency: the web tiers (gunicorn, shipped, and
# granian), and the floor.
MEMORY_MEASURED = ("stock-django", "minihub", "minihub-granian")
# PROFILE=1: the album endpoint (the example read) and /ping (where MiniHub's own layers show).
PROFILED = {"albums": "profile", "ping": "profile_ping"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under 2 minutes, for smoke use")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy profiles of /albums/<id> and /ping"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results directory")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--admin-database-url", default=DEFAULT_ADMIN_DATABASE_URL)
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help="a Redis db of the bench's own: emptied"
    )
    return parser.parse_args(argv)


def _command(args: argparse.Namespace) -> str:
    flags = (" QUICK=1" if args.quick else "") + (" PROFILE=1" if args.profile else "")
    return f"make bench{flags}"


def _stop_on_sigterm() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C, through every `finally` that stops a process."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def _in_report_order(side_by_side: list[dict], lines: dict[str, list[dict]]):
    order = {pair: n for n, pair in enumerate(SIDE_BY_SIDE)}
    side_by_side = sorted(side_by_side, key=lambda r: order[(r["configuration"], r["endpoint"])])
    labels = [f"{configuration} {endpoint}" for configuration, endpoint in SWEEP]
    return side_by_side, {label: lines[label] for label in labels}


def _measure(
    args: argparse.Namespace, *, steps: Steps, running, outputs: Outputs, run_dir: Path
) -> dict:
    """Every server group in turn: side by side, idle memory and sweep; ab, open loop and
    profile on MiniHub; then the matrix."""
    side_by_side, lines, memory = [], {}, {}
    with running("bare-wsgi"):
        side_by_side += steps.side_by_side(GROUPS["bare-wsgi"])
        lines.update(steps.sweep(GROUPS["bare-wsgi"]))
    with running("minihub"):
        side_by_side += steps.side_by_side(GROUPS["minihub"])
        figures_cost = steps.figures_cost()
        memory = steps.memory_idle(MEMORY_MEASURED)
        lines.update(steps.sweep(GROUPS["minihub"]))
        ab_runs = steps.ab_study()
        constant_rate = steps.constant_rate(side_by_side)
        profiles = [
            steps.profile(endpoint, svg=outputs.path(kind), raw=run_dir / f"{kind}.txt")
            for endpoint, kind in PROFILED.items()
            if args.profile
        ]
    side_by_side, lines = _in_report_order(side_by_side, lines)
    sweep = {"concurrency": list(steps.plan.sweep_concurrency), "lines": lines}
    return {
        "side_by_side": side_by_side,
        "sweep": sweep,
        "ab": ab_runs,
        "constant_rate": constant_rate,
        "profiles": profiles,
        "figures_cost": figures_cost,
        "memory_idle": memory,
        "matrix": steps.matrix(),
        "matrix_endpoint": MATRIX_ENDPOINT,
        "matrix_connections": HEADLINE_CONNECTIONS,
        "targets": targets.evaluate(side_by_side, sweep, figures_cost, memory),
    }


def collect(
    args: argparse.Namespace,
    *,
    plan: Plan,
    stores: Stores,
    run_dir: Path,
    outputs: Outputs,
    progress: Progress,
) -> dict:
    """Runs every step; the results JSON (without the report-only fields)."""
    progress.say(f"{plan.mode} run; results in {outputs.directory}; logs in {run_dir}")
    described = machine.describe(database_url=stores.database_url, redis_url=stores.redis_url)
    with Processes(run_dir / "log") as processes:
        stack = prepare(
            processes,
            stores=stores,
            run_dir=run_dir,
            progress=progress,
            albums=plan.albums,
            users=plan.login_users,
        )
        steps = Steps(
            plan=plan,
            stack=stack,
            processes=processes,
            progress=progress,
            sampler=ConnectionSampler(stores.database_url, stores.database_names),
            run_dir=run_dir,
        )
        measured = _measure(
            args,
            steps=steps,
            running=functools.partial(running, stack, processes, progress),
            outputs=outputs,
            run_dir=run_dir,
        )
    described["load_average_at_end"] = machine.load_average()
    return {
        "schema": 1,
        "mode": plan.mode,
        "command": _command(args),
        "machine": described,
        "plan": plan.to_json(),
        "databases": stores.database_names,
        "redis_url": stores.redis_url_shown,
        "configurations": CONFIGURATIONS,
        "web_servers": web_servers(),
        "data": {"appid": stack.data.appid, "album_id": stack.data.album_id},
        **measured,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    stores = Stores(args.database_url, args.admin_database_url, args.redis_url)
    started = datetime.datetime.now().astimezone()
    outputs = Outputs(args.output, stem=f"{started.date().isoformat()}-{machine.host_name()}")
    run_dir = Path(tempfile.mkdtemp(prefix="minihub-bench-"))
    progress = Progress()
    raise_fd_limit()
    _stop_on_sigterm()
    try:
        previous = previous_run(args.output, mode=plan.mode)
        results = collect(
            args, plan=plan, stores=stores, run_dir=run_dir, outputs=outputs, progress=progress
        )
    except KeyboardInterrupt:
        progress.say(f"interrupted: every process the bench started is stopped; logs in {run_dir}")
        return 130
    except Exception:
        traceback.print_exc()
        progress.say(f"failed: every process the bench started is stopped; logs in {run_dir}")
        return 1
    results.update(
        date=started.date().isoformat(),
        started_at=started.isoformat(timespec="seconds"),
        duration_s=round(progress.elapsed, 1),
        json_name=outputs.path("json").name,
        previous=previous,
    )
    outputs.write(results, plots=plots, report=report)
    shutil.rmtree(run_dir, ignore_errors=True)
    progress.say(f"done: {outputs.path('md')} (listed in {outputs.directory / INDEX})")
    for target in results["targets"]:
        print(f"  {'met   ' if target['met'] else 'MISSED'} {target['name']}: {target['value']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
