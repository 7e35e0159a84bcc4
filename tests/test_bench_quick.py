"""`python -m bench --quick` once, as `make bench QUICK=1` runs it: it must produce a complete
report (results JSON for every configuration, the markdown sections, valid PNG plots).

Never a speed: this machine is shared, and the figures of a quick run are not meant to be
quoted. The bench runs on databases and a Redis db of this test run's own.
"""

import json
import os
import statistics
import struct
import subprocess
import sys
import zlib
from urllib.parse import urlsplit

import pytest

from bench.environment import Stores, databases_drop
from bench.plan import QUICK
from bench.probes import SIDE_BY_SIDE, SWEEP
from bench.steps import DRIVERS, SHIPPED, WORKER_CLASSES
from tests.helpers import PROJECT_DIR

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPORT_SECTIONS = (
    "# MiniHub benchmark:",
    "## Targets",
    "## Machine",
    "## Configurations",
    "## Side by side at 64 connections",
    "## gunicorn or granian",
    "## Memory and database connections",
    "## Against the seed",
    "## Concurrency sweep",
    "## Driver x worker class",
    "## Constant rate (open loop)",
    '## ApacheBench and the seed\'s "failed requests"',
    "## Where the time goes (profile)",
    "## Compared with the previous run",
    "## How it was measured",
)
MEASUREMENT_KEYS = {
    "configuration",
    "endpoint",
    "connections",
    "requests",
    "rps",
    "latency_ms",
    "errors",
    "error_total",
    "server_cpu_pct",
    "client_cpu_pct",
    "other_cpu_pct",
    "db_connections_open_peak",
    "db_connections_active_peak",
}
VERSIONS = ("Python", "Django", "gunicorn", "gevent", "PyMySQL", "mysqlclient", "MariaDB")
VERSIONS += ("Redis", "nginx", "wrk", "ab")


