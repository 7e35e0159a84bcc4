"""A py-spy profile of a web server's workers under load: a flame graph (SVG) to open, and a
summary of where the CPU time goes for the report.

py-spy samples the workers from outside (no code change, no restart); only samples of
a thread running on the CPU are kept, so the figures are shares of CPU time.
"""

import re
import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.processes import VENV_BIN

SAMPLE_RATE = 200  # per second and process
# Where a sample's innermost frame is decides its layer; first match wins.
LAYERS = (
    ("MariaDB driver (PyMySQL / mysqlclient)", ("pymysql/", "MySQLdb/")),
    ("connection pool (SQLAlchemy)", ("sqlalchemy/", "dj_db_conn_pool/")),
    ("Redis client", ("redis/",)),
    ("Django ORM / SQL", ("django/db/",)),
    ("django-ninja + pydantic", ("ninja/", "pydantic")),
    ("Django request handling and middleware", ("django/",)),
    ("MiniHub code", ("minihub/", "config/")),
    ("Sentry SDK", ("sentry_sdk/",)),
    ("gunicorn (HTTP parsing, access log)", ("gunicorn/",)),
    ("granian (WSGI bridge)", ("granian/",)),
    ("logging", ("logging/",)),
    ("json", ("json/",)),
)
# Socket calls and gevent's waiting: a sample there is charged to the layer that called it,
# as "<layer>: socket I/O" (on loopback a send also runs the receiver's TCP stack).
IO_MARKERS = ("gevent/", "greenlet", "socket.py", "selectors.py", "ssl.py")
EVENT_LOOP = "the server's event loop (selectors or gevent's hub)"
OWN_CODE = ("minihub/", "config/")
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


class ProfileFailed(RuntimeError):
    pass


def py_spy() -> str | None:
    found = VENV_BIN / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


@dataclass
class Recording:
    svg: Path
    raw: Path
    processes: list[subprocess.Popen]


def start(pid: int, *, seconds: float, svg: Path, raw: Path) -> Recording:
    """Record the process and its children (the server's workers): an SVG and collapsed stacks.

    Two recorders side by side, both non-blocking (they never pause the workers).
    """
    binary = py_spy()
    if binary is None:
        raise FileNotFoundError("py-spy is not installed (pip install py-spy)")
    common = [
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--nonblocking",
        "--rate",
        str(SAMPLE_RATE),
        "--duration",
        str(max(1, round(seconds))),
    ]
    processes = [
        subprocess.Popen(  # noqa: S603 - fixed argv
            [binary, *common, "--format", fmt, "--output", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for fmt, path in (("flamegraph", svg), ("raw", raw))
    ]
    return Recording(svg=svg, raw=raw, processes=processes)


def cancel(recording: Recording) -> None:
    for process in recording.processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def finish(recording: Recording, *, timeout: float) -> None:
    for process in recording.processes:
        try:
            _out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
            _out, err = process.communicate(timeout=30)
        if process.returncode != 0 and not (recording.svg.exists() and recording.raw.exists()):
            raise ProfileFailed(f"py-spy failed: {err.decode(errors='replace')[-1000:]}")


def _frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame, outermost first; py-spy's process/thread roots dropped."""
    frames = []
    for text in stack.split(";"):
        match = FRAME.match(text.strip())
        if match:
            frames.append((match["function"], match["file"]))
    return frames


def _file_layer(file: str) -> str:
    for name, markers in LAYERS:
        if any(marker in file for marker in markers):
            return name
    return "other (Python runtime, C code)"


def _innermost(frames: list[tuple[str, str]]) -> tuple[tuple[str, str] | None, bool]:
    """The innermost frame that is not socket I/O or gevent, and whether I/O was under it."""
    in_io = False
    for function, file in reversed(frames):
        if any(marker in file for marker in IO_MARKERS):
            in_io = True
            continue
        return (function, file), in_io
    return None, in_io


def _layer(frames: list[tuple[str, str]]) -> str:
    frame, in_io = _innermost(frames)
    if frame is None:
        return EVENT_LOOP
    layer = _file_layer(frame[1])
    return f"{layer}: socket I/O" if in_io else layer


def _self_function(frames: list[tuple[str, str]]) -> str:
    frame, in_io = _innermost(frames)
    if frame is None:
        return EVENT_LOOP
    return f"{frame[0]} ({frame[1]})" + (": socket I/O" if in_io else "")


def summarize(raw: Path, *, top: int = 15) -> dict:
    """Shares of CPU samples: by layer and by function of the innermost frame (socket I/O
    charged to its caller), and MiniHub's own functions inclusive of what they call."""
    by_layer: Counter = Counter()
    by_function: Counter = Counter()
    minihub: Counter = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        total += count
        by_layer[_layer(frames)] += count
        by_function[_self_function(frames)] += count
        for frame in {f"{f} ({file})" for f, file in frames if file.startswith(OWN_CODE)}:
            minihub[frame] += count

    def shares(counter: Counter, key: str) -> list[dict]:
        return [
            {key: name, "pct": round(100 * n / total, 1) if total else 0.0}
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "by_layer": shares(by_layer, "layer"),
        "top_self": shares(by_function, "function"),
        "minihub_inclusive": shares(minihub, "function"),
    }
