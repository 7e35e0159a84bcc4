"""`fab deploy`, `rollback`, `status` and `logs` over a real sshd to this machine.

The deploy itself starts supervisord, the web server and RQ (from the release it
installed) on this test run's MariaDB and Redis; nginx sits in front for the
tests under load. One deployed stack is shared by the module: the tests run in
order, each starting from the state the previous one left.
"""

import json
import os
import re
import shutil
import signal
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.helpers import PROJECT_DIR, test_process_env
from tests.system.env_files import environment_of, hostile_secret_key, write_env_file
from tests.system.nginx import running_nginx
from tests.system.sshd import Sshd, running_sshd
from tests.system.stack import Stack, free_port, wait_until

pytestmark = [
    pytest.mark.system,
    # Both databases: the deploy migrates `default` and `admin`.
    pytest.mark.django_db(transaction=True, databases=["default", "admin"]),
]

FAB = str(PROJECT_DIR / ".venv" / "bin" / "fab")
RELEASE_NAME = re.compile(r"^\d{8}T\d{6}Z-([0-9a-f]{8})$")
BROKEN_HEALTH = "broken-health"
PROGRAMS = {"minihub:web", "minihub:rqworker_00", "minihub:rqcron"}  # all RUNNING
GIT_IDENTITY = ("-c", "user.name=MiniHub tests", "-c", "user.email=tests@example.com")

# Steady load for a deploy, paced under nginx's per-client limit (100 r/s):
# counts answers that are not 2xx, and which releases answered.
LOAD_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_2xx = 0; releases = {} end
function delay() return 50 end
function response(status, headers, body)
  if status < 200 or status > 299 then not_2xx = not_2xx + 1 end
  local release = body and body:match('"release":%s*"([^"]+)"')
  if release then releases[release] = true end
end
function done(summary, latency, requests)
  local bad, seen, names = 0, {}, {}
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_2xx")
    for release in pairs(thread:get("releases")) do seen[release] = true end
  end
  for release in pairs(seen) do table.insert(names, '"' .. release .. '"') end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "not_2xx": %d, "socket_errors": %d, "releases": [%s]}\\n',
    summary.requests, bad, e.connect + e.read + e.write + e.timeout, table.concat(names, ", ")))
end
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class Deployment:
    sshd: Sshd
    root: Path
    repo: Path  # a clone of the project; the refs the tests deploy live here
    port: int
    base_sha: str
    marker: Path  # made if anything reads the env file (its SECRET_KEY) as shell code
    first: subprocess.CompletedProcess | None = None
    stack: Stack = field(init=False)

    def __post_init__(self):
        self.stack = Stack(run_dir=self.root / "shared" / "run", port=self.port, env=self.ctl_env)

    @property
    def env_file(self) -> Path:
        return self.root / "shared" / "test.env"

    @property
    def ctl_env(self) -> dict[str, str]:
        """What minihubctl needs on the host, as `fab` sets it."""
        return {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "MINIHUB_ENV_FILE": str(self.env_file),
            "MINIHUB_ROOT": str(self.root / "current"),
            "MINIHUB_RUN_DIR": str(self.root / "shared" / "run"),
        }

    def fab(
        self, task: str, *args: str, env: str = "test", root: Path | None = None
    ) -> subprocess.CompletedProcess:
        host = ["-H", self.sshd.host, "-i", str(self.sshd.client_key)]
        return subprocess.run(
            [FAB, *host, task, "--env", env, "--root", str(root or self.root), *args],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=240,
        )

    def deploy(self, ref: str = "HEAD", *args: str) -> subprocess.CompletedProcess:
        return self.fab(
            "deploy", "--repo", str(self.repo), "--ref", ref, "--port", str(self.port), *args
        )

    def commit(self, branch: str, path: str, old: str, new: str) -> str:
        """A branch off the deployed code with one change committed; returns its short sha."""
        git(self.repo, "checkout", "-q", "-b", branch, self.base_sha)
        file = self.repo / path
        text = file.read_text()
        assert old in text
        file.write_text(text.replace(old, new, 1))
        git(self.repo, *GIT_IDENTITY, "commit", "-q", "-am", f"tests: {branch}")
        sha = git(self.repo, "rev-parse", "--short=8", "HEAD")
        git(self.repo, "checkout", "-q", "-")  # HEAD stays the good code
        return sha

    def current(self) -> str:
        return os.readlink(self.root / "current").removeprefix("releases/")

    def releases(self) -> set[str]:
        return {path.name for path in (self.root / "releases").iterdir()}

    def live_release(self) -> str:
        return requests.get(self.stack.base_url + "/api/v2/health/live", timeout=5).json()[
            "release"
        ]

    def healthy(self) -> bool:
        return requests.get(self.stack.base_url + "/api/v2/health", timeout=5).status_code == 200

    def stop(self) -> None:
        pidfile = self.stack.run_dir / "pids" / "supervisord.pid"
        if not pidfile.exists():
            return
        ctl = self.root / "current" / "deploy" / "supervisor" / "minihubctl"
        subprocess.run([str(ctl), "test", "stop"], env=self.ctl_env, capture_output=True)
        wait_until(lambda: not pidfile.exists(), timeout=60, what="supervisord stopped")