def _stores() -> Stores:
    """Databases named after this run's (the `minihub` user may create minihub*), its Redis."""
    base, name = os.environ["DATABASE_URL"].rsplit("/", 1)
    return Stores(
        database_url=f"{base}/{name}_benchq",
        admin_database_url=f"{base}/{name}_benchq_admin",
        redis_url=os.environ["REDIS_URL"],
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Runs the quick bench once for the module: (output directory, finished process)."""
    output = tmp_path_factory.mktemp("bench-results")
    stores = _stores()
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--output",
            str(output),
            "--database-url",
            stores.database_url,
            "--admin-database-url",
            stores.admin_database_url,
            "--redis-url",
            stores.redis_url,
        ],
        cwd=PROJECT_DIR,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )
    yield output, finished
    databases_drop(stores)


@pytest.fixture(scope="module")
def results(quick_run) -> dict:
    output, finished = quick_run
    assert finished.returncode == 0, finished.stdout[-5000:] + finished.stderr[-5000:]
    json_files = list(output.glob("*.json"))
    assert len(json_files) == 1, sorted(p.name for p in output.iterdir())
    return json.loads(json_files[0].read_text())


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature and its CRC."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    header = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(kind + header) == crc
    assert data.endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", header[:8])


def test_progress_line_per_step_and_targets_summary(quick_run):
    _output, finished = quick_run
    steps = [line for line in finished.stdout.splitlines() if line.startswith("[bench ")]
    assert len(steps) > 40, finished.stdout
    assert "done:" in steps[-1]
    assert any("errors up to 1,000 connections" in line for line in finished.stdout.splitlines())


def test_every_configuration_has_its_side_by_side_measurement(results):
    measured = {(r["configuration"], r["endpoint"]): r for r in results["side_by_side"]}
    assert set(measured) == set(SIDE_BY_SIDE)
    for result in measured.values():
        assert set(result) >= MEASUREMENT_KEYS, result
        assert result["connections"] == 64
        assert {"p50", "p90", "p99", "max"} <= set(result["latency_ms"])
        assert {"connect", "read", "write", "timeout"} <= set(result["errors"])
    assert set(results["configurations"]) == {c for c, _e in SIDE_BY_SIDE}
    login = measured[("minihub", "login")]
    assert login["codes_made"] > 0


def test_ping_and_albums_alternate_in_rounds_and_keep_the_median(results):
    alternated = [r for r in results["side_by_side"] if r["endpoint"] in ("ping", "albums")]
    assert {r["configuration"] for r in alternated} >= {
        "stock-django",
        "minihub",
        "minihub-without-figures",
        "minihub-granian",
    }
    for result in alternated:
        rounds = result["rounds"]
        assert len(rounds) == QUICK.rounds, result
        assert result["rps"] == statistics.median(r["rps"] for r in rounds)
        assert result["error_total"] == sum(r["error_total"] for r in rounds)


def test_the_results_name_no_password(quick_run, results):
    output, _finished = quick_run
    assert urlsplit(results["redis_url"]).password is None
    stem = results["json_name"].removesuffix(".json")
    for kind in ("json", "md"):
        assert "minihub-test" not in (output / f"{stem}.{kind}").read_text()


def test_minihub_runs_the_shipped_server_and_granian_is_measured_beside_it(results):
    # The variant without figures and the nginx line run under the same server as "minihub".
    assert results["web_servers"] == {
        "minihub": "gunicorn",
        "minihub-without-figures": "gunicorn",
        "minihub-nginx": "gunicorn",
        "minihub-granian": "granian",
    }
    assert "minihub-gunicorn" not in results["configurations"]
    ours = {r["configuration"] for r in results["side_by_side"]}
    assert {"minihub", "minihub-granian"} <= ours


def test_every_minihub_server_is_started_with_its_web_server_named(monkeypatch):
    from bench import servers
    from bench.stack import WEB_TIER

    assert {name: server for name, (server, _env) in WEB_TIER.items()} == {
        "minihub": "gunicorn",
        "minihub-without-figures": "gunicorn",
        "minihub-granian": "granian",
    }
    started = []

    class FakeProcesses:
        def start(self, name, argv, env):
            started.append(env["MINIHUB_WEB_SERVER"])
            return object()

    monkeypatch.setattr(servers, "_wait_ready", lambda child, url: None)
    servers.start_web(FakeProcesses(), name="x", web_server="granian", env={})
    assert started == ["granian"]


def test_the_floor_reads_the_gunicorn_config_whatever_deploy_webs_default(monkeypatch):
    from bench import servers

    seen = {}

    def run(argv, *, env, **kwargs):
        seen.update(env)
        return subprocess.CompletedProcess(argv, 0, stdout="workers = 5\n", stderr="")

    monkeypatch.setattr(servers.subprocess, "run", run)
    assert servers.shipped_gunicorn_counts({"MINIHUB_WEB_SERVER": "granian"}) == {"workers": "5"}
    assert seen["MINIHUB_WEB_SERVER"] == "gunicorn"


def test_figures_cost_comes_from_back_to_back_pairs(results):
    cost = results["figures_cost"]
    assert len(cost["pairs"]) == QUICK.cost_pairs
    ratios = [p["minihub"]["rps"] / p["minihub-without-figures"]["rps"] for p in cost["pairs"]]
    assert cost["ratios"] == ratios
    assert cost["cost"] == 1 - statistics.median(ratios)


def test_memory_of_each_web_tier_idle_and_under_load(results):
    for configuration in ("stock-django", "minihub", "minihub-granian"):
        idle = results["memory_idle"][configuration]
        assert idle["processes"] >= 2  # a master and its workers
        assert 0 < idle["rss_mb_max_process"] <= idle["rss_mb_total"]
        assert 0 < idle["pss_mb_total"] <= idle["rss_mb_total"]
        busiest = results["sweep"]["lines"][f"{configuration} albums"][-1]
        assert busiest["memory_peak"]["processes"] == idle["processes"]
        # A connection per thread that ran a query, none beyond the shipped gunicorn's
        # workers x threads (granian runs fewer of each).
        threads = (2 * os.cpu_count() + 1) * 4
        assert 1 <= busiest["memory_peak"]["mariadb_connections"] <= threads


def test_sweep_has_every_line_at_every_concurrency(results):
    sweep = results["sweep"]
    assert sweep["concurrency"] == list(QUICK.sweep_concurrency)
    assert set(sweep["lines"]) == {f"{c} {e}" for c, e in SWEEP}
    for points in sweep["lines"].values():
        assert [p["connections"] for p in points] == sweep["concurrency"]
        for point in points:
            assert set(point) >= MEASUREMENT_KEYS, point


def test_matrix_has_every_driver_and_worker_class(results):
    cells = {(c["driver"], c["worker_class"]): c for c in results["matrix"]}
    assert set(cells) == {(d, w) for d in DRIVERS for w in WORKER_CLASSES}
    assert [key for key, cell in cells.items() if cell["shipped"]] == [SHIPPED]
    for cell in cells.values():
        assert "error" not in cell, cell
        assert set(cell) >= MEASUREMENT_KEYS, cell


def test_ab_study_runs_the_seeds_flags_without_and_with_dash_l(results):
    runs = {(r["endpoint"], r["mode"], r["dash_l"]) for r in results["ab"]}
    assert runs == {
        (endpoint, mode, dash_l)
        for endpoint in ("ping", "albums")
        for mode in ("-t", "-n")
        for dash_l in (False, True)
    }
    for run in results["ab"]:
        assert {"failed_requests", "failed_by_kind", "server_logged", "ab_rps"} <= set(run)
        assert run["command"].startswith("ab -H 'Accept-Encoding: gzip'")
        # Whatever ab counted as failed, the server logged an answer for each of its requests.
        assert sum(run["server_logged"].values()) >= run["requests"]
    assert sum(run["requests"] for run in results["ab"]) > 0


def test_constant_rate_targets_and_machine_are_recorded(results):
    assert len(results["constant_rate"]) == len(QUICK.rate_fractions)
    for run in results["constant_rate"]:
        assert {"target_rate", "sent", "scheduler_lag_ms", "latency_ms"} <= set(run)
    assert {t["name"] for t in results["targets"]} >= {
        "ping throughput",
        "ping under gunicorn vs stock Django, same server",
        "albums throughput",
        "albums under gunicorn vs stock Django, same server",
        "albums: cost of counting the dashboard's figures",
        "ping under gunicorn (shipped) vs stock Django under gunicorn",
        "albums under gunicorn (shipped) vs stock Django under gunicorn",
        "albums p99 at 64 connections",
        "errors up to 1,000 connections",
        "MariaDB connections held by MiniHub",
    }
    assert all(isinstance(t["met"], bool) for t in results["targets"])
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["memory_gib"] > 0
    assert set(VERSIONS) <= set(machine["versions"])


def test_markdown_report_has_every_section_and_links_its_plots(quick_run, results):
    output, _finished = quick_run
    stem = results["json_name"].removesuffix(".json")
    report = (output / f"{stem}.md").read_text()
    positions = [report.index(section) for section in REPORT_SECTIONS]
    assert positions == sorted(positions)
    for plot in ("qps", "p99", "matrix"):
        assert f"]({stem}-{plot}.png)" in report


def test_each_run_is_kept_once_and_the_index_names_it(quick_run, results):
    output, _finished = quick_run
    stem = results["json_name"].removesuffix(".json")
    assert not list(output.glob("latest*")), sorted(p.name for p in output.iterdir())
    index = (output / "INDEX.md").read_text()
    assert f"| [{stem}]({stem}.md) | quick |" in index
    # A quick run's figures are not the headline: only a full run gets the table.
    assert "Newest full run" not in index


def test_plots_are_valid_png_files(quick_run, results):
    output, _finished = quick_run
    stem = results["json_name"].removesuffix(".json")
    for plot in ("qps", "p99", "matrix"):
        width, height = _png_size((output / f"{stem}-{plot}.png").read_bytes())
        assert width > 200 and height > 200


def test_the_bench_calls_shipped_what_gunicorn_ships(tmp_path, monkeypatch):
    import runpy

    monkeypatch.setenv("MINIHUB_RUN_DIR", str(tmp_path))
    monkeypatch.delenv("GUNICORN_WORKER_CLASS", raising=False)
    config = runpy.run_path(str(PROJECT_DIR / "deploy" / "gunicorn.conf.py"))
    assert config["worker_class"] == SHIPPED[1]


def test_ab_counts_the_access_lines_of_its_requests_in_either_format(tmp_path):
    from bench.abstudy import access_log_since

    log = tmp_path / "server.log"
    log.write_text(
        '127.0.0.1 "GET /api/v2/albums/7 HTTP/1.0" 200 120 3ms "ApacheBench/2.3" rid=a\n'
        "[2026-12-01 10:00:00 +0000] 127.0.0.1 - "
        '"GET /api/v2/albums/7 HTTP/1.0" 200 1.250\n'
        '127.0.0.1 "POST /api/v2/albums/7/plays HTTP/1.1" 202 - 1ms "Python" rid=b\n'
        '127.0.0.1 "GET /api/v2/ping HTTP/1.0" 200 15 0ms "ApacheBench/2.3" rid=c\n'
    )
    logged = access_log_since(log, 0, target="/api/v2/albums/7")
    assert logged.statuses == {"200": 2}
    assert logged.body_sizes == {"120": 1}  # granian's own line has no size


def _row(configuration, rps, endpoint="ping"):
    return {
        "configuration": configuration,
        "endpoint": endpoint,
        "rps": rps,
        "latency_ms": {"p99": 10.0},
    }


def _previous(*rows):
    return {
        "date": "2026-11-30",
        "mode": "full",
        "json_name": "2026-11-30-vm.json",
        "side_by_side": list(rows),
    }


# This run: MiniHub under gunicorn (shipped) and under granian, the variant under gunicorn.
NOW = [
    _row("minihub", 220.0),
    _row("minihub-granian", 330.0),
    _row("minihub-without-figures", 231.0),
    _row("minihub-nginx", 110.0),
]


def test_a_run_from_when_granian_was_shipped_is_compared_server_by_server():
    from bench import report

    # Then: "minihub" was granian, "minihub-gunicorn" gunicorn, the variant and nginx granian.
    previous = _previous(
        _row("minihub", 300.0),
        _row("minihub-gunicorn", 200.0),
        _row("minihub-without-figures", 310.0),
        _row("minihub-nginx", 150.0),
    )
    text = report._previous({"previous": previous, "side_by_side": NOW})
    assert "| `minihub` ping | 200 | 220 | +10 % |" in text
    assert "| `minihub-granian` ping | 300 | 330 | +10 % |" in text
    assert "`minihub-without-figures` ping |" not in text
    assert "`minihub-nginx` ping |" not in text
    assert "then under granian, are left out" in text


def test_a_run_from_before_granian_was_shipped_is_compared_as_it_is():
    from bench import report

    # Then as now: "minihub" gunicorn, "minihub-granian" granian, the variant and nginx gunicorn.
    previous = _previous(
        _row("minihub", 200.0),
        _row("minihub-granian", 300.0),
        _row("minihub-without-figures", 210.0),
        _row("minihub-nginx", 100.0),
    )
    text = report._previous({"previous": previous, "side_by_side": NOW})
    assert "| `minihub` ping | 200 | 220 | +10 % |" in text
    assert "| `minihub-granian` ping | 300 | 330 | +10 % |" in text
    assert "| `minihub-without-figures` ping | 210 | 231 | +10 % |" in text
    assert "| `minihub-nginx` ping | 100 | 110 | +10 % |" in text
    assert "left out" not in text


def test_the_shipped_ratio_names_the_alternatives_ratio_beside_it():
    from bench import targets

    side_by_side = [
        _row("stock-django", 100.0),
        _row("minihub", 90.0),
        _row("minihub-granian", 240.0),
    ]
    assert targets.WEB_TIERS == {"minihub": "gunicorn", "minihub-granian": "granian"}
    layers = targets._ratio(
        side_by_side, "ping", targets.SAME_SERVER, targets.RATIO_TO_FLOOR, "layers"
    )
    assert (layers["value"], layers["met"]) == ("0.90x", True)
    shipped = targets._shipped_ratio(side_by_side, "ping", 1.5)
    assert shipped["name"] == "ping under gunicorn (shipped) vs stock Django under gunicorn"
    assert (shipped["value"], shipped["met"]) == ("0.90x", False)
    assert shipped["detail"].startswith("90 vs 100 req/s")
    assert shipped["detail"].endswith("the alternative, granian (`minihub-granian`): 2.40x")
