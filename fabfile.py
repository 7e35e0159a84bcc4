"""Deploy MiniHub over SSH, with a health check before and after and automatic rollback.

    fab -H web1,web2 deploy --env master [--ref v1.4] [--root /srv/minihub] [--port 8000]
    fab -H web1 rollback --env master
    fab -H web1 status --env master
    fab -H web1 logs --env master [--program web|access|rq|cron|all] [--lines 100] [--follow]

On each host (ROOT is --root):

    ROOT/releases/<UTC timestamp>-<short sha>/  `git archive` of the ref, a RELEASE file, its .venv
    ROOT/current -> releases/<id>               what supervisor runs; switched atomically
    ROOT/shared/<env>.env                       the secrets (VAR=value lines, read as data by
                                                deploy/env_file.py), never in the repo
    ROOT/shared/run/{logs,pids,socks}/          MINIHUB_RUN_DIR
    ROOT/shared/bin/                            this deploy's helpers (deploy/fabric/, the env
                                                file reader deploy/env_file.*)

A new release gets traffic only after a throwaway web server serving it answered
/api/v2/health. If the live server then does not report it, healthy, within
--check-timeout seconds, `current` goes back to the previous release, the
programs are reloaded again, and the deploy fails. Hosts are deployed one after
the other; the first failure stops the rollout.
"""

import atexit
import functools
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from fabric import Connection, task
from invoke.exceptions import Exit

PROJECT_DIR = Path(__file__).resolve().parent
HELPERS_DIR = PROJECT_DIR / "deploy" / "fabric"
# The env file reader goes with them: the pre-check and the tasks' scripts use it
# on the host, where the env file and the user it must belong to are.
ENV_FILE_READER = (PROJECT_DIR / "deploy" / "env_file.py", PROJECT_DIR / "deploy" / "env_file.sh")
HELPERS = (HELPERS_DIR / "probe.py", HELPERS_DIR / "precheck.sh", *ENV_FILE_READER)
# Checks the env file before anything else, when no release's .venv may exist yet:
# the Python that `make install` needs on the host anyway.
HOST_PYTHON = "python3.11"
ENVIRONMENTS = ("test", "master")
DEFAULT_ROOT = "/srv/minihub"
RELEASE_NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{7,40}$")
LOG_FILES = {"web": "web.log", "access": "web.access.log", "rq": "rq.log", "cron": "cron.log"}
# Lines of a failed step's output shown with the error.
OUTPUT_TAIL_LINES = 40
# How long supervisor may take to bring the web server back before it is signalled.
WEB_RUNNING_WAIT_SECONDS = 60

q = shlex.quote

COMMON_HELP = {
    "env": "test or master (required): the settings, supervisor config and shared/<env>.env",
    "root": f"deploy root on the host (default {DEFAULT_ROOT})",
    "port": "port of the live web server, for the health checks (default 8000)",
}
CHECK_TIMEOUT_HELP = {"check_timeout": "seconds a release may take to answer healthy (default 60)"}


class StepFailed(Exception):
    def __init__(self, step: str, output: str):
        super().__init__(step)
        self.step = step
        self.output = output

    @property
    def tail(self) -> str:
        return "\n".join(self.output.strip().splitlines()[-OUTPUT_TAIL_LINES:])


# --- Local: what gets deployed -------------------------------------------------------


@dataclass(frozen=True)
class Build:
    release_id: str
    archive: Path


