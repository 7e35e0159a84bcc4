"""Real processes for system tests: supervisord + the web server + RQ, load generators, ports."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench.cpu import descendants
from bench.memory import mariadb_connections
from tests.helpers import PROJECT_DIR, test_process_env

CTL = str(PROJECT_DIR / "deploy" / "supervisor" / "minihubctl")
WEB_SERVERS = ["gunicorn", "granian"]  # the default first
# Workers replaced all along, and how each server says so in web.log.
RECYCLING = {
    # A worker past GRANIAN_WORKERS_MAX_RSS MiB: 1 MiB, sampled every second.
    "granian": (
        {
            "GRANIAN_WORKERS_MAX_RSS": "1",
            "GRANIAN_RSS_SAMPLE_INTERVAL": "1",
            "GRANIAN_RSS_SAMPLES": "1",
        },
        "RSS over threshold, gracefully respawning",
    ),
    "gunicorn": (
        # About a second of a worker's requests under the tests' load.
        {"GUNICORN_MAX_REQUESTS": "1000", "GUNICORN_MAX_REQUESTS_JITTER": "100"},
        "Autorestarting worker after current request",
    ),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception:
            result = None
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s")


@dataclass
class Stack:
    """One supervisord running MiniHub's programs in a private run directory."""

    run_dir: Path
    port: int
    env: dict

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [CTL, "test", *args], env=self.env, capture_output=True, text=True, timeout=400
        )
        return result.stdout + result.stderr

    def supervisorctl(self, *args: str) -> str:
        conf = PROJECT_DIR / "deploy" / "supervisor" / "supervisord.test.conf"
        result = subprocess.run(
            [str(PROJECT_DIR / ".venv/bin/supervisorctl"), "-c", str(conf), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        return result.stdout + result.stderr

    def pids(self) -> dict[str, int]:
        found = {}
        for line in self.supervisorctl("status").splitlines():
            match = re.match(r"^(\S+)\s+RUNNING\s+pid (\d+)", line)
            if match:
                found[match.group(1)] = int(match.group(2))
        return found

    def web_workers(self) -> list[int]:
        """The web server's worker processes (granian's or gunicorn's)."""
        master = self.pids()["minihub:web"]
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def reload_web(self, *, times: int = 2, pause: float = 2.5) -> None:
        """HUP the web server `times` times, `pause` seconds apart (as a deploy does)."""
        for _ in range(times):
            time.sleep(pause)
            assert "signalled" in self.supervisorctl("signal", "HUP", "minihub:web")

    def live(self) -> bool:
        return requests.get(self.base_url + "/api/v2/health/live", timeout=2).status_code == 200

    def web_database_connections(self) -> int:
        """The web tier's own connections to MariaDB (RQ jobs and tests hold others)."""
        main_process = self.pids()["minihub:web"]
        web_tier = [main_process, *descendants(main_process)]
        return mariadb_connections(web_tier, urlsplit(self.env["DATABASE_URL"]).port or 3306)


@contextmanager
def supervised_stack(tmp_path: Path, **extra_env: str):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        **test_process_env(),
        "MINIHUB_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GRANIAN_WORKERS": "2",
        "MINIHUB_RUN_DIR": str(tmp_path),
        "MINIHUB_RQ_WORKERS": "2",
        "LOG_FORMAT": "plain",
        **extra_env,
    }
    stack = Stack(run_dir=tmp_path, port=port, env=env)
    stack.ctl("start")
    try:
        wait_until(stack.live, timeout=30, what="the web server answering")
        programs = 2 + int(env["MINIHUB_RQ_WORKERS"])  # web, cron and the RQ workers
        wait_until(lambda: len(stack.pids()) == programs, timeout=30, what="all programs RUNNING")
        yield stack
    finally:
        _stop(stack)


def _stop(stack: Stack) -> None:
    pidfile = stack.run_dir / "pids" / "supervisord.pid"
    if pidfile.exists() and _alive(int(pidfile.read_text())):
        stack.ctl("stop")
        wait_until(lambda: not pidfile.exists(), timeout=60, what="supervisord stopped")
    # Whatever outlived supervisord (a test killed it) would take later tests' jobs.
    for pid in processes_of_run_dir(stack.run_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def processes_of_run_dir(run_dir: Path) -> list[int]:
    """Processes started for this run directory (their environment names it)."""
    marker = f"MINIHUB_RUN_DIR={run_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie waiting for its parent has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class LoadResult:
    requests: int
    non_2xx: int
    socket_errors: int
    output: str


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 2,
    timeout: str = "10s",
    headers: dict[str, str] | None = None,
):
    """Run wrk against a URL; returns counts parsed from its report."""
    header_args = [
        arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")
    ]
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={timeout}",
            *header_args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=_raise_fd_limit,
    )
    out = result.stdout + result.stderr
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return LoadResult(
        requests=int(total.group(1)) if total else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        output=out,
    )


def _raise_fd_limit():
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def kill(pid: int, sig=signal.SIGKILL) -> None:
    os.kill(pid, sig)