def write_host_env_file(path: Path, port: int, **overrides: str) -> None:
    """shared/<env>.env on the host: this test run's databases, a small stack."""
    write_env_file(
        path,
        {
            **test_process_env(**overrides),
            "DATABASE_POOL_SIZE": "5",
            "GUNICORN_WORKERS": "2",
            "GRANIAN_WORKERS": "2",
            "MINIHUB_RQ_WORKERS": "1",
            "MINIHUB_BIND": f"127.0.0.1:{port}",
            "LOG_FORMAT": "plain",
        },
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, django_db_setup):
    base = tmp_path_factory.mktemp("fabric")
    repo = base / "repo"
    subprocess.run(["git", "clone", "-q", str(PROJECT_DIR), str(repo)], check=True)
    port = free_port()
    root = base / "srv" / "minihub"
    marker = base / "marker"
    # Every task of the module reads a SECRET_KEY full of shell syntax.
    write_host_env_file(root / "shared" / "test.env", port, SECRET_KEY=hostile_secret_key(marker))
    with running_sshd(base / "sshd") as sshd:
        deployed = Deployment(
            sshd=sshd,
            root=root,
            repo=repo,
            port=port,
            base_sha=git(repo, "rev-parse", "HEAD"),
            marker=marker,
        )
        try:
            deployed.first = deployed.deploy()
            yield deployed
        finally:
            deployed.stop()


@pytest.fixture
def edge(deployment, tmp_path):
    """nginx (the shipped site) in front of the deployed app."""
    with running_nginx(
        tmp_path / "nginx", app_ports=[deployment.port], legacy_port=free_port()
    ) as running:
        # The load is on health checks, which nginx also answers over plain HTTP.
        yield running.http_url


