"""The parts of a bench run, each answering JSON for the results file."""

import importlib.util
import statistics
from pathlib import Path

from bench import profiling, servers
from bench.abstudy import Listeners, ab_run
from bench.cpu import wait_idle
from bench.dbconns import ConnectionSampler
from bench.loadgen.openloop import open_loop
from bench.loadgen.wrk import wrk
from bench.login_codes import write_login_bodies
from bench.measure import SETTLE_TIMEOUT_SECONDS, measure
from bench.memory import tree_memory
from bench.plan import HEADLINE_CONNECTIONS, Plan
from bench.probes import ALTERNATED, SIDE_BY_SIDE, SWEEP, Probe, probe
from bench.processes import Processes
from bench.progress import Progress, summary
from bench.stack import Stack

DRIVERS = ("pymysql", "mysqlclient")
WORKER_CLASSES = ("gevent", "gthread", "sync")
SHIPPED = ("pymysql", "gthread")  # deploy/gunicorn.conf.py's defaults
GEVENT_POOL_SIZE = 10
DRIVER_MODULES = {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}
MATRIX_ENDPOINT = "albums"
# Codes for the login run: its rate cannot beat /me's (a login does all /me does and more).
LOGIN_CODE_MARGIN = 1.3


def median_of_rounds(runs: list[dict]) -> dict:
    """The run with the median throughput, carrying every round's figures; errors are the
    sum over the rounds (one failed request in any round counts)."""
    ordered = sorted(runs, key=lambda run: run["rps"])
    result = dict(ordered[(len(ordered) - 1) // 2])
    result["rps"] = statistics.median(run["rps"] for run in runs)
    result["rounds"] = [
        {"rps": run["rps"], "p99_ms": run["latency_ms"]["p99"], "error_total": run["error_total"]}
        for run in runs
    ]
    result["error_total"] = sum(run["error_total"] for run in runs)
    result["errors"] = {
        kind: sum(run["errors"].get(kind, 0) for run in runs)
        for kind in sorted({kind for run in runs for kind in run["errors"]})
    }
    return result


class Steps:
    def __init__(
        self,
        *,
        plan: Plan,
        stack: Stack,
        processes: Processes,
        progress: Progress,
        sampler: ConnectionSampler,
        run_dir: Path,
    ):
        self.plan = plan
        self.stack = stack
        self.processes = processes
        self.progress = progress
        self.sampler = sampler
        self.run_dir = run_dir
        self._warm: set[tuple[str, str]] = set()

    # --- helpers -------------------------------------------------------------------
    def _wrk(self, target: Probe, *, connections: int, seconds: int, bodies: Path | None = None):
        return self._measure(
            target,
            connections,
            lambda: wrk(
                target.url,
                connections=connections,
                seconds=seconds,
                headers=target.headers,
                bodies_file=bodies,
                script_dir=self.run_dir,
            ),
        )

    def _measure(self, target: Probe, connections: int, run_load) -> dict:
        return measure(
            run_load,
            configuration=target.configuration,
            endpoint=target.endpoint,
            connections=connections,
            server_pids=target.server.pids,
            sampler=self.sampler,
        ).to_json()

    def _warm_up(self, target: Probe, seconds: int) -> None:
        """Once per server and endpoint: the workers' first requests import, build caches and
        open pools (the database path alone takes seconds on a busy machine)."""
        key = (target.server.name, target.endpoint)
        if seconds and key not in self._warm:
            self._warm.add(key)
            wrk(
                target.url,
                connections=HEADLINE_CONNECTIONS,
                seconds=seconds,
                headers=target.headers,
            )

    def _measured_step(self, text: str, run) -> dict:
        self.progress.begin(text)
        result = run()
        self.progress.end(summary(result))
        return result

    # --- side by side ------------------------------------------------------------------
    def side_by_side(self, configurations: tuple[str, ...]) -> list[dict]:
        """These configurations' endpoints at the headline concurrency. The ping and albums
        runs alternate between the servers, round after round; each keeps its median."""
        pairs = [pair for pair in SIDE_BY_SIDE if pair[0] in configurations]
        alternated = [pair for pair in pairs if pair[1] in ALTERNATED]
        for configuration, endpoint in alternated:
            self._warm_up(probe(self.stack, configuration, endpoint), self.plan.warmup_seconds)
        rounds: dict[tuple[str, str], list[dict]] = {pair: [] for pair in alternated}
        for number in range(1, self.plan.rounds + 1):
            for pair in alternated:
                rounds[pair].append(self._headline_run(pair, f"round {number}/{self.plan.rounds}"))
        results = [median_of_rounds(rounds[pair]) for pair in alternated]
        for pair in pairs:
            if pair in rounds:
                continue
            if pair[1] == "login":
                me_rps = next(
                    r["rps"]
                    for r in results
                    if (r["configuration"], r["endpoint"]) == ("minihub", "me")
                )
                results.append(self._login(probe(self.stack, *pair), me_rps=me_rps))
            else:
                self._warm_up(probe(self.stack, *pair), self.plan.warmup_seconds)
                results.append(self._headline_run(pair, "one run"))
        return results

    def _headline_run(self, pair: tuple[str, str], which: str) -> dict:
        target = probe(self.stack, *pair)
        seconds = self.plan.side_by_side_seconds
        text = f"side by side, {which}: {target.label}, {HEADLINE_CONNECTIONS} connections"
        return self._measured_step(
            f"{text}, {seconds} s",
            lambda: self._wrk(target, connections=HEADLINE_CONNECTIONS, seconds=seconds),
        )

    def _login(self, target: Probe, *, me_rps: float) -> dict:
        seconds = self.plan.side_by_side_seconds
        wanted = int(me_rps * seconds * LOGIN_CODE_MARGIN) + 200
        self.progress.begin(f"login: {wanted:,} single-use codes from the fake WeChat")
        bodies = self.run_dir / "login-bodies.txt"
        made = write_login_bodies(
            bodies,
            fake_url=self.stack.fake.base_url,
            appid=self.stack.data.appid,
            openids=self.stack.data.login_openids,
            count=wanted,
        )
        self.progress.end(f"{made:,} made")
        text = f"side by side: {target.label}, {HEADLINE_CONNECTIONS} connections, {seconds} s"
        result = self._measured_step(
            text,
            lambda: self._wrk(
                target, connections=HEADLINE_CONNECTIONS, seconds=seconds, bodies=bodies
            ),
        )
        result["codes_made"] = made
        return result

    # --- what counting figures costs ------------------------------------------------------
    def figures_cost(self) -> dict:
        """/albums/<id> with and without FiguresMiddleware, back to back, the order swapped
        every pair (ABBA): each pair's ratio compares runs a few seconds apart, so a drift
        of the machine's speed cancels out. The cost is 1 - the median ratio."""
        seconds = self.plan.cost_seconds
        sides = ("minihub", "minihub-without-figures")
        pairs = []
        for number in range(self.plan.cost_pairs):
            order = sides if number % 2 == 0 else sides[::-1]
            pair = {}
            for configuration in order:
                target = probe(self.stack, configuration, "albums")
                pair[configuration] = self._measured_step(
                    f"figures cost, pair {number + 1}/{self.plan.cost_pairs}: {target.label}, "
                    f"{HEADLINE_CONNECTIONS} connections, {seconds} s",
                    lambda t=target: self._wrk(
                        t, connections=HEADLINE_CONNECTIONS, seconds=seconds
                    ),
                )
            pairs.append(pair)
        ratios = [p["minihub"]["rps"] / p["minihub-without-figures"]["rps"] for p in pairs]
        return {
            "endpoint": "albums",
            "pairs": [
                {
                    side: {"rps": p[side]["rps"], "error_total": p[side]["error_total"]}
                    for side in sides
                }
                for p in pairs
            ],
            "ratios": ratios,
            "cost": 1 - statistics.median(ratios),
        }

    # --- memory ---------------------------------------------------------------------------
    def memory_idle(self, configurations: tuple[str, ...]) -> dict[str, dict]:
        """Each server's process tree, warmed up and idle."""
        idle = {}
        for configuration in configurations:
            pids = self.stack.servers[configuration].pids
            wait_idle(pids, timeout=SETTLE_TIMEOUT_SECONDS)
            idle[configuration] = tree_memory(pids).to_json()
        self.progress.say(
            "memory idle (PSS MB): "
            + ", ".join(f"{name} {m['pss_mb_total']:.0f}" for name, m in idle.items())
        )
        return idle

    # --- concurrency sweep -------------------------------------------------------------
    def sweep(self, configurations: tuple[str, ...]) -> dict[str, list[dict]]:
        """These configurations' lines: a measurement per concurrency."""
        lines = {}
        for configuration, endpoint in SWEEP:
            if configuration not in configurations:
                continue
            target = probe(self.stack, configuration, endpoint)
            lines[target.label] = [
                self._measured_step(
                    f"sweep: {target.label}, {c} connections, {self.plan.sweep_seconds} s",
                    lambda c=c, t=target: self._wrk(
                        t, connections=c, seconds=self.plan.sweep_seconds
                    ),
                )
                for c in self.plan.sweep_concurrency
            ]
        return lines

    # --- ApacheBench ---------------------------------------------------------------------
    def ab_study(self) -> list[dict]:
        """ping then albums; -t then -n; without then with -l. Each albums run reads an album
        of its own whose play count starts at 0."""
        runs = []
        fresh = iter(self.stack.data.fresh_album_ids)
        for endpoint in ("ping", "albums"):
            for mode in ("-t", "-n"):
                for variable_length in (False, True):
                    runs.append(self._ab(endpoint, mode, variable_length, fresh))
        return runs

    def _ab(self, endpoint: str, mode: str, variable_length: bool, fresh) -> dict:
        plan, data, minihub = self.plan, self.stack.data, self.stack.servers["minihub"]
        target = probe(self.stack, "minihub", endpoint)
        url, listeners = target.url, None
        if endpoint == "albums":
            album_id = next(fresh)
            url = f"{minihub.base_url}/api/v2/albums/{album_id}"
            listeners = Listeners(minihub.base_url, album_id=album_id, appid=data.appid)
        size = f"-t {plan.ab_seconds}" if mode == "-t" else f"-n {plan.ab_requests}"
        flags = f"{size} -c {plan.ab_concurrency}{' -l' if variable_length else ''}"
        self.progress.begin(f"ab {flags}: minihub {endpoint}")
        wait_idle(minihub.pids, timeout=SETTLE_TIMEOUT_SECONDS)
        run = ab_run(
            url=url,
            endpoint=endpoint,
            mode=mode,
            variable_length=variable_length,
            concurrency=plan.ab_concurrency,
            seconds=plan.ab_seconds,
            requests=plan.ab_requests,
            headers=target.headers,
            log_path=minihub.children[0].log_path,
            server_pids=minihub.pids,
            listeners=listeners,
        ).to_json()
        self.progress.end(
            f"{run['ab_rps']:,.0f} req/s, failed {run['failed_requests']} "
            f"(length {run['failed_by_kind']['length']}), server logged {run['server_logged']}"
        )
        return run

    # --- constant rate ---------------------------------------------------------------------
    def constant_rate(self, side_by_side: list[dict]) -> list[dict]:
        target = probe(self.stack, "minihub", "albums")
        best = next(
            r["rps"]
            for r in side_by_side
            if r["configuration"] == "minihub" and r["endpoint"] == "albums"
        )
        results = []
        for fraction in self.plan.rate_fractions:
            rate = max(10, round(best * fraction))
            text = (
                f"constant rate: {target.label}, {rate:,} req/s ({fraction:.0%} of wrk's), "
                f"{self.plan.rate_seconds} s"
            )
            result = self._measured_step(
                text,
                lambda rate=rate: self._measure(
                    target,
                    HEADLINE_CONNECTIONS,
                    lambda: open_loop(
                        target.url,
                        rate=rate,
                        seconds=self.plan.rate_seconds,
                        connections=HEADLINE_CONNECTIONS,
                        headers=target.headers,
                    ),
                ),
            )
            result["fraction_of_max"] = fraction
            results.append(result)
        return results

    # --- profile -------------------------------------------------------------------------
    def profile(self, endpoint: str, *, svg: Path, raw: Path) -> dict:
        target = probe(self.stack, "minihub", endpoint)
        seconds = self.plan.profile_seconds
        self.progress.begin(f"profile: py-spy on minihub's workers, {target.label}, {seconds} s")
        try:
            recording = profiling.start(
                self.stack.servers["minihub"].pids[0], seconds=seconds, svg=svg, raw=raw
            )
        except FileNotFoundError as exc:
            self.progress.end(f"skipped: {exc}")
            return {"endpoint": endpoint, "error": str(exc)}
        try:
            load = self._wrk(target, connections=HEADLINE_CONNECTIONS, seconds=seconds + 1)
            profiling.finish(recording, timeout=seconds + 30)
        except profiling.ProfileFailed as exc:  # e.g. no ptrace permission in a container
            self.progress.end(f"failed: {exc}")
            return {"endpoint": endpoint, "error": str(exc)}
        finally:
            profiling.cancel(recording)
        self.progress.end(f"{svg.name} ({summary(load)} while recording)")
        return {"endpoint": endpoint, "svg": svg.name, "load": load, **profiling.summarize(raw)}

    # --- driver x worker class -------------------------------------------------------------
    def matrix(self) -> list[dict]:
        return [self._matrix_cell(d, w) for d in DRIVERS for w in WORKER_CLASSES]

    def _matrix_cell(self, driver: str, worker_class: str) -> dict:
        cell = {
            "driver": driver,
            "worker_class": worker_class,
            "shipped": (driver, worker_class) == SHIPPED,
        }
        name = f"matrix-{driver}-{worker_class}"
        if importlib.util.find_spec(DRIVER_MODULES[driver]) is None:
            self.progress.say(f"{name}: skipped, {driver} is not installed")
            return {**cell, "error": f"{driver} is not installed"}
        env = {**self.stack.env, "DATABASE_DRIVER": driver, "GUNICORN_WORKER_CLASS": worker_class}
        if worker_class == "gevent":  # greenlets need the pool to bound their connections
            env["DATABASE_POOL_SIZE"] = str(GEVENT_POOL_SIZE)
        self.progress.begin(f"gunicorn {name}")
        try:
            server = servers.start_web(self.processes, name=name, web_server="gunicorn", env=env)
        except servers.StartFailed as exc:
            self.progress.end("failed to start")
            return {**cell, "error": str(exc)[-1000:]}
        self.progress.end(server.base_url)
        try:
            target = probe(self.stack, "minihub", MATRIX_ENDPOINT, server=server)
            self._warm_up(target, self.plan.matrix_warmup_seconds)
            seconds = self.plan.matrix_seconds
            result = self._measured_step(
                f"matrix: {driver} x {worker_class}, {MATRIX_ENDPOINT}, "
                f"{HEADLINE_CONNECTIONS} connections, {seconds} s",
                lambda: self._wrk(target, connections=HEADLINE_CONNECTIONS, seconds=seconds),
            )
        finally:
            self.processes.stop(server.children[0])
        return {**cell, **result}