@cache
def build(repo: str, ref: str) -> Build:
    """The release to deploy: one id and one archive per `fab` run, shared by all hosts."""
    sha = _git(repo, "rev-parse", "--verify", "--short=8", f"{ref}^{{commit}}")
    release_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{sha}"
    workdir = Path(tempfile.mkdtemp(prefix="minihub-release-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    archive = workdir / f"{release_id}.tar.gz"
    _git(repo, "archive", "--format=tar.gz", f"--output={archive}", sha)
    return Build(release_id=release_id, archive=archive)


def _git(repo: str, *args: str) -> str:
    result = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)  # noqa: S603, S607
    if result.returncode != 0:
        raise Exit(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip()}")
    return result.stdout.strip()


# --- Remote: one host --------------------------------------------------------------


def label(c: Connection) -> str:
    """How progress lines name a host."""
    return c.host if c.port == 22 else f"{c.host}:{c.port}"


@dataclass
class Host:
    c: Connection
    env: str
    root: str
    port: int
    check_timeout: int = 60

    def __post_init__(self):
        if self.env not in ENVIRONMENTS:
            raise Exit(f"--env must be one of {', '.join(ENVIRONMENTS)}, not {self.env!r}")
        if not self.root.startswith("/"):
            raise Exit(f"--root must be an absolute path, not {self.root!r}")
        self.root = self.root.rstrip("/")
        self.releases = f"{self.root}/releases"
        self.current = f"{self.root}/current"
        self.env_file = f"{self.root}/shared/{self.env}.env"
        self.run_dir = f"{self.root}/shared/run"
        self.bin = f"{self.root}/shared/bin"
        self.label = label(self.c)

    def say(self, message: str) -> None:
        print(f"{datetime.now(UTC):%H:%M:%S} [{self.label}] {message}", flush=True)

    def sh(self, step: str, script: str, *, stream: bool = False) -> str:
        """Run a bash script on the host (a login shell, minihubctl's variables exported).

        Its output is returned, or shown as it comes with `stream`."""
        exports = (
            f"export MINIHUB_ENV_FILE={q(self.env_file)} MINIHUB_ROOT={q(self.current)} "
            f"MINIHUB_RUN_DIR={q(self.run_dir)}"
        )
        result = self.c.run(
            "bash -lc " + q(f"set -euo pipefail; {exports}; {script}"),
            hide=not stream,
            warn=True,
            in_stream=False,
        )
        if result.failed:
            raise StepFailed(step, result.stdout + result.stderr)
        return result.stdout

    def load_env_file(self, python: str) -> str:
        """A script exporting the env file's variables (read as data by `python`)."""
        return f". {q(self.bin + '/env_file.sh')} && load_env_file {python} {q(self.env_file)}"

    def with_settings(self, release: str, command: str) -> str:
        """A script running `command` in a release with the env file's variables."""
        return (
            f"cd {q(self.release_dir(release))} && {self.load_env_file('.venv/bin/python')} "
            f"&& export DJANGO_SETTINGS_MODULE=config.settings.{self.env} && {command}"
        )

    def release_dir(self, release: str) -> str:
        return f"{self.releases}/{release}"

    def ctl(self, action: str) -> str:
        return f'"$MINIHUB_ROOT/deploy/supervisor/minihubctl" {self.env} {action}'

    # State -----------------------------------------------------------------------------

    def prepare(self) -> None:
        """The directories, this deploy's helpers, and a check of the secrets file: it
        exists, only its owner (and group) can read it, and every line is valid."""
        try:
            self.sh(
                "prepare",
                f"test -f {q(self.env_file)} || {{ echo 'missing {self.env_file}: create it with "
                f"the secrets (VAR=value lines, see docs/operations.md) first' >&2; exit 1; }}; "
                f"mkdir -p {q(self.releases)} {q(self.run_dir)} {q(self.bin)}",
            )
            for helper in HELPERS:
                self.c.put(str(helper), f"{self.bin}/{helper.name}")
            self.sh("check the env file", self.load_env_file(HOST_PYTHON))
        except StepFailed as failed:
            raise Exit(f"[{self.label}] {failed.tail}") from failed

    def current_release(self) -> str | None:
        target = self.sh("read current", f"readlink {q(self.current)} || true").strip()
        return target.rsplit("/", 1)[-1] or None

    def release_names(self) -> list[str]:
        out = self.sh(
            "list releases",
            f"find {q(self.releases)} -mindepth 1 -maxdepth 1 -type d -printf '%f\\n' || true",
        )
        return sorted(name for name in out.split() if RELEASE_NAME.match(name))

    def release_before(self, release: str | None) -> str | None:
        older = [name for name in self.release_names() if release and name < release]
        return older[-1] if older else None

    def releases_in_use(self) -> set[str]:
        """Releases a running process was started from.

        The web server's main process and supervisord keep the interpreter of the release they
        started in (a HUP loads new code, not a new .venv); its files must stay.
        """
        prefix = self.releases + "/"
        out = self.sh(
            "find releases in use",
            "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' "
            f"| awk -v p={q(prefix)} 'index($0, p) == 1' || true",
        )
        return {line[len(prefix) :].split("/", 1)[0] for line in out.splitlines()}

    def supervisord_running(self) -> bool:
        pidfile = q(f"{self.run_dir}/pids/supervisord.pid")
        script = f'test -f {pidfile} && kill -0 "$(cat {pidfile})" 2>/dev/null && echo yes || true'
        return self.sh("check supervisord", script).strip() == "yes"

    # Steps of a deploy ---------------------------------------------------------------

    def upload(self, built: Build) -> None:
        release = built.release_id
        self.say(f"upload {release} ({built.archive.stat().st_size // 1024} KiB)")
        remote_archive = f"{self.releases}/{release}.tar.gz"
        self.c.put(str(built.archive), remote_archive)
        target = q(self.release_dir(release))
        self.sh(
            "unpack",
            f"mkdir {target} && tar -xzf {q(remote_archive)} -C {target} "
            f"&& rm -f {q(remote_archive)} && printf '%s\\n' {q(release)} > {target}/RELEASE",
        )

    def install(self, release: str) -> None:
        self.say("install dependencies from uv.lock (make install)")
        self.sh("make install", f"cd {q(self.release_dir(release))} && make install")

    def migrate(self, release: str) -> None:
        if self.env == "test":
            self.say("migrate (default and admin databases)")
            self.sh("migrate", self.on_each_database(release, "migrate --noinput"))
            return
        self.say("migrations never run on master: checking for pending schema changes")
        sql = self.sh("schema_sql", self.on_each_database(release, "schema_sql"))
        if sql.count("-- Nothing to do") == sql.count("-- MiniHub schema for database alias"):
            self.say("no pending migrations")
        else:
            self.say("PENDING MIGRATIONS: hand this SQL to the DBA:\n" + sql.rstrip())

    def on_each_database(self, release: str, command: str) -> str:
        """`manage.py <command>` on `default`, and on `admin` when ADMIN_DATABASE_URL is set."""
        loop = (
            "for alias in default ${ADMIN_DATABASE_URL:+admin}; do "
            f'.venv/bin/python manage.py {command} --database "$alias"; done'
        )
        return self.with_settings(release, loop)

    def collectstatic(self, release: str) -> None:
        self.say("collectstatic")
        command = ".venv/bin/python manage.py collectstatic --noinput -v 0"
        self.sh("collectstatic", self.with_settings(release, command))

    def precheck(self, release: str) -> None:
        self.say("health-check the new release on a spare port (before any traffic)")
        args = " ".join(
            q(arg)
            for arg in (self.release_dir(release), release, self.env, str(self.check_timeout))
        )
        self.say(self.sh("pre-check", f"bash {q(self.bin + '/precheck.sh')} {args}").strip())

    def switch(self, release: str) -> None:
        self.say(f"switch current -> releases/{release}")
        link, temporary = q(self.current), q(f"{self.current}.{release}.tmp")
        self.sh(
            "switch current",
            f"ln -sfn {q('releases/' + release)} {temporary} && mv -T {temporary} {link}",
        )

    def activate(self) -> None:
        """Make the programs run `current`: reload (HUP) them, or start supervisord."""
        if not self.supervisord_running():
            self.say("start supervisord (first deploy on this host)")
            self.sh("start", self.ctl("start"))
            return
        self.warn_if_env_file_changed()
        self.say("reload: HUP the web server (no request dropped), restart RQ workers gracefully")
        # `start` is a no-op for running programs; it brings back any that a bad
        # release left stopped, so that the web server can be signalled.
        self.sh(
            "reload",
            f"{self.ctl('start')} && for _ in $(seq {WEB_RUNNING_WAIT_SECONDS}); do "
            f"grep -Eq '^minihub:web +RUNNING' <<<\"$({self.ctl('status')} || true)\" && break; "
            f"sleep 1; done && {self.ctl('reload')}",
        )

    def warn_if_env_file_changed(self) -> None:
        pidfile = q(f"{self.run_dir}/pids/supervisord.pid")
        newer = f"test {q(self.env_file)} -nt {pidfile} && echo yes || true"
        if self.sh("compare env file", newer).strip() == "yes":
            self.say(
                f"WARNING: {self.env_file} changed after supervisord started; its programs keep "
                f"the old values until `minihubctl {self.env} stop` and `start` (drops requests)"
            )

    def live_check(self, release: str) -> str:
        self.say(f"live check: http://127.0.0.1:{self.port} must serve {release}, healthy")
        return self.sh(
            "live check",
            f'"$MINIHUB_ROOT/.venv/bin/python" {q(self.bin + "/probe.py")} '
            f"http://127.0.0.1:{self.port} --release {q(release)} --timeout {self.check_timeout}",
        ).strip()

    def go_live(self, release: str) -> None:
        self.switch(release)
        self.activate()
        self.say(self.live_check(release))

    def remove(self, names: list[str]) -> None:
        """Delete releases, except any a running process still uses."""
        in_use = self.releases_in_use()
        for name in names:
            if name in in_use:
                self.say(f"keep releases/{name}: a running process was started from it")
                continue
            self.sh("remove release", f"rm -rf {q(self.release_dir(name))}")
            self.say(f"removed releases/{name}")

    def prune(self, keep: int) -> None:
        current = self.current_release()
        names = self.release_names()
        old = [name for name in names[: max(len(names) - keep, 0)] if name != current]
        self.remove(old)


# --- Tasks -----------------------------------------------------------------------------


def reports_failures(body):
    """A step failing where the task has no plan B ends it with that step's output."""

    @functools.wraps(body)
    def run(c, *args, **kwargs):
        try:
            return body(c, *args, **kwargs)
        except StepFailed as failed:
            raise Exit(f"[{label(c)}] {failed.step} FAILED:\n{failed.tail}") from failed

    return run


@task(
    auto_shortflags=False,
    help={
        **COMMON_HELP,
        **CHECK_TIMEOUT_HELP,
        "ref": "git ref to deploy (default HEAD)",
        "repo": "local git repository to archive (default: this fabfile's)",
        "keep": "releases kept on the host (default 5)",
    },
)
@reports_failures
def deploy(
    c,
    env,
    ref="HEAD",
    root=DEFAULT_ROOT,
    port=8000,
    keep=5,
    repo=str(PROJECT_DIR),
    check_timeout=60,
):
    """Deploy a git ref: install, migrate (test only), check, switch, reload, check again."""
    host = Host(c, env, root, port, check_timeout)
    built = build(repo, ref)
    release = built.release_id
    host.prepare()
    previous = host.current_release()
    if release in host.release_names():
        raise Exit(f"[{host.label}] releases/{release} exists already: deploy again in a second")
    host.say(f"deploy {release} to {env} (live now: {previous or 'nothing'})")
    try:
        host.upload(built)
        host.install(release)
        host.migrate(release)
        host.collectstatic(release)
        host.precheck(release)
    except StepFailed as failed:
        host.remove([release])
        raise Exit(
            f"[{host.label}] deploy FAILED at {failed.step}: {release} was never made live; "
            f"{previous or 'nothing'} keeps serving.\n{failed.tail}"
        ) from failed
    try:
        host.go_live(release)
    except StepFailed as failed:
        roll_back_after_failure(host, release, previous, failed)
    host.prune(max(keep, 1))
    host.say(f"live: {release}")


def roll_back_after_failure(host: Host, release: str, previous: str | None, failed: StepFailed):
    host.say(f"{failed.step} FAILED for {release}:\n{failed.tail}")
    if previous is None:
        raise Exit(
            f"[{host.label}] deploy FAILED at {failed.step} and there is no previous release "
            f"to roll back to: see `fab status` and `fab logs`."
        ) from failed
    host.say(f"automatic rollback to {previous}")
    try:
        host.go_live(previous)
    except StepFailed as also:
        raise Exit(
            f"[{host.label}] deploy FAILED at {failed.step}, and the rollback to {previous} "
            f"FAILED at {also.step}:\n{also.tail}"
        ) from also
    host.remove([release])
    raise Exit(
        f"[{host.label}] deploy FAILED at {failed.step}: {release} did not come up on the live "
        f"server; rolled back automatically, {previous} is live again."
    ) from failed


@task(auto_shortflags=False, help={**COMMON_HELP, **CHECK_TIMEOUT_HELP})
@reports_failures
def rollback(c, env, root=DEFAULT_ROOT, port=8000, check_timeout=60):
    """Switch back to the release before the current one and reload."""
    host = Host(c, env, root, port, check_timeout)
    host.prepare()
    current = host.current_release()
    previous = host.release_before(current)
    if previous is None:
        raise Exit(f"[{host.label}] no release older than {current or 'nothing'} to roll back to")
    host.say(f"roll back from {current} to {previous}")
    host.go_live(previous)
    host.say(f"live: {previous}")


@task(auto_shortflags=False, help=COMMON_HELP)
@reports_failures
def status(c, env, root=DEFAULT_ROOT, port=8000):
    """Print the current release, the releases on the host, supervisor's status and /health."""
    host = Host(c, env, root, port, check_timeout=0)
    current = host.current_release()
    host.say(f"current release: {current or 'none'}")
    for name in host.release_names():
        host.say(f"  {'*' if name == current else ' '} releases/{name}")
    host.say("supervisor:\n" + _output_of(host, "supervisor status", host.ctl("status")))
    probe = (
        f'"$MINIHUB_ROOT/.venv/bin/python" {q(host.bin + "/probe.py")} '
        f"http://127.0.0.1:{port} --timeout 0"
    )
    host.say("health: " + _output_of(host, "health", probe))


def _output_of(host: Host, step: str, script: str) -> str:
    """What a script printed, whether or not it succeeded (for reports)."""
    try:
        return host.sh(step, script).rstrip()
    except StepFailed as failed:
        return failed.output.rstrip()


@task(
    auto_shortflags=False,
    help={
        **{name: text for name, text in COMMON_HELP.items() if name != "port"},
        "program": f"one of {', '.join(LOG_FILES)} or all (default all)",
        "lines": "lines of each file (default 100)",
        "follow": "keep following the files (Ctrl-C to stop)",
    },
)
@reports_failures
def logs(c, env, root=DEFAULT_ROOT, program="all", lines=100, follow=False):
    """Print (or follow) the app's log files (LOG_DIR, default shared/run/logs)."""
    host = Host(c, env, root, port=0)
    if program != "all" and program not in LOG_FILES:
        raise Exit(f"--program must be one of {', '.join(LOG_FILES)} or all, not {program!r}")
    names = LOG_FILES.values() if program == "all" else [LOG_FILES[program]]
    files = " ".join(f'"$log_dir/{name}"' for name in names)
    host.sh(
        "logs",
        # Where minihubctl put them: LOG_DIR from the env file, else the run directory.
        f"{host.load_env_file(HOST_PYTHON)} && log_dir=${{LOG_DIR:-$MINIHUB_RUN_DIR/logs}} "
        f"&& tail -n {int(lines)} {'-F' if follow else ''} {files}",
        stream=True,
    )