@contextmanager
def steady_load(url: str, directory: Path):
    """wrk against url for as long as the block runs; its counts are filled in at the end."""
    script = directory / "load.lua"
    script.write_text(LOAD_SCRIPT)
    process = subprocess.Popen(
        ["wrk", "-t2", "-c4", "-d300s", "--timeout=10s", "-s", str(script), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    load = SimpleNamespace(output="")
    try:
        wait_until(
            lambda: requests.get(url, timeout=2).status_code == 200, timeout=10, what="load target"
        )
        yield load
    finally:
        process.send_signal(signal.SIGINT)  # wrk stops and reports
        load.output = process.communicate(timeout=30)[0]
    load.__dict__.update(json.loads(load.output.strip().splitlines()[-1]))


def supervisor_programs(deployment) -> set[str]:
    return set(deployment.stack.pids())


def interpreter_release(deployment, pid: int) -> str | None:
    """The release whose .venv a running process was started with."""
    interpreter = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    prefix = f"{deployment.root}/releases/"
    return (
        interpreter.removeprefix(prefix).split("/")[0] if interpreter.startswith(prefix) else None
    )


def test_deploy_makes_the_new_release_live(deployment):
    first = deployment.first
    assert first.returncode == 0, first.stdout + first.stderr
    release = deployment.current()
    assert RELEASE_NAME.match(release).group(1) == deployment.base_sha[:8]
    release_dir = deployment.root / "releases" / release
    assert (release_dir / "RELEASE").read_text().strip() == release
    assert (release_dir / ".venv" / "bin" / "gunicorn").exists()  # installed in the release
    assert (release_dir / "var" / "static" / "admin").is_dir()  # collectstatic ran
    assert deployment.live_release() == release
    assert deployment.healthy()
    wait_until(lambda: supervisor_programs(deployment) == PROGRAMS, timeout=30, what="programs")
    for step in ("upload", "make install", "migrate", "collectstatic", "spare port"):
        assert step in first.stdout
    assert "start supervisord (first deploy" in first.stdout
    assert f"live: {release}" in first.stdout


def test_the_deploy_reads_the_env_file_as_data(deployment):
    """migrate, collectstatic, the pre-check and minihubctl all read the env file; its
    SECRET_KEY reaches the live web server exactly as written, and nothing in it ran."""
    assert not deployment.marker.exists()
    web_environment = environment_of(deployment.stack.pids()["minihub:web"])
    assert web_environment["SECRET_KEY"] == hostile_secret_key(deployment.marker)


def test_the_precheck_reads_the_env_file_as_data(deployment, tmp_path):
    """The pre-check alone, as `fab deploy` runs it on the host, on the live release."""
    marker = tmp_path / "marker"
    env_file = tmp_path / "test.env"
    write_host_env_file(env_file, free_port(), SECRET_KEY=hostile_secret_key(marker))
    release = deployment.current()
    result = subprocess.run(
        [
            "bash",
            str(deployment.root / "shared" / "bin" / "precheck.sh"),
            *(str(deployment.root / "releases" / release), release, "test", "60"),
        ],
        env={**deployment.ctl_env, "MINIHUB_ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"release {release}; health: 200" in result.stdout
    assert "redis master: 127.0.0.1:" in result.stdout
    assert "replicas: none" in result.stdout
    assert not marker.exists()


@pytest.mark.parametrize(
    ("mode", "owner", "problem"),
    [
        (0o644, "root", "mode 0644 is more open than 0640 (others can read it)"),
        (0o640, "nobody", "owned by nobody, but this runs as root"),
    ],
    ids=["world-readable", "owned-by-another-user"],
)
def test_a_deploy_with_an_env_file_others_control_or_read_is_refused(
    deployment, mode, owner, problem
):
    before = deployment.current()
    releases = deployment.releases()
    deployment.env_file.chmod(mode)
    shutil.chown(deployment.env_file, owner)
    try:
        result = deployment.deploy()
    finally:
        deployment.env_file.chmod(0o600)
        shutil.chown(deployment.env_file, "root")
    assert result.returncode != 0
    assert f"{deployment.env_file}: {problem}" in result.stderr
    assert "upload" not in result.stdout  # refused before anything reached the host
    assert deployment.current() == before
    assert deployment.releases() == releases
    assert deployment.live_release() == before


def test_a_deploy_under_load_through_nginx_fails_no_request(deployment, edge, tmp_path):
    before = deployment.current()
    web_main_process = deployment.stack.pids()["minihub:web"]
    rq_worker = deployment.stack.pids()["minihub:rqworker_00"]
    supervisord = int((deployment.stack.run_dir / "pids" / "supervisord.pid").read_text())
    in_use = {interpreter_release(deployment, pid) for pid in (supervisord, web_main_process)}
    assert in_use == {before}  # the first deploy started them from its .venv
    stale = deployment.root / "releases" / "20200101T000000Z-00c0ffee"
    (stale / "config").mkdir(parents=True)  # left by deploys long ago
    with steady_load(edge + "/api/v2/health/live", tmp_path) as load:
        result = deployment.deploy("HEAD", "--keep", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    after = deployment.current()
    assert after != before
    assert deployment.live_release() == after
    assert load.requests > 100, load.output
    assert load.not_2xx == 0, load.output
    assert load.socket_errors == 0, load.output
    assert set(load.releases) == {before, after}  # the switch happened under the load
    pids = deployment.stack.pids()
    assert pids["minihub:web"] == web_main_process  # reloaded with HUP, never restarted
    assert pids["minihub:rqworker_00"] != rq_worker  # RQ workers restarted
    assert "HUP the web server" in result.stdout
    # --keep 1: the stale release is pruned; the one supervisord and the web server's
    # master still run their interpreter from is kept.
    assert deployment.releases() == {after, before}
    assert f"keep releases/{before}: a running process was started from it" in result.stdout


@pytest.fixture(scope="module")
def broken_health(deployment) -> str:
    """A branch whose /health fails (it queries a table nothing creates); returns its sha."""
    return deployment.commit(
        BROKEN_HEALTH,
        "minihub/core/health.py",
        'cursor.execute("SELECT 1")',
        'cursor.execute("SELECT 1 FROM table_this_release_never_created")',
    )


def test_a_release_failing_its_health_check_is_never_made_live(
    deployment, broken_health, edge, tmp_path
):
    before = deployment.current()
    with steady_load(edge + "/api/v2/health/live", tmp_path) as load:
        result = deployment.deploy(BROKEN_HEALTH, "--check-timeout", "5")
    assert result.returncode != 0
    assert "deploy FAILED at pre-check" in result.stderr
    assert f"never made live; {before} keeps serving" in result.stderr
    assert '"database": "unavailable"' in result.stderr  # what the release answered
    assert "switch current" not in result.stdout
    assert deployment.current() == before
    assert deployment.live_release() == before
    assert load.requests > 50, load.output
    assert load.not_2xx == 0, load.output
    assert load.socket_errors == 0, load.output
    assert load.releases == [before]
    assert not [name for name in deployment.releases() if name.endswith(broken_health)]


def test_on_master_migrations_never_run(deployment, broken_health):
    """The master schema is the DBA's: a deploy prints `schema_sql`'s pending SQL, never
    runs `migrate`."""
    root = deployment.root.parent / "master"
    write_host_env_file(
        root / "shared" / "master.env", free_port(), DJANGO_SETTINGS_MODULE="config.settings.master"
    )
    result = deployment.fab(
        "deploy",
        *("--repo", str(deployment.repo), "--ref", BROKEN_HEALTH, "--check-timeout", "3"),
        env="master",
        root=root,
    )
    assert "migrations never run on master" in result.stdout
    assert "no pending migrations" in result.stdout
    assert "migrate (" not in result.stdout
    # And this release's broken /health keeps it from ever being linked.
    assert result.returncode != 0
    assert "deploy FAILED at pre-check" in result.stderr
    assert not (root / "current").exists()
    assert not (root / "shared" / "run" / "pids" / "supervisord.pid").exists()


def test_a_release_failing_on_the_live_server_is_rolled_back(deployment):
    """A release needing a new secret: the operator added it to the env file, so the
    pre-check passes, but the running supervisord (and every program it starts)
    still has the environment it was started with."""
    sha = deployment.commit(
        "needs-a-new-secret",
        "config/settings/deployed.py",
        'SENTRY_DSN = optional("SENTRY_DSN", "")',
        'SENTRY_DSN = optional("SENTRY_DSN", "")\nSEARCH_API_KEY = require("SEARCH_API_KEY")',
    )
    before = deployment.current()
    original_env = deployment.env_file.read_text()
    deployment.env_file.write_text(original_env + "SEARCH_API_KEY=added-for-this-release\n")
    try:
        result = deployment.deploy("needs-a-new-secret")
    finally:
        deployment.env_file.write_text(original_env)
    assert result.returncode != 0
    assert "switch current -> releases/" in result.stdout and sha in result.stdout
    assert "changed after supervisord started" in result.stdout  # the warning that explains it
    assert f"automatic rollback to {before}" in result.stdout
    assert f"rolled back automatically, {before} is live again" in result.stderr
    assert deployment.current() == before
    assert deployment.live_release() == before
    assert deployment.healthy()
    wait_until(lambda: supervisor_programs(deployment) == PROGRAMS, timeout=60, what="programs")
    assert not [name for name in deployment.releases() if name.endswith(sha)]


def test_rollback_returns_to_the_previous_release_and_status_shows_it(deployment):
    before = deployment.current()
    older = max(name for name in deployment.releases() if name < before)
    result = deployment.fab("rollback", "--port", str(deployment.port))
    assert result.returncode == 0, result.stdout + result.stderr
    assert deployment.current() == older
    assert deployment.live_release() == older
    status = deployment.fab("status", "--port", str(deployment.port))
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"current release: {older}" in status.stdout
    assert f"* releases/{older}" in status.stdout
    assert re.search(r"minihub:web\s+RUNNING", status.stdout)
    assert re.search(r"redis master: 127\.0\.0\.1:\d+ \(from REDIS_URL\), answering", status.stdout)
    assert f"health: release {older}; health: 200" in status.stdout


def test_logs_prints_the_app_logs(deployment):
    deployment.marker.unlink(missing_ok=True)  # `logs` reads the env file too (for LOG_DIR)
    result = deployment.fab("logs", "--program", "access", "--lines", "20")
    assert result.returncode == 0, result.stderr
    assert not deployment.marker.exists()
    assert "GET /api/v2/health" in result.stdout
    everything = deployment.fab("logs", "--lines", "5")
    for name in ("web.log", "web.access.log", "rq.log", "cron.log"):
        assert f"/shared/run/logs/{name} <==" in everything.stdout


def test_bad_arguments_change_nothing(deployment):
    before = deployment.current()
    unknown_env = deployment.fab("deploy", "--ref", "HEAD", env="prod")
    assert unknown_env.returncode != 0
    assert "--env must be one of test, master, not 'prod'" in unknown_env.stderr
    no_secrets = deployment.fab("deploy", "--repo", str(deployment.repo), env="master")
    assert no_secrets.returncode != 0
    assert "missing" in no_secrets.stderr and "shared/master.env" in no_secrets.stderr
    unknown_ref = deployment.deploy("no-such-branch")
    assert unknown_ref.returncode != 0
    assert "no-such-branch" in unknown_ref.stderr
    assert deployment.current() == before
    assert deployment.live_release() == before
