"""The results directory: `<date>-<host>.json`, `.md` and PNG plots, plus `latest.*` copies
with stable names for the README to link."""

import json
import shutil
from pathlib import Path

LATEST = "latest"
SUFFIXES = {
    "json": ".json",
    "md": ".md",
    "qps": "-qps.png",
    "p99": "-p99.png",
    "matrix": "-matrix.png",
    "profile": "-profile.svg",
    "profile_ping": "-profile-ping.svg",
    "table": "-table.md",
}
IMAGES = ("qps", "p99", "matrix", "profile", "profile_ping")


class Outputs:
    def __init__(self, directory: Path, *, stem: str):
        self.directory = directory
        self.stem = stem
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, kind: str, *, stem: str | None = None) -> Path:
        return self.directory / f"{stem or self.stem}{SUFFIXES[kind]}"

    def _images(self, stem: str) -> dict[str, str]:
        return {kind: self.path(kind, stem=stem).name for kind in IMAGES}

    def write(self, results: dict, *, plots, report) -> None:
        """JSON, plots and report under the dated name, then the `latest` copies."""
        self.path("json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        plots.draw_all(results, paths={kind: self.path(kind) for kind in ("qps", "p99", "matrix")})
        for stem in (self.stem, LATEST):
            self.path("md", stem=stem).write_text(report.render(results, images=self._images(stem)))
        self.path("table", stem=LATEST).write_text(report.readme_table(results))
        for kind in ("json", "qps", "p99", "matrix", "profile", "profile_ping"):
            source, latest = self.path(kind), self.path(kind, stem=LATEST)
            if source.exists():
                shutil.copyfile(source, latest)
            elif latest.exists():
                latest.unlink()  # this run has none: no stale copy from an older run


def previous_run(directory: Path, *, mode: str) -> dict | None:
    """The latest earlier run of the same mode in `directory`, for a before/after table."""
    runs = []
    for path in directory.glob("*.json"):
        if path.stem == LATEST:
            continue
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if results.get("mode") == mode and "side_by_side" in results:
            runs.append(results)
    if not runs:
        return None
    latest = max(runs, key=lambda r: r.get("started_at", ""))
    return {
        key: latest[key]
        for key in ("date", "started_at", "mode", "json_name", "side_by_side")
        if key in latest
    }
