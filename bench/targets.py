"""MiniHub's targets for a 2-core machine with the load generator on the same box, checked
against this run's figures (reported, never asserted), and the seed's own figures."""

from bench.probes import FLOOR

PING_RPS = 5000
ALBUMS_RPS = 2000
# MiniHub under the floor's server (gunicorn), against the stock Django floor.
RATIO_TO_FLOOR = 0.85
# The web server to ship, against the same floor.
SERVER_RATIO_TO_FLOOR = {"ping": 1.5, "albums": 1.0}
FIGURES_COST = 0.03  # of /albums/<id> throughput
WEB_SERVERS = {"minihub": "gunicorn", "minihub-granian": "granian"}
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
    row = _row(side_by_side, "minihub", endpoint)
    rps = row["rps"] if row else 0.0
    return _target(f"{endpoint} throughput", f">= {goal:,} req/s", f"{rps:,.0f} req/s", rps >= goal)


def _ratio(
    side_by_side: list[dict], endpoint: str, configuration: str, goal: float, name: str
) -> dict:
    ours, floor = _row(side_by_side, configuration, endpoint), _row(side_by_side, FLOOR, endpoint)
    ratio = ours["rps"] / floor["rps"] if ours and floor and floor["rps"] else 0.0
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
        "FiguresMiddleware (req/s: "
        + ", ".join(
            f"{p['minihub']['rps']:,.0f}/{p['minihub-without-figures']['rps']:,.0f}" for p in pairs
        )
        + ")",
    )


def _server_ratios(side_by_side: list[dict]) -> list[dict]:
    return [
        _ratio(
            side_by_side,
            endpoint,
            configuration,
            goal,
            f"{endpoint} under {server} vs stock Django under gunicorn",
        )
        for configuration, server in WEB_SERVERS.items()
        for endpoint, goal in SERVER_RATIO_TO_FLOOR.items()
    ]


def _p99(side_by_side: list[dict], endpoint: str) -> dict:
    row = _row(side_by_side, "minihub", endpoint)
    p99 = row["latency_ms"]["p99"] if row else float("inf")
    return _target(
        f"{endpoint} p99 at 64 connections",
        f"<= {P99_MS_AT_64} ms",
        f"{p99:.1f} ms",
        p99 <= P99_MS_AT_64,
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


def evaluate(side_by_side: list[dict], sweep: dict, figures_cost: dict) -> list[dict]:
    return [
        _throughput(side_by_side, "ping", PING_RPS),
        _throughput(side_by_side, "albums", ALBUMS_RPS),
        *(
            _ratio(
                side_by_side,
                endpoint,
                "minihub",
                RATIO_TO_FLOOR,
                f"{endpoint} vs stock Django, same server",
            )
            for endpoint in ("ping", "albums")
        ),
        _figures_cost(figures_cost),
        *_server_ratios(side_by_side),
        *(_p99(side_by_side, endpoint) for endpoint in ("ping", "albums", "me", "login")),
        _zero_errors(side_by_side, sweep),
    ]
