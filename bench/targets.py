"""MiniHub's targets for a 2-core machine with the load generator on the same box, checked
against this run's figures (reported, never asserted), and the seed's own figures."""

from bench.probes import FLOOR
from bench.stack import ALTERNATIVE_WEB_SERVER, SHIPPED_WEB_SERVER

PING_RPS = 5000
ALBUMS_RPS = 2000
# MiniHub under the shipped server (gunicorn), the configuration every target but the
# connection count is taken on.
SHIPPED = "minihub"
# MiniHub's own layers: MiniHub against the stock Django floor under the same server. The
# floor runs under gunicorn, the shipped server: that is "minihub" itself.
SAME_SERVER = SHIPPED
RATIO_TO_FLOOR = 0.85
# The shipped server against the same floor (goals set when granian was shipped); the
# alternative's ratio (granian, "minihub-granian") is named beside it.
SERVER_RATIO_TO_FLOOR = {"ping": 1.5, "albums": 1.0}
ALTERNATIVE = "minihub-granian"
FIGURES_COST = 0.03  # of /albums/<id> throughput
# The MiniHub web tiers whose MariaDB connections are counted, by configuration.
WEB_TIERS = {SHIPPED: SHIPPED_WEB_SERVER, ALTERNATIVE: ALTERNATIVE_WEB_SERVER}
MARIADB_MAX_CONNECTIONS = 151  # MariaDB's default max_connections
P99_MS_AT_64 = 50
MAX_SWEEP_CONNECTIONS = 1000

# The seed's ApacheBench figures (one server, gevent, 2 x CPU + 1 workers).
SEED = {
    "ping": {"-t": 1000, "-n": 800},
    "albums": {"-t": 250, "-n": 250},
}


def _row(side_by_side: list[dict], configuration: str, endpoint: str) -> dict | None:
    return next(
        (
            r
            for r in side_by_side
            if r["configuration"] == configuration and r["endpoint"] == endpoint
        ),
        None,
    )


def _target(name: str, goal: str, value: str, met: bool, detail: str = "") -> dict:
    return {"name": name, "goal": goal, "value": value, "met": met, "detail": detail}


def _throughput(side_by_side: list[dict], endpoint: str, goal: int) -> dict:
    row = _row(side_by_side, SHIPPED, endpoint)
    rps = row["rps"] if row else 0.0
    return _target(
        f"{endpoint} throughput",
        f">= {goal:,} req/s",
        f"{rps:,.0f} req/s",
        rps >= goal,
        f"under {SHIPPED_WEB_SERVER} (shipped), median of alternating rounds",
    )


def _floor_ratio(side_by_side: list[dict], endpoint: str, configuration: str) -> float | None:
    ours, floor = _row(side_by_side, configuration, endpoint), _row(side_by_side, FLOOR, endpoint)
    return ours["rps"] / floor["rps"] if ours and floor and floor["rps"] else None


def _ratio(
    side_by_side: list[dict], endpoint: str, configuration: str, goal: float, name: str
) -> dict:
    ours, floor = _row(side_by_side, configuration, endpoint), _row(side_by_side, FLOOR, endpoint)
    ratio = _floor_ratio(side_by_side, endpoint, configuration) or 0.0
    return _target(
        name,
        f">= {goal}x",
        f"{ratio:.2f}x",
        ratio >= goal,
        f"{ours['rps'] if ours else 0:,.0f} vs {floor['rps'] if floor else 0:,.0f} req/s "
        "(medians of alternating rounds)",
    )


def _figures_cost(figures_cost: dict) -> dict:
    pairs = figures_cost["pairs"]
    return _target(
        "albums: cost of counting the dashboard's figures",
        f"< {FIGURES_COST:.0%} of throughput",
        f"{figures_cost['cost']:.1%}",
        figures_cost["cost"] < FIGURES_COST,
        f"1 - the median of {len(pairs)} back-to-back ratios, with / without "
        f"FiguresMiddleware, both under {SHIPPED_WEB_SERVER} (req/s: "
        + ", ".join(
            f"{p['minihub']['rps']:,.0f}/{p['minihub-without-figures']['rps']:,.0f}" for p in pairs
        )
        + ")",
    )


