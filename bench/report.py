"""The markdown report of one run, written from its results JSON."""

from collections import Counter

from bench.plan import HEADLINE_CONNECTIONS
from bench.probes import ENDPOINT_TITLES, FLOOR
from bench.stack import ALTERNATIVE_WEB_SERVER, CONFIGURATIONS, SHIPPED_WEB_SERVER
from bench.targets import SEED

# The same MiniHub under the shipped server and under the alternative, in report order.
WEB_SERVERS = {"minihub": SHIPPED_WEB_SERVER, "minihub-granian": ALTERNATIVE_WEB_SERVER}

RATIO_BASELINES = ("nginx-static", "bare-wsgi", FLOOR)


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _errors(result: dict) -> str:
    kinds = [f"{kind} {n}" for kind, n in result["errors"].items() if n]
    return ", ".join(kinds) if kinds else "0"


def _db(result: dict) -> str:
    """Peak MariaDB connections: open (pooled ones included) / running a statement."""
    return f"{result['db_connections_open_peak']} / {result['db_connections_active_peak']}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _find(rows: list[dict], configuration: str, endpoint: str) -> dict | None:
    return next(
        (r for r in rows if r["configuration"] == configuration and r["endpoint"] == endpoint),
        None,
    )


# --- sections ------------------------------------------------------------------------------


NOISY_OTHER_CPU_PCT = 25


def _noise_warning(results: dict) -> str:
    """Other people's work on the machine during the runs makes every figure lower."""
    runs = results["side_by_side"] + [p for ps in results["sweep"]["lines"].values() for p in ps]
    other = sum(r["other_cpu_pct"] for r in runs) / max(len(runs), 1)
    if other < NOISY_OTHER_CPU_PCT:
        return ""
    return (
        f"\n> **Busy machine**: other processes used {other:.0f} % CPU on average during the "
        "measurements (200 % = both cores), so these figures are lower and noisier than this "
        "machine can do. Run again on an idle machine before quoting them.\n"
    )


def _title(results: dict) -> str:
    machine = results["machine"]
    quick = (
        "\n> **Quick mode** (`make bench QUICK=1`): runs of a second or two, for smoke use; "
        "do not quote these figures.\n"
        if results["mode"] == "quick"
        else ""
    )
    return (
        f"# MiniHub benchmark: {results['date']} on {machine['host']}\n\n"
        f"Reproduce with `{results['command']}` ({results['mode']} mode, "
        f"{results['duration_s'] / 60:.1f} minutes). Raw figures: `{results['json_name']}`.\n"
        f"{quick}{_noise_warning(results)}"
    )


def _targets(results: dict) -> str:
    rows = [
        [t["name"], t["goal"], t["value"], "met" if t["met"] else "**missed**", t["detail"]]
        for t in results["targets"]
    ]
    missed = [t["name"] for t in results["targets"] if not t["met"]]
    verdict = (
        "Every target is met."
        if not missed
        else f"Missed: {', '.join(missed)}. See *Where the time goes* below."
    )
    return (
        "## Targets\n\n"
        "MiniHub's targets for a 2-core machine, load generator on the same box "
        f"(reported, never asserted). `minihub` is MiniHub under {SHIPPED_WEB_SERVER}, the "
        "shipped server and the floor's, so MiniHub's own layers against the floor and the "
        "shipped server's goals are both taken on it; `minihub-granian` is the same under "
        f"{ALTERNATIVE_WEB_SERVER}, the alternative.\n\n"
        + _table(["target", "goal", "this run", "", "detail"], rows)
        + f"\n\n{verdict}\n"
    )


def _machine(results: dict) -> str:
    machine = results["machine"]
    versions = ", ".join(f"{name} {v}" for name, v in machine["versions"].items())
    return (
        "## Machine\n\n"
        f"- {machine['cores']} cores ({machine['cpu_model']}), {machine['memory_gib']} GiB memory, "
        f"{machine['os']}\n"
        f"- Versions: {versions}\n"
        f"- Load average at start {machine['load_average_at_start']}, "
        f"at end {machine['load_average_at_end']}. The *other CPU* columns show what other "
        "processes on the machine used during each run (200 % = both cores): where it is high, "
        "the figures are low and noisy.\n"
    )


