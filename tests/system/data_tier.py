"""MiniHub's processes (the web server, an RQ worker, the cron scheduler) on private data servers,
for the data-tier failover tests; each module starts one set and stops it on the way out."""

import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.helpers import PROJECT_DIR, manage
from tests.system.failover_load import MixTarget
from tests.system.private_servers import PrivateMariaDB
from tests.system.stack import free_port, wait_until

APPID = "wxf0000000000000f4"
PYTHON = str(PROJECT_DIR / ".venv/bin/python")
WEB = str(PROJECT_DIR / "deploy" / "web")  # the web tier's entry point: the shipped server
SETUP = """
from minihub.accounts.models import User
from minihub.accounts.tokens import token_issue
from minihub.tenants.services import miniprogram_create
from tests.album_factory import album_create
program = miniprogram_create(appid="{appid}", secret="s")
album = album_create(mini_program_id=program.id, title="Failover")
print("ALBUM=" + str(album.id))
for n in range({users}):
    user = User.objects.create(mini_program=program, openid=f"tier-user-{{n}}")
    print("TOKEN=" + token_issue(user=user).token)
"""
ISSUE_TOKEN = """
from minihub.accounts.models import User
from minihub.accounts.tokens import token_issue
user = User.objects.create(mini_program_id={program_id}, openid="{openid}")
print("TOKEN=" + token_issue(user=user).token)
"""


def app_env(
    root: Path, database: PrivateMariaDB, port: int, *, name: str = "tier", **extra: str
) -> dict[str, str]:
    """A web stack's environment on a private MariaDB (databases `name`, `name`_admin)."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "FIELD_ENCRYPTION_KEYS": os.environ["FIELD_ENCRYPTION_KEYS"],
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database.url(name),
        "ADMIN_DATABASE_URL": database.url(f"{name}_admin"),
        # The shipped default: gunicorn, a persistent connection per thread, no pool.
        "DATABASE_POOL_SIZE": "0",
        "MINIHUB_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GRANIAN_WORKERS": "2",
        "MINIHUB_RUN_DIR": str(root),
        "TENANT_LOCAL_CACHE_SECONDS": "0",
        # Every request of the load comes from 127.0.0.1: no per-address limit here.
        "API_THROTTLES_ENABLED": "false",
        **extra,
    }


@dataclass
class MiniHubProcesses:
    root: Path
    env: dict[str, str]
    port: int
    album_id: int = 0
    program_id: int = 0
    tokens: list[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def target(self) -> MixTarget:
        return MixTarget(self.base_url, APPID, self.tokens[0], self.album_id)

    def shell(self, code: str) -> str:
        result = manage("shell", "--no-imports", "-c", code, env=self.env)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def issue_token(self, openid: str) -> str:
        out = self.shell(ISSUE_TOKEN.format(program_id=self.program_id, openid=openid))
        return out.rsplit("TOKEN=", 1)[-1].strip()

    def request(self, method: str, path: str, token: str | None = None) -> requests.Response:
        headers = {"X-Mini-Program": APPID, "Authorization": f"Bearer {token or self.tokens[0]}"}
        return requests.request(
            method, f"{self.base_url}/api/v2{path}", headers=headers, timeout=10
        )

    def get(self, path: str, token: str | None = None) -> requests.Response:
        return self.request("GET", path, token)

    def post(self, path: str, token: str | None = None) -> requests.Response:
        return self.request("POST", path, token)

    def put_favorite(self, token: str) -> requests.Response:
        return self.request("PUT", f"/albums/{self.album_id}/favorite", token)


def prepare_database(processes: MiniHubProcesses, users: int = 3) -> None:
    """Tables, one mini-program, one album and `users` users with a token each."""
    for args in (("migrate", "-v0"), ("migrate", "--database", "admin", "-v0")):
        result = manage(*args, env=processes.env)
        assert result.returncode == 0, result.stderr[-3000:]
    out = processes.shell(SETUP.format(appid=APPID, users=users))
    processes.album_id = int(out.split("ALBUM=", 1)[1].split()[0])
    processes.tokens = [line.split("=", 1)[1] for line in out.split() if line.startswith("TOKEN=")]
    processes.program_id = int(
        processes.shell(
            "from minihub.tenants.models import MiniProgram; "
            f"print(MiniProgram.objects.get(appid='{APPID}').id)"
        ).strip()
    )


@contextlib.contextmanager
def running_minihub(processes: MiniHubProcesses, *, with_jobs: bool):
    """The web tier (deploy/web: the shipped server) and an RQ worker and the cron
    scheduler, stopped on the way out."""
    commands = {"web": [WEB]}
    if with_jobs:
        commands["worker"] = [
            PYTHON,
            "manage.py",
            "rqworker",
            "high",
            "default",
            "low",
            "--with-scheduler",
        ]
        commands["cron"] = [PYTHON, "manage.py", "rqcron", "config.cron"]
    started: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            log = (processes.root / f"{name}.log").open("w")
            started[name] = subprocess.Popen(
                command, cwd=PROJECT_DIR, env=processes.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(
            lambda: requests.get(processes.base_url + "/api/v2/health/live", timeout=2).ok,
            timeout=30,
            what="the web server up",
        )
        yield started
    finally:
        for process in started.values():
            process.terminate()
        for process in started.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def new_processes(root: Path, database: PrivateMariaDB, **extra_env: str) -> MiniHubProcesses:
    port = free_port()
    return MiniHubProcesses(root=root, env=app_env(root, database, port, **extra_env), port=port)
