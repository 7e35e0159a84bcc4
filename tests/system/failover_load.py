"""Load during a fault: wrk on the request mix, and a probe that times every answer.

wrk (failover_mix.lua) makes the load and counts failed requests and acknowledged
plays; it cannot say when a failure happened, so a probe beside it sends the same
mix one request at a time and records each answer's time: the longest gap between
two successful answers, and when the last failure of each kind was. Both are bounded
in time; traffic goes to 127.0.0.1 only.
"""

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.system.stack import _raise_fd_limit

MIX_SCRIPT = Path(__file__).with_name("failover_mix.lua")
PROBE_TIMEOUT_SECONDS = 5
PROBE_PAUSE_SECONDS = 0.02


@dataclass(frozen=True)
class MixTarget:
    base_url: str  # http://127.0.0.1:PORT, no path
    appid: str
    token: str
    album_id: int

    KINDS = (
        ("GET /albums/<id>", "GET", "/api/v2/albums/{album_id}"),
        ("GET /me", "GET", "/api/v2/me"),
        ("POST /albums/<id>/plays", "POST", "/api/v2/albums/{album_id}/plays"),
    )

    def requests(self) -> list[tuple[str, str, str]]:
        return [
            (kind, method, self.base_url + path.format(album_id=self.album_id))
            for kind, method, path in self.KINDS
        ]

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"X-Mini-Program": self.appid, "Authorization": f"Bearer {token or self.token}"}


@dataclass
class ProbeAnswer:
    at: float  # time.monotonic()
    kind: str
    status: int  # 0: no answer (connection refused, timeout)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class LoadReport:
    wrk: dict
    answers: list[ProbeAnswer] = field(default_factory=list)
    started: float = 0.0

    @property
    def failed_requests(self) -> int:
        probe_failed = sum(not answer.ok for answer in self.answers)
        return self.wrk["failed_status"] + self.wrk["socket_errors"] + probe_failed

    @property
    def plays_acknowledged(self) -> int:
        probe_plays = sum(answer.status == 202 for answer in self.answers)
        return self.wrk["plays_acknowledged"] + probe_plays

    def unanswered(self, *, connections: int) -> int:
        """Requests the server may have handled with no answer seen: timeouts and broken
        connections, and wrk's requests in flight when its time ran out."""
        probe_unanswered = sum(answer.status == 0 for answer in self.answers)
        return self.wrk["socket_errors"] + probe_unanswered + connections

    def longest_gap(self) -> tuple[float, float, str]:
        """(seconds, start, kind): the longest time the probe went without a successful
        answer to one kind of request."""
        longest = (0.0, self.started, "")
        for kind, _method, _url in MixTarget.KINDS:
            last_ok = self.started
            for answer in self.answers:
                if answer.kind == kind and answer.ok:
                    longest = max(longest, (answer.at - last_ok, last_ok, kind))
                    last_ok = answer.at
        return longest

    def last_failure(self, kind_prefix: str) -> float | None:
        """When the probe last saw a failed request of this kind (None: never)."""
        failures = [a.at for a in self.answers if not a.ok and a.kind.startswith(kind_prefix)]
        return max(failures, default=None)

    def summary(self, fault_at: float) -> str:
        gap, gap_start, gap_kind = self.longest_gap()
        return (
            f"requests {self.wrk['requests'] + len(self.answers)} "
            f"(wrk {self.wrk['requests']}, probe {len(self.answers)}), "
            f"failed {self.failed_requests} "
            f"(wrk status {self.wrk['failed_status']}, wrk socket {self.wrk['socket_errors']}, "
            f"probe {sum(not a.ok for a in self.answers)}), "
            f"longest gap {gap:.2f} s ({gap_kind}, "
            f"from {gap_start - fault_at:+.2f} s after the fault), "
            f"plays acknowledged {self.plays_acknowledged}"
        )


class FailoverLoad:
    """wrk and the probe for `seconds`; use as a context manager, read `.report` after."""

    def __init__(self, target: MixTarget, *, seconds: int, connections: int = 8):
        self.target = target
        self.seconds = seconds
        self.connections = connections
        self.report: LoadReport | None = None
        self._stop = threading.Event()
        self._answers: list[ProbeAnswer] = []

    def __enter__(self) -> "FailoverLoad":
        self.started = time.monotonic()
        self._wrk = subprocess.Popen(
            wrk_mix_command(self.target, seconds=self.seconds, connections=self.connections),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_raise_fd_limit,
        )
        self._probe = threading.Thread(target=self._run_probe, daemon=True)
        self._probe.start()
        return self

    def _run_probe(self) -> None:
        session = requests.Session()
        mix = self.target.requests()
        deadline = self.started + self.seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            for kind, method, url in mix:
                try:
                    status = session.request(
                        method, url, headers=self.target.headers(), timeout=PROBE_TIMEOUT_SECONDS
                    ).status_code
                except requests.RequestException:
                    status = 0
                    session = requests.Session()  # a broken keep-alive connection
                self._answers.append(ProbeAnswer(at=time.monotonic(), kind=kind, status=status))
                time.sleep(PROBE_PAUSE_SECONDS)

    def __exit__(self, *exc_info) -> None:
        try:
            output, _ = self._wrk.communicate(timeout=self.seconds + 60)
        finally:
            self._stop.set()
            self._probe.join(timeout=PROBE_TIMEOUT_SECONDS + 5)
            if self._wrk.poll() is None:
                self._wrk.kill()
        self.report = LoadReport(
            wrk=mix_counts(output), answers=self._answers, started=self.started
        )


def wrk_mix_command(target: MixTarget, *, seconds: int, connections: int) -> list[str]:
    """wrk on the request mix (any base URL: the app server's or nginx's)."""
    return [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout=5s",
        "-s",
        str(MIX_SCRIPT),
        target.base_url,
        "--",
        str(target.album_id),
        target.token,
        target.appid,
    ]


def mix_counts(output: str) -> dict:
    """What failover_mix.lua counted: requests, ok, failed_status, socket_errors,
    plays_acknowledged, latency_max_ms."""
    match = re.search(r"^FAILOVER_JSON (.*)$", output, re.MULTILINE)
    assert match, f"wrk printed no report:\n{output[-2000:]}"
    return json.loads(match.group(1))


def wrk_mix(target: MixTarget, *, seconds: int, connections: int) -> dict:
    """wrk on the request mix for `seconds`, no probe beside it; its counts."""
    result = subprocess.run(
        wrk_mix_command(target, seconds=seconds, connections=connections),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=_raise_fd_limit,
    )
    return mix_counts(result.stdout + result.stderr)
