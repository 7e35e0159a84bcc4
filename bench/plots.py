"""The report's PNG plots: QPS and p99 against concurrency (one line per configuration), and
the driver x worker matrix."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

DPI = 110


def _sweep_axes(title: str, ylabel: str):
    figure, axes = plt.subplots(figsize=(9, 5.5))
    axes.set_xscale("log")
    axes.set_xlabel("concurrent connections (wrk)")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    return figure, axes


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def sweep_plot(sweep: dict, *, value: str, path: Path, title: str) -> None:
    """`value`: "rps" or "p99" of each point of each line of the sweep. Both on a log scale:
    nginx's static answers are orders of magnitude above the Python lines."""
    unit = "requests per second" if value == "rps" else "p99 latency (ms)"
    figure, axes = _sweep_axes(title, f"{unit}, log scale")
    axes.set_yscale("log")
    for label, points in sweep["lines"].items():
        xs = [p["connections"] for p in points]
        # A point with no answer at all (0) has no place on a log scale: drawn at 0.01.
        ys = [max(p["rps"] if value == "rps" else p["latency_ms"]["p99"], 0.01) for p in points]
        style = "--" if label.startswith(("nginx-static", "bare-wsgi", "stock-django")) else "-"
        axes.plot(xs, ys, style, marker="o", label=label)
    axes.set_xticks(sweep["concurrency"], [str(c) for c in sweep["concurrency"]])
    axes.legend(fontsize=8, loc="best")
    _save(figure, path)


def matrix_plot(matrix: list[dict], *, path: Path, title: str) -> None:
    """Bars of req/s per driver x worker class, p99 written on each bar."""
    figure, axes = plt.subplots(figsize=(9, 5))
    labels = [f"{cell['driver']}\n{cell['worker_class']}" for cell in matrix]
    values = [cell.get("rps", 0.0) for cell in matrix]
    bars = axes.bar(range(len(matrix)), values, color=["#4C72B0", "#55A868", "#C44E52"] * 2)
    for bar, cell in zip(bars, matrix, strict=True):
        note = f"p99 {cell['latency_ms']['p99']:.0f} ms" if "latency_ms" in cell else "failed"
        axes.annotate(
            note,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.set_xticks(range(len(matrix)), labels)
    axes.set_ylabel("requests per second")
    axes.set_title(title)
    axes.grid(True, axis="y", alpha=0.3)
    _save(figure, path)


def draw_all(results: dict, *, paths: dict[str, Path]) -> None:
    sweep, endpoint = results["sweep"], results["matrix_endpoint"]
    sweep_plot(sweep, value="rps", path=paths["qps"], title="Throughput vs concurrency")
    sweep_plot(sweep, value="p99", path=paths["p99"], title="p99 latency vs concurrency")
    matrix_plot(
        results["matrix"],
        path=paths["matrix"],
        title=f"Driver x worker class, {endpoint} at {results['matrix_connections']} connections",
    )