def _shipped_ratio(side_by_side: list[dict], endpoint: str, goal: float) -> dict:
    target = _ratio(
        side_by_side,
        endpoint,
        SHIPPED,
        goal,
        f"{endpoint} under {SHIPPED_WEB_SERVER} (shipped) vs stock Django under gunicorn",
    )
    alternative = _floor_ratio(side_by_side, endpoint, ALTERNATIVE)
    if alternative is not None:
        target["detail"] += (
            f"; the alternative, {ALTERNATIVE_WEB_SERVER} (`{ALTERNATIVE}`): {alternative:.2f}x"
        )
    return target


def _database_connections(side_by_side: list[dict], sweep: dict, memory_idle: dict) -> dict:
    """The MariaDB connections each MiniHub web tier's own processes held: the peak over
    idle and every measurement up to 1,000 connections (behind nginx included)."""
    peaks = {}
    for configuration in WEB_TIERS:
        measured = [r for r in side_by_side if r["configuration"] == configuration]
        if configuration == SHIPPED:
            measured += [r for r in side_by_side if r["configuration"] == "minihub-nginx"]
        for label, points in sweep["lines"].items():
            if label.split(" ", 1)[0] in (configuration, f"{configuration}-nginx"):
                measured += [p for p in points if p["connections"] <= MAX_SWEEP_CONNECTIONS]
        held = [r["memory_peak"]["mariadb_connections"] for r in measured]
        if configuration in memory_idle:
            held.append(memory_idle[configuration]["mariadb_connections"])
        peaks[configuration] = max(held, default=0)
    together = max(
        (
            r["db_connections_open_peak"]
            for r in side_by_side + [p for ps in sweep["lines"].values() for p in ps]
        ),
        default=0,
    )
    return _target(
        "MariaDB connections held by MiniHub",
        f"<= {MARIADB_MAX_CONNECTIONS} (MariaDB's default max_connections)",
        ", ".join(f"{peaks[c]} under {server}" for c, server in WEB_TIERS.items()),
        all(peak <= MARIADB_MAX_CONNECTIONS for peak in peaks.values()),
        "peak held by each server's own processes (their sockets to MariaDB), idle and up "
        f"to {MAX_SWEEP_CONNECTIONS:,} connections; with every server of the run up at once, "
        f"at most {together} were open on the bench's databases",
    )


def _p99(side_by_side: list[dict], endpoint: str) -> dict:
    row = _row(side_by_side, SHIPPED, endpoint)
    p99 = row["latency_ms"]["p99"] if row else float("inf")
    return _target(
        f"{endpoint} p99 at 64 connections",
        f"<= {P99_MS_AT_64} ms",
        f"{p99:.1f} ms",
        p99 <= P99_MS_AT_64,
        f"under {SHIPPED_WEB_SERVER} (shipped)",
    )


def _zero_errors(side_by_side: list[dict], sweep: dict) -> dict:
    """Every MiniHub measurement (direct and behind nginx) up to 1,000 connections."""
    measured = [r for r in side_by_side if r["configuration"].startswith("minihub")]
    for points in sweep["lines"].values():
        measured += [
            p
            for p in points
            if p["configuration"].startswith("minihub")
            and p["connections"] <= MAX_SWEEP_CONNECTIONS
        ]
    failing = [r for r in measured if r["error_total"]]
    total = sum(r["error_total"] for r in failing)
    detail = "; ".join(
        f"{r['configuration']} {r['endpoint']} c={r['connections']}: "
        + ", ".join(f"{k} {v}" for k, v in r["errors"].items() if v)
        for r in failing
    )
    return _target(
        "errors up to 1,000 connections",
        "0 at every concurrency",
        f"{total} errors in {len(measured)} runs",
        not failing,
        detail,
    )


def evaluate(
    side_by_side: list[dict], sweep: dict, figures_cost: dict, memory_idle: dict
) -> list[dict]:
    return [
        _throughput(side_by_side, "ping", PING_RPS),
        _throughput(side_by_side, "albums", ALBUMS_RPS),
        *(
            _ratio(
                side_by_side,
                endpoint,
                SAME_SERVER,
                RATIO_TO_FLOOR,
                f"{endpoint} under gunicorn vs stock Django, same server",
            )
            for endpoint in ("ping", "albums")
        ),
        *(_shipped_ratio(side_by_side, e, goal) for e, goal in SERVER_RATIO_TO_FLOOR.items()),
        _figures_cost(figures_cost),
        *(_p99(side_by_side, endpoint) for endpoint in ("ping", "albums", "me", "login")),
        _zero_errors(side_by_side, sweep),
        _database_connections(side_by_side, sweep, memory_idle),
    ]