def _configurations() -> str:
    rows = [[f"`{name}`", text] for name, text in CONFIGURATIONS.items()]
    return "## Configurations\n\n" + _table(["configuration", "what it is"], rows) + "\n"


def _ratio_cells(rows: list[dict], result: dict) -> list[str]:
    cells = []
    for baseline in RATIO_BASELINES:
        base = _find(rows, baseline, result["endpoint"])
        if base is None or base is result or not base["rps"]:
            cells.append("")
        else:
            cells.append(f"{result['rps'] / base['rps']:.2f}x")
    return cells


def _load_cells(m: dict) -> list[str]:
    """req/s, p50, p90, p99, errors and the three CPU columns of one measurement."""
    return [
        f"{m['rps']:,.0f}",
        *(_ms(m["latency_ms"][p]) for p in ("p50", "p90", "p99")),
        _errors(m),
        *(f"{m[f'{who}_cpu_pct']:.0f} %" for who in ("server", "client", "other")),
    ]


def _rounds(result: dict) -> str:
    return " / ".join(f"{r['rps']:,.0f}" for r in result.get("rounds", []))


def _side_by_side(results: dict) -> str:
    rows = results["side_by_side"]
    table = [
        [
            f"`{r['configuration']}`",
            ENDPOINT_TITLES[r["endpoint"]],
            *_load_cells(r),
            _db(r),
            *_ratio_cells(rows, r),
            _rounds(r),
        ]
        for r in rows
    ]
    header = ["configuration", "endpoint", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors"]
    header += ["server CPU", "client CPU", "other CPU", "DB conns open / active"]
    header += ["vs nginx static", "vs bare WSGI", "vs stock Django", "req/s of each round"]
    seconds = results["plan"]["side_by_side_seconds"]
    rounds = results["plan"]["rounds"]
    return (
        f"## Side by side at {HEADLINE_CONNECTIONS} connections\n\n"
        f"wrk, {HEADLINE_CONNECTIONS} keep-alive connections, {seconds} s a run after a "
        f"warm-up. The ping and albums runs of the servers running together alternate, "
        f"{rounds} rounds; req/s is the median of the rounds, the other columns are those of "
        "the median round, errors the sum of all rounds. Ratios are req/s against the "
        "baseline for the same endpoint; `stock-django` is the floor.\n\n"
        + _table(header, table)
        + "\n"
    )


def _role(server: str) -> str:
    return "the shipped server" if server == SHIPPED_WEB_SERVER else "the alternative"


def _servers(results: dict) -> str:
    """gunicorn (shipped) against granian for MiniHub: throughput, tail, connections and
    memory."""
    side, lines = results["side_by_side"], results["sweep"]["lines"]
    most = max(results["sweep"]["concurrency"])
    rows = []
    for configuration, server in WEB_SERVERS.items():
        role = "shipped" if server == SHIPPED_WEB_SERVER else "alternative"
        for endpoint in ("ping", "albums"):
            at64 = _find(side, configuration, endpoint)
            line = lines.get(f"{configuration} {endpoint}", [])
            at_most = next((p for p in line if p["connections"] == most), None)
            if at64 is None or at_most is None:
                continue
            floor = _find(side, FLOOR, endpoint)
            rows.append(
                [
                    f"`{configuration}`: {server} ({role})",
                    endpoint,
                    f"{at64['rps']:,.0f}",
                    f"{at64['rps'] / floor['rps']:.2f}x" if floor and floor["rps"] else "",
                    _ms(at64["latency_ms"]["p99"]),
                    f"{at_most['rps']:,.0f}",
                    _ms(at_most["latency_ms"]["p99"]),
                    _errors(at_most),
                    str(at_most["memory_peak"]["mariadb_connections"]),
                    f"{at_most['memory_peak']['rss_mb_max_process']:.0f}",
                ]
            )
    header = ["server", "endpoint", "req/s at 64", "vs stock Django", "p99 ms at 64"]
    header += [f"req/s at {most:,}", f"p99 ms at {most:,}", f"errors at {most:,}"]
    header += [f"MariaDB conns held at {most:,} (peak)", "largest process RSS MB"]
    return (
        "## gunicorn or granian\n\n"
        "gunicorn is the web server MiniHub ships: `deploy/web` runs it by default, and "
        "`minihub` is MiniHub under it; the stock floor runs under gunicorn too, so that pair "
        "shows what MiniHub's own layers cost. granian is the supported alternative "
        "(`MINIHUB_WEB_SERVER=granian`): `minihub-granian` is the same MiniHub under it, "
        "with HTTP/1 keep-alive off as `deploy/web` sets it (`GRANIAN_HTTP1_KEEP_ALIVE=false`), "
        "so wrk opens a new connection for each of its requests. gunicorn is the default "
        "because a granian worker that stops (on a reload or when recycled) can reset a "
        "connection it has just accepted, so a reload can lose a request (docs/operations.md, "
        '"Web server"). Both started by `deploy/web` with the server named, in the same run. '
        "Figures at 64 connections are the medians of the alternating rounds; at "
        f"{most:,} connections, the sweep's.\n\n" + _table(header, rows) + "\n"
    )


def _memory(results: dict) -> str:
    idle = results.get("memory_idle", {})
    lines, most = results["sweep"]["lines"], max(results["sweep"]["concurrency"])
    rows = []
    for configuration, at_rest in idle.items():
        busy = next(
            (p for p in lines.get(f"{configuration} albums", []) if p["connections"] == most),
            None,
        )
        cells = [
            f"`{configuration}`",
            str(at_rest["processes"]),
            str(at_rest["mariadb_connections"]),
            str(busy["memory_peak"]["mariadb_connections"]) if busy else "",
        ]
        for memory in (at_rest, busy["memory_peak"] if busy else None):
            cells += (
                [
                    f"{memory['rss_mb_max_process']:.0f}",
                    f"{memory['rss_mb_total']:.0f}",
                    f"{memory['pss_mb_total']:.0f}",
                ]
                if memory
                else ["", "", ""]
            )
        rows.append(cells)
    header = ["server", "processes", "MariaDB conns idle", f"MariaDB conns at {most:,}"]
    header += ["idle: largest RSS MB", "idle: RSS MB, all", "idle: PSS MB"]
    header += [f"{most:,} conns: largest RSS MB", f"{most:,} conns: RSS MB, all"]
    header += [f"{most:,} conns: PSS MB"]
    return (
        "## Memory and database connections\n\n"
        "Each server's process tree (its main process and workers): the MariaDB connections "
        "it holds (its own TCP sockets to port 3306), the largest process's RSS (a worker), "
        "the RSS of all of them (shared pages counted in every worker), and PSS "
        "(each shared page divided among its sharers: what the tier really holds). Idle: "
        f"warmed up, no load; busy: the peak while the sweep held {most:,} connections on "
        "`/albums/<id>`.\n\n" + _table(header, rows) + "\n"
    )


def _seed(results: dict) -> str:
    rows = []
    wrk_rows = results["side_by_side"]
    for endpoint, label in (("ping", "plain JSON"), ("albums", "1 DB row + 1 Redis GET")):
        wrk_row = _find(wrk_rows, "minihub", endpoint)
        for mode in ("-t", "-n"):
            ab_row = next(
                (
                    r
                    for r in results["ab"]
                    if r["endpoint"] == endpoint and r["mode"] == mode and r["dash_l"]
                ),
                None,
            )
            seed = SEED[endpoint][mode]
            ours_ab = ab_row["ab_rps"] if ab_row else 0.0
            ours_wrk = wrk_row["rps"] if wrk_row else 0.0
            rows.append(
                [
                    f"{label}, ab `{mode}`",
                    f"> {seed:,}",
                    f"{ours_ab:,.0f}",
                    f"{ours_ab / seed:.1f}x",
                    f"{ours_wrk:,.0f}",
                    f"{ours_wrk / seed:.1f}x",
                ]
            )
    header = ["view", "seed (ab, 1 server)", "MiniHub, ab same flags + -l", "x seed"]
    header += [f"MiniHub, wrk {HEADLINE_CONNECTIONS} conns", "x seed"]
    return (
        "## Against the seed\n\n"
        "The seed's figures are from its ApacheBench study (one server, gevent, 2 x CPU + 1 "
        "workers, its own hardware); ours are from this machine, load generator included. "
        "ab opens a new connection per request (HTTP/1.0); wrk keeps connections alive.\n\n"
        + _table(header, rows)
        + "\n"
    )


def _sweep(results: dict, images: dict[str, str]) -> str:
    sweep = results["sweep"]
    header = ["line", *[f"c={c}" for c in sweep["concurrency"]]]
    compact = [
        [f"`{label}`"]
        + [
            f"{p['rps']:,.0f} / {_ms(p['latency_ms']['p99'])}"
            + (f" / **{p['error_total']} err**" if p["error_total"] else "")
            for p in points
        ]
        for label, points in sweep["lines"].items()
    ]
    detail_header = ["line", "conns", "req/s", "p50", "p90", "p99", "errors by kind"]
    detail_header += ["server CPU", "client CPU", "other CPU"]
    detail_header.append("DB conns open / active / mean active")
    detail = [
        [
            f"`{label}`",
            str(p["connections"]),
            *_load_cells(p),
            f"{_db(p)} / {p['db_connections_active_mean']:.1f}",
        ]
        for label, points in sweep["lines"].items()
        for p in points
    ]
    seconds = results["plan"]["sweep_seconds"]
    return (
        "## Concurrency sweep\n\n"
        f"wrk at each concurrency for {seconds} s, like the seed's charts. Cells: req/s / p99 ms "
        "(/ errors). Dashed lines in the plots are the baselines.\n\n"
        + _table(header, compact)
        + f"\n\n![QPS vs concurrency]({images['qps']})\n\n"
        f"![p99 vs concurrency]({images['p99']})\n\n"
        "<details><summary>Every point: latency percentiles (ms), errors by kind, CPU, MariaDB "
        "connections</summary>\n\n" + _table(detail_header, detail) + "\n\n</details>\n"
    )


def _matrix(results: dict, images: dict[str, str]) -> str:
    rows = []
    for cell in results["matrix"]:
        name = [cell["driver"], cell["worker_class"] + (" (shipped)" if cell["shipped"] else "")]
        if "error" in cell:
            rows.append([*name, "failed", "", "", cell["error"].splitlines()[-1], "", ""])
            continue
        rows.append(
            [
                *name,
                f"{cell['rps']:,.0f}",
                _ms(cell["latency_ms"]["p50"]),
                _ms(cell["latency_ms"]["p99"]),
                _errors(cell),
                f"{cell['server_cpu_pct']:.0f} %",
                _db(cell),
            ]
        )
    header = ["driver", "worker class", "req/s", "p50 ms", "p99 ms", "errors", "server CPU"]
    header.append("DB conns open / active")
    return (
        "## Driver x worker class\n\n"
        f"MiniHub's `{ENDPOINT_TITLES[results['matrix_endpoint']]}` at "
        f"{results['matrix_connections']} connections under gunicorn, "
        f"{_role('gunicorn')}: one fresh gunicorn per cell (`deploy/web` with "
        "`MINIHUB_WEB_SERVER=gunicorn`, DATABASE_DRIVER x GUNICORN_WORKER_CLASS, everything "
        "else as shipped in "
        "deploy/gunicorn.conf.py; gthread runs "
        "GUNICORN_THREADS=4 threads per worker). mysqlclient is C and blocks gevent's loop "
        "while it waits for MariaDB; PyMySQL cooperates with it (bench/README.md, "
        "[Driver and worker class](../README.md#driver-and-worker-class)).\n\n"
        + _table(header, rows)
        + f"\n\n{_matrix_verdict(results['matrix'])}\n\n"
        f"![driver x worker class]({images['matrix']})\n"
    )


def _matrix_verdict(matrix: list[dict]) -> str:
    measured = [cell for cell in matrix if "error" not in cell]
    if not measured:
        return "No cell could be measured."
    best = max(measured, key=lambda cell: cell["rps"])
    shipped = next((cell for cell in measured if cell["shipped"]), None)
    text = (
        f"Fastest in this run: {best['driver']} x {best['worker_class']}, "
        f"{best['rps']:,.0f} req/s, p99 {_ms(best['latency_ms']['p99'])} ms."
    )
    if shipped and shipped is not best:
        text += (
            f" The shipped {shipped['driver']} x {shipped['worker_class']}: "
            f"{shipped['rps']:,.0f} req/s ({shipped['rps'] / best['rps']:.2f}x), "
            f"p99 {_ms(shipped['latency_ms']['p99'])} ms."
        )
    return text


def _constant_rate(results: dict) -> str:
    rows = []
    for r in results["constant_rate"]:
        lag = r["scheduler_lag_ms"]["p99"]
        rows.append(
            [
                f"{r['target_rate']:,.0f} ({r['fraction_of_max']:.0%})",
                f"{r['rps']:,.0f}",
                _ms(r["latency_ms"]["p50"]),
                _ms(r["latency_ms"]["p90"]),
                _ms(r["latency_ms"]["p99"]),
                _ms(r["latency_ms"]["p999"]),
                _ms(r["latency_ms"]["max"]),
                _errors(r),
                _ms(lag) + (" (client-bound: not trustworthy)" if lag > 5 else ""),
            ]
        )
    header = ["rate req/s (of wrk max)", "achieved", "p50", "p90", "p99", "p99.9", "max"]
    header += ["errors", "generator lag p99"]
    return (
        "## Constant rate (open loop)\n\n"
        "MiniHub's album endpoint at fixed rates (fractions of wrk's maximum above), "
        f"{HEADLINE_CONNECTIONS} connections, by `bench/loadgen/openloop.py`: requests are due "
        "at fixed intervals whatever the server does, and each latency runs from the time it "
        "was due, so stalls are not hidden (no coordinated omission). Latencies in ms. The "
        "generator's own lag says whether it kept up.\n\n" + _table(header, rows) + "\n"
    )


def _ab(results: dict) -> str:
    rows = []
    for r in results["ab"]:
        size = (
            f"-t {results['plan']['ab_seconds']}"
            if r["mode"] == "-t"
            else (f"-n {results['plan']['ab_requests']}")
        )
        flags = f"{size} -c {results['plan']['ab_concurrency']}" + (" -l" if r["dash_l"] else "")
        rows.append(
            [
                r["endpoint"],
                f"`{flags}`",
                f"{r['ab_rps']:,.0f}",
                str(r["requests"]),
                str(r["failed_requests"]),
                ", ".join(f"{k} {v}" for k, v in r["failed_by_kind"].items() if v) or "-",
                str(r["statuses"].get("non2xx", 0)),
                ", ".join(f"{k}: {v}" for k, v in sorted(r["server_logged"].items())),
                ", ".join(
                    sorted(r["server_body_sizes"], key=lambda s: int(s) if s.isdigit() else 0)
                ),
                "" if r["plays_during_run"] is None else str(r["plays_during_run"]),
            ]
        )
    header = ["endpoint", "flags", "req/s", "complete", "failed", "failed by kind"]
    header += ["non-2xx", "server logged", "body sizes logged (bytes)", "plays meanwhile"]
    return (
        '## ApacheBench and the seed\'s "failed requests"\n\n'
        f"ab runs against `minihub` ({SHIPPED_WEB_SERVER}, the shipped server). "
        "The seed's flags: `ab -H 'Accept-Encoding: gzip' -t T -c C -r URL` and "
        "`ab -H 'Accept-Encoding: gzip' -n N -c C -r URL`, each run without and with `-l`. "
        "ab counts an answer as *failed* (kind *Length*) when its body length differs from "
        "the first answer's. The album's JSON carries its play count, which listeners keep "
        "raising during the run: each album starts at 9 plays, and one client POSTs /plays "
        "from 0.2 s after ab starts (column *plays meanwhile*); 9 -> 10 -> 100 adds a byte "
        "each time. So ab reports failed requests while the server's access log shows only "
        "200s, with bodies of a few different sizes; with `-l` (variable length accepted) the "
        "same traffic shows none. /ping's body never changes, so it never shows them. They were "
        "never errors.\n\n" + _table(header, rows) + "\n\n" + _ab_verdict(results["ab"]) + "\n"
    )


def _ab_verdict(runs: list[dict]) -> str:
    """The counts that settle it, in one sentence."""

    def total(dash_l: bool, key) -> int:
        return sum(key(r) for r in runs if r["endpoint"] == "albums" and r["dash_l"] == dash_l)

    failed, length = (
        total(False, lambda r: r["failed_requests"]),
        total(False, lambda r: r["failed_by_kind"]["length"]),
    )
    failed_l = total(True, lambda r: r["failed_requests"])
    logged = Counter()
    for r in runs:
        logged.update(r["server_logged"])
    statuses = ", ".join(f"{n:,} x {status}" for status, n in sorted(logged.items()))
    return (
        f"In this run, on the album endpoint: {failed:,} failed requests without `-l` "
        f"({length:,} of them *Length*), {failed_l:,} with `-l`; over all ab runs the server "
        f"logged {statuses}."
    )


PROFILE_IMAGES = {"albums": "profile", "ping": "profile_ping"}
# What py-spy's Python frames show of each server's own work.
PROFILED_SERVER_NOTE = {
    "gunicorn": "gunicorn's workers are Python throughout, so its HTTP parsing is in them "
    "(the *gunicorn* layer).",
    "granian": "granian's HTTP handling, in Rust, is not in them.",
}


def _one_profile(profile: dict, *, seconds: int, image: str) -> str:
    title = ENDPOINT_TITLES[profile["endpoint"]]
    if "error" in profile:
        return f"### {title}\n\nNot recorded: {profile['error']}\n"
    largest = ", ".join(f"{row['layer']} {row['pct']} %" for row in profile["by_layer"][:3])
    layers = _table(
        ["layer (innermost frame; socket I/O charged to its caller)", "share of CPU samples"],
        [[row["layer"], f"{row['pct']} %"] for row in profile["by_layer"]],
    )
    functions = _table(
        ["function (innermost frame; socket I/O charged to its caller)", "share of CPU samples"],
        [[f"`{row['function']}`", f"{row['pct']} %"] for row in profile["top_self"]],
    )
    own = _table(
        ["MiniHub function (with everything it calls)", "share of CPU samples"],
        [[f"`{row['function']}`", f"{row['pct']} %"] for row in profile["minihub_inclusive"]],
    )
    return (
        f"### {title}\n\n"
        f"{seconds} s at {HEADLINE_CONNECTIONS} connections, {profile['samples']:,} samples "
        f"({profile['load']['rps']:,.0f} req/s while recording). The CPU goes first to: "
        f"{largest}. Flame graph: [{image}]({image}).\n\n"
        + "\n\n".join((layers, functions, own))
        + "\n"
    )


def _profile(results: dict, images: dict[str, str]) -> str:
    profiles = results.get("profiles") or []
    head = "## Where the time goes (profile)\n\n"
    if not profiles:
        return (
            head + "No profile was recorded in this run: `make bench PROFILE=1` records them "
            "(py-spy, MiniHub's album endpoint and /ping under load) and links them here.\n"
        )
    missed = [t for t in results["targets"] if not t["met"]]
    missed_text = (
        "Missed targets: "
        + ", ".join(f"{t['name']} ({t['value']}, goal {t['goal']})" for t in missed)
        + f". The profiles below show where the workers of {SHIPPED_WEB_SERVER} (the shipped "
        "server) spend their CPU.\n\n"
        if missed
        else "Every target is met; the profiles are for reference.\n\n"
    )
    intro = (
        f"py-spy over every process of `minihub` under {SHIPPED_WEB_SERVER} "
        "(`--subprocesses --nonblocking`), sampling only threads on the CPU and only their "
        f"Python frames: {PROFILED_SERVER_NOTE[SHIPPED_WEB_SERVER]} Socket sends are "
        "real CPU here: on loopback the sender's system call also runs the receiver's TCP "
        "stack.\n\n"
    )
    seconds = results["plan"]["profile_seconds"]
    return (
        head
        + missed_text
        + intro
        + "\n".join(
            _one_profile(p, seconds=seconds, image=images[PROFILE_IMAGES[p["endpoint"]]])
            for p in profiles
        )
    )


# Runs from when granian was shipped (the evening run of 2026-11-30, results/2026-11-30-vm.json)
# named MiniHub under granian "minihub" and under gunicorn "minihub-gunicorn"; their variant
# without figures and their nginx line ran under granian. Older runs already used today's
# names: "minihub" under gunicorn, like their variant and nginx line, and "minihub-granian".
RENAMED_SINCE = {"minihub": "minihub-granian", "minihub-gunicorn": "minihub"}
UNDER_ANOTHER_SERVER_THEN = ("minihub-without-figures", "minihub-nginx")


def _previous_rows(previous: dict) -> tuple[list[dict], str]:
    """The previous run's side-by-side rows under today's names, and a note when renamed."""
    rows = previous["side_by_side"]
    if not any(r["configuration"] == "minihub-gunicorn" for r in rows):
        return rows, ""
    renamed = [
        {**r, "configuration": RENAMED_SINCE.get(r["configuration"], r["configuration"])}
        for r in rows
        if r["configuration"] not in UNDER_ANOTHER_SERVER_THEN
    ]
    note = (
        " That run, from when granian was shipped, named MiniHub under granian `minihub` and "
        "under gunicorn `minihub-gunicorn`: its figures are set beside this run's under "
        "today's names (`minihub-granian` and `minihub`), and its `minihub-without-figures` "
        "and `minihub-nginx`, then under granian, are left out."
    )
    return renamed, note


def _previous(results: dict) -> str:
    previous = results.get("previous")
    head = "## Compared with the previous run\n\n"
    if not previous:
        return head + "No previous run in this results directory.\n"
    before_rows, note = _previous_rows(previous)
    rows = []
    for now in results["side_by_side"]:
        before = _find(before_rows, now["configuration"], now["endpoint"])
        if before is None:
            continue
        change = (now["rps"] / before["rps"] - 1) * 100 if before["rps"] else 0.0
        rows.append(
            [
                f"`{now['configuration']}` {now['endpoint']}",
                f"{before['rps']:,.0f}",
                f"{now['rps']:,.0f}",
                f"{change:+.0f} %",
                _ms(before["latency_ms"]["p99"]),
                _ms(now["latency_ms"]["p99"]),
            ]
        )
    return (
        head + f"Before: {previous['date']} ({previous['mode']} mode, `{previous['json_name']}`); "
        "after: this run. Side-by-side figures at "
        f"{HEADLINE_CONNECTIONS} connections.{note}\n\n"
        + _table(["", "req/s before", "req/s after", "change", "p99 before", "p99 after"], rows)
        + "\n"
    )


def _method(results: dict) -> str:
    return (
        "## How it was measured\n\n"
        "- Everything on one machine over 127.0.0.1: the servers, MariaDB, Redis, the fake "
        "WeChat server and the load generators share its cores, as MiniHub's targets assume.\n"
        "- MiniHub runs `config.settings.test` on its own databases "
        f"({', '.join(results['databases'])}) and Redis db (`{results['redis_url']}`), with the "
        "shipped `deploy/web`, the server always named: gunicorn, the shipped default "
        "(`MINIHUB_WEB_SERVER=gunicorn`, with `deploy/gunicorn.conf.py`, access log on), and "
        "granian, the alternative (`MINIHUB_WEB_SERVER=granian`, with `deploy/web`'s granian "
        "defaults: HTTP/1 keep-alive off; MiniHub writes its own access line, granian's own "
        "access log is off), and the shipped nginx site. Because "
        "every request comes from one address, nginx's per-client-IP limits and the "
        "mini-program's login limits are raised for the run (their code still runs).\n"
        "- wrk: 2 threads, keep-alive (granian answers with `Connection: close`, so wrk "
        "reconnects for every request to `minihub-granian`), `--timeout 10s` (a slower answer "
        "counts as a timeout error), a Lua script counting answers by status; a warm-up run "
        "before each measured "
        "one, then a wait for the server to go idle and (at most 3 s) for the machine to go "
        "quiet. Errors are socket errors by kind plus every non-2xx answer by status.\n"
        "- Login codes are single use: they are made at the fake WeChat before the run and "
        "each sent once; the users are returning users.\n"
        "- CPU columns are percentages of one core (200 % = both cores of a 2-core machine): "
        "*server* is the measured server's process tree (its main process and workers, nginx "
        "too when in front), *client* the load generator, *other* the rest of the machine.\n"
        "- DB conns: peak connections on the bench's databases (information_schema.PROCESSLIST, "
        "sampled 4 times a second), *open* (idle pooled connections of every running server "
        "included) and *active* (running a statement). MiniHub keeps a connection per thread "
        "(gevent's matrix cells: a pool of 10 per process).\n"
    )


def render(results: dict, *, images: dict[str, str]) -> str:
    """`images`: file names (relative to the report) of the qps, p99, matrix plots and profile."""
    sections = [
        _title(results),
        _targets(results),
        _machine(results),
        _configurations(),
        _side_by_side(results),
        _servers(results),
        _memory(results),
        _seed(results),
        _sweep(results, images),
        _matrix(results, images),
        _constant_rate(results),
        _ab(results),
        _profile(results, images),
        _previous(results),
        _method(results),
    ]
    return "\n".join(sections)


def headline_table(results: dict) -> str:
    """The headline table of a run, as bench/results/INDEX.md carries it."""
    rows = []
    side = results["side_by_side"]
    for endpoint in ("ping", "albums", "me", "login"):
        ours = _find(side, "minihub", endpoint)
        if ours is None:
            continue
        floor = _find(side, FLOOR, endpoint)
        ratio = f"{ours['rps'] / floor['rps']:.2f}x" if floor and floor["rps"] else ""
        seed = SEED.get(endpoint, {}).get("-t")
        rows.append(
            [
                ENDPOINT_TITLES[endpoint],
                f"{ours['rps']:,.0f}",
                _ms(ours["latency_ms"]["p99"]),
                _errors(ours),
                ratio,
                f"{ours['rps'] / seed:.1f}x" if seed else "",
            ]
        )
    header = ["endpoint", "req/s", f"p99 ms ({HEADLINE_CONNECTIONS} conns)", "errors"]
    header += ["vs stock Django", "vs seed"]
    return (
        f"Measured {results['date']} on {results['machine']['host']} "
        f"({results['machine']['cores']} cores), `{results['command']}`:\n\n"
        + _table(header, rows)
        + "\n"
    )
