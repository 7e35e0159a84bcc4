"""The seed's ApacheBench study, redone: its flags, without and with `-l`, against what the
server itself logged.

The seed saw many "Failed requests" on its DB + Redis view while gunicorn (its
server) logged only 200s; here the server is the shipped one, gunicorn again, with
MiniHub's access line (minihub/core/access_log.py, the same line under granian).
ab counts an answer as failed ("Length") when its body length differs from the
FIRST answer's. Dynamic JSON changes length: here the album's `plays`, which
listeners keep raising while ab reads it (9 -> 10 -> 100 ... one more
digit each time). The plain /ping body never changes, so it shows no failures.
"""

import http.client
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.cpu import wait_idle
from bench.loadgen.ab import ab
from bench.loadgen.result import LoadResult

LISTENERS_DELAY_SECONDS = 0.2
SETTLE_TIMEOUT_SECONDS = 60
# An access line's request and status, and the body size when the line has one: MiniHub's
# line (minihub/core/access_log.py, under either server: h "r" s b ...ms "a" rid=...) or
# granian's own (... "r" s ms, no size).
ACCESS_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" (?P<status>\d{3})(?: (?P<size>\d+|-) )?'
)


class Listeners(threading.Thread):
    """Counts plays of one album as fast as one client can, from just after ab's first
    answers (the album starts at 9 plays) until ab is done."""

    def __init__(self, base_url: str, *, album_id: int, appid: str):
        super().__init__(daemon=True)
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.path = f"/api/v2/albums/{album_id}/plays"
        self.headers = {"X-Mini-Program": appid, "Content-Length": "0"}
        self.plays = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        self._stopping.wait(LISTENERS_DELAY_SECONDS)
        while not self._stopping.is_set():
            connection.request("POST", self.path, headers=self.headers)
            answer = connection.getresponse()
            answer.read()
            self.plays += answer.status == 202

    def stop(self) -> int:
        self._stopping.set()
        self.join(timeout=15)
        return self.plays


@dataclass(frozen=True)
class ServerLog:
    """What the server logged for ab's requests: statuses and body sizes (when its line
    has them)."""

    statuses: dict[str, int]
    body_sizes: dict[str, int]


def access_log_since(log_path: Path, offset: int, *, target: str) -> ServerLog:
    """ab's requests in the log from `offset`: every GET of `target` (the listeners POST)."""
    statuses: Counter = Counter()
    sizes: Counter = Counter()
    with log_path.open("rb") as log:
        log.seek(offset)
        for line in log.read().decode(errors="replace").splitlines():
            match = ACCESS_LINE.search(line)
            if match and match["method"] == "GET" and match["target"] == target:
                statuses[match["status"]] += 1
                if match["size"]:
                    sizes[match["size"]] += 1
    return ServerLog(statuses=dict(statuses), body_sizes=dict(sizes))


@dataclass(frozen=True)
class AbRun:
    endpoint: str
    mode: str  # "-t" or "-n"
    variable_length: bool
    load: LoadResult
    server_log: ServerLog
    plays_during_run: int | None

    def to_json(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "mode": self.mode,
            "dash_l": self.variable_length,
            **self.load.to_json(),
            "server_logged": self.server_log.statuses,
            "server_body_sizes": self.server_log.body_sizes,
            "plays_during_run": self.plays_during_run,
        }


def ab_run(
    *,
    url: str,
    endpoint: str,
    mode: str,
    variable_length: bool,
    concurrency: int,
    seconds: int,
    requests: int,
    headers: dict[str, str],
    log_path: Path,
    server_pids: list[int],
    listeners: Listeners | None,
) -> AbRun:
    offset = log_path.stat().st_size
    if listeners:
        listeners.start()
    try:
        load = ab(
            url,
            concurrency=concurrency,
            seconds=seconds if mode == "-t" else None,
            requests=requests if mode == "-n" else None,
            variable_length=variable_length,
            headers=headers,
        )
    finally:
        plays = listeners.stop() if listeners else None
    # A line may be written after its answer: let the last lines reach the log.
    wait_idle(server_pids, timeout=SETTLE_TIMEOUT_SECONDS)
    parts = urlsplit(url)
    return AbRun(
        endpoint=endpoint,
        mode=mode,
        variable_length=variable_length,
        load=load,
        server_log=access_log_since(
            log_path, offset, target=parts.path + (f"?{parts.query}" if parts.query else "")
        ),
        plays_during_run=plays,
    )
