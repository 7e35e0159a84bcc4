"""The results directory: one `<date>-<host>.json`, `.md` and plots per run, and `INDEX.md`,
which lists every run, newest first, and carries the newest full run's headline table."""

import json
from pathlib import Path

INDEX = "INDEX.md"
SUFFIXES = {
    "json": ".json",
    "md": ".md",
    "qps": "-qps.png",
    "p99": "-p99.png",
    "matrix": "-matrix.png",
    "profile": "-profile.svg",
    "profile_ping": "-profile-ping.svg",
}
IMAGES = ("qps", "p99", "matrix", "profile", "profile_ping")


class Outputs:
    def __init__(self, directory: Path, *, stem: str):
        self.directory = directory
        self.stem = stem
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, kind: str) -> Path:
        return self.directory / f"{self.stem}{SUFFIXES[kind]}"

    def write(self, results: dict, *, plots, report) -> None:
        """JSON, plots and report under the dated name, then the index of every run."""
        self.path("json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        plots.draw_all(results, paths={kind: self.path(kind) for kind in ("qps", "p99", "matrix")})
        images = {kind: self.path(kind).name for kind in IMAGES}
        self.path("md").write_text(report.render(results, images=images))
        index_write(self.directory, report=report)


def _runs(directory: Path) -> list[dict]:
    """Every run's results in `directory`, newest first (unreadable files are skipped)."""
    runs = []
    for path in directory.glob("*.json"):
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(results, dict) and "started_at" in results and "mode" in results:
            runs.append({**results, "_stem": path.stem})
    return sorted(runs, key=lambda r: r["started_at"], reverse=True)


def index_write(directory: Path, *, report) -> Path:
    """`INDEX.md`: the newest full run's headline table, then every run with its report."""
    runs = _runs(directory)
    full = [r for r in runs if r["mode"] == "full"]
    lines = ["# Benchmark runs", ""]
    lines += [
        "Written by `make bench` after each run. How to read a report: "
        "[bench/README.md](../README.md).",
        "",
    ]
    if full:
        newest = full[0]
        lines += [
            f"## Newest full run: [{newest['_stem']}]({newest['_stem']}.md)",
            "",
            report.headline_table(newest).rstrip("\n"),
            "",
        ]
    lines += ["## Every run, newest first", ""]
    lines += ["| run | mode | command |", "|---|---|---|"]
    for run in runs:
        lines.append(
            f"| [{run['_stem']}]({run['_stem']}.md) | {run['mode']} | `{run.get('command', '')}` |"
        )
    path = directory / INDEX
    path.write_text("\n".join(lines) + "\n")
    return path


def previous_run(directory: Path, *, mode: str) -> dict | None:
    """The latest earlier run of the same mode in `directory`, for a before/after table."""
    runs = [r for r in _runs(directory) if r["mode"] == mode and "side_by_side" in r]
    if not runs:
        return None
    latest = runs[0]
    return {
        key: latest[key]
        for key in ("date", "started_at", "mode", "json_name", "side_by_side")
        if key in latest
    }
