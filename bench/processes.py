"""The processes the bench starts, and only those: every one is stopped on exit, error or Ctrl-C."""

import os
import resource
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
STOP_TIMEOUT_SECONDS = 25  # above gunicorn's graceful_timeout and granian's kill timeout (20 s)


def raise_fd_limit() -> None:
    """Up to 1,000 connections per run: the soft limit of open files goes up to the hard one
    (called once at start; every child inherits it)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log_path: Path
    stop_signal: int

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Processes:
    """Started children, stopped in reverse order by `stop_all` (and by the `with` block)."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._children: list[Child] = []

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        stop_signal: int = signal.SIGTERM,
    ) -> Child:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            # A session of its own: a Ctrl-C in the terminal reaches the bench only,
            # which then stops each child in order.
            popen = subprocess.Popen(  # noqa: S603 - fixed argv built by the bench
                argv,
                cwd=PROJECT_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name=name, popen=popen, log_path=log_path, stop_signal=stop_signal)
        self._children.append(child)
        return child

    def stop(self, child: Child) -> None:
        self.stop_together([child])

    def stop_all(self) -> None:
        self.stop_together(list(reversed(self._children)))

    def stop_together(self, children: list[Child]) -> None:
        """Signal them all, then wait for each: their graceful shutdowns overlap."""
        for child in children:
            if child in self._children:
                self._children.remove(child)
            if child.alive():
                child.popen.send_signal(child.stop_signal)
        for child in children:
            try:
                child.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                # Its own process group (start_new_session): the child and its workers only.
                os.killpg(child.pid, signal.SIGKILL)
                child.popen.wait(timeout=STOP_TIMEOUT_SECONDS)

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str
    cpu_seconds: float  # user + system time of the process (and children it waited for)


def run_measured(argv: list[str], *, timeout: float) -> Finished:
    """Run a load generator to the end; its output and the CPU time it used."""
    with tempfile.TemporaryFile() as out:
        popen = subprocess.Popen(  # noqa: S603 - fixed argv built by the bench
            argv,
            cwd=PROJECT_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            status, usage = _wait_with_usage(popen, timeout)
        except BaseException:  # Ctrl-C or SIGTERM: the generator goes too
            popen.kill()
            os.wait4(popen.pid, 0)
            raise
        out.seek(0)
        output = out.read().decode(errors="replace")
    return Finished(
        returncode=os.waitstatus_to_exitcode(status),
        output=output,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
    )


def _wait_with_usage(popen: subprocess.Popen, timeout: float):
    """wait4() rather than Popen.wait(): it also answers the child's resource usage."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(popen.pid, os.WNOHANG)
        if pid:
            popen.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        if time.monotonic() > deadline:
            popen.kill()
            _pid, status, usage = os.wait4(popen.pid, 0)
            popen.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        time.sleep(0.05)
