"""The production-like stack the bench measures, and the baselines beside it.

Databases created and migrated, demo data seeded, the fake WeChat server; then,
a group at a time, MiniHub under the shipped gunicorn config, the same behind
the shipped nginx site and nginx answering a static JSON body; a bare WSGI
callable; a minimal Django project (both under the same gunicorn config).
"""

import json
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import environment, servers
from bench.environment import Stores
from bench.processes import PROJECT_DIR, PYTHON, Processes
from bench.progress import Progress
from bench.servers import Server

# A mini-program of the bench's own (appid: wx + 16 lowercase hex).
APPID = "wxbe0c4000000000b1"
SECRET = "bench-secret-0123456789abcdef"  # noqa: S105 - registered at the fake WeChat only  # pragma: allowlist secret

CONFIGURATIONS = {
    "nginx-static": "nginx answering the ping body itself: the machine's ceiling",
    "bare-wsgi": "a bare WSGI callable under the same gunicorn config: the Python ceiling",
    "django-minimal": (
        "a minimal Django project (no apps, no middleware) doing the same SQL query and "
        "Redis MGET, same gunicorn config and database pool: the framework floor"
    ),
    "minihub": (
        "MiniHub under the shipped deploy/gunicorn.conf.py (gthread, 4 threads, 2 x cores + 1 "
        "workers, PyMySQL, a pool of 10 connections per process), config.settings.test"
    ),
    "minihub-nginx": "the same MiniHub processes behind the shipped nginx site",
}


@dataclass
class SeedData:
    appid: str
    mini_program_id: int
    album_id: int
    fresh_album_ids: list[int]
    token: str
    login_openids: list[str]


# Servers run a group at a time: only one database pool (5 workers x 10 connections) is
# open at once, well under MariaDB's default max_connections (151) on a shared machine.
GROUPS = {
    "bare-wsgi": ("bare-wsgi",),
    "django-minimal": ("django-minimal",),
    "minihub": ("nginx-static", "minihub", "minihub-nginx"),
}


@dataclass
class Stack:
    env: dict[str, str]
    data: SeedData
    fake: Server
    run_dir: Path
    # The servers running now, by configuration.
    servers: dict[str, Server] = field(default_factory=dict)


def _seed(env: dict[str, str], *, albums: int, users: int) -> SeedData:
    result = subprocess.run(  # noqa: S603 - fixed argv
        [
            *(PYTHON, "-m", "bench.seed", "--appid", APPID, "--secret", SECRET),
            *("--albums", str(albums), "--users", str(users)),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{result.stdout}{result.stderr}")
    return SeedData(**json.loads(result.stdout.strip().splitlines()[-1]))


def prepare(
    processes: Processes,
    *,
    stores: Stores,
    run_dir: Path,
    progress: Progress,
    albums: int,
    users: int,
) -> Stack:
    """Databases, Redis, the fake WeChat server and the demo data."""
    (run_dir / "log").mkdir(parents=True, exist_ok=True)
    progress.begin(f"databases {', '.join(stores.database_names)}: create and migrate")
    environment.databases_create(stores)
    base_env = environment.server_env(stores, wechat_base="http://127.0.0.1:9", run_dir=run_dir)
    environment.databases_migrate(base_env)
    environment.redis_flush(stores)
    progress.end(f"done; Redis {stores.redis_url} emptied")

    progress.begin("fake WeChat server")
    fake = servers.start_fake_wechat(processes, env=base_env, app=f"{APPID}:{SECRET}")
    progress.end(fake.base_url)

    env = environment.server_env(stores, wechat_base=fake.base_url, run_dir=run_dir)
    progress.begin(f"demo data: 1 mini-program, {albums} albums, {users} users")
    data = _seed(env, albums=albums, users=users)
    progress.end(f"album {data.album_id}, mini-program {data.mini_program_id}")
    return Stack(env=env, data=data, fake=fake, run_dir=run_dir)


def _gunicorn(stack: Stack, processes: Processes, progress: Progress, name: str) -> Server:
    app, ready, extra = {
        "minihub": (servers.MINIHUB_APP, "/api/v2/ping", {}),
        "bare-wsgi": (servers.BARE_WSGI_APP, "/", {}),
        "django-minimal": (
            servers.MINIMAL_DJANGO_APP,
            "/ping",
            {"BENCH_MINI_PROGRAM_ID": str(stack.data.mini_program_id)},
        ),
    }[name]
    progress.begin(f"gunicorn {name} (deploy/gunicorn.conf.py)")
    server = servers.start_gunicorn(
        processes, name=name, app=app, env={**stack.env, **extra}, ready_path=ready
    )
    progress.end(server.base_url)
    return server


def _start_group(stack: Stack, processes: Processes, progress: Progress, group: str) -> None:
    if group != "minihub":
        stack.servers[group] = _gunicorn(stack, processes, progress, group)
        return
    minihub = _gunicorn(stack, processes, progress, "minihub")
    progress.begin("nginx: the shipped site in front of minihub, and the static JSON server")
    proxy, static = servers.start_nginx(processes, prefix=stack.run_dir / "nginx", app=minihub)
    progress.end(f"{proxy.base_url} and {static.base_url}")
    stack.servers.update({"minihub": minihub, "minihub-nginx": proxy, "nginx-static": static})


@contextmanager
def running(stack: Stack, processes: Processes, progress: Progress, group: str):
    """The group's servers, started for the block and stopped after it."""
    _start_group(stack, processes, progress, group)
    try:
        yield [stack.servers[name] for name in GROUPS[group]]
    finally:
        children = {c.pid: c for name in GROUPS[group] for c in stack.servers.pop(name).children}
        progress.begin(f"stopping {', '.join(GROUPS[group])}")
        processes.stop_together(list(children.values()))
        progress.end("stopped")
