"""The production-like stack the bench measures, and the baselines beside it.

Databases created and migrated, demo data seeded, the fake WeChat server; then,
a group at a time: a bare WSGI callable under gunicorn with deploy/gunicorn.conf.py;
and together (so that their runs can alternate) the stock Django floor, MiniHub as
deploy/web starts it under gunicorn (the shipped server) and under granian (the
alternative), MiniHub without its figures (under gunicorn too), the shipped nginx
site in front of MiniHub under gunicorn and nginx answering a static JSON body.

Every MiniHub server is started with its web server named (MINIHUB_WEB_SERVER),
never deploy/web's default.
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
    "bare-wsgi": (
        "a bare WSGI callable under gunicorn with deploy/gunicorn.conf.py: the Python ceiling"
    ),
    "stock-django": (
        "the floor: a stock Django project importing nothing of MiniHub (Django's MySQL "
        "backend through PyMySQL, CONN_MAX_AGE 60, no middleware, redis-py) doing the same "
        "SQL query and Redis MGET, under gunicorn started with command-line flags for the "
        "same worker class and worker/thread counts as deploy/gunicorn.conf.py and "
        "gunicorn's stock access logger"
    ),
    "minihub": (
        "MiniHub as shipped: deploy/web with MINIHUB_WEB_SERVER=gunicorn, the default server "
        "(deploy/gunicorn.conf.py: gthread, 2 x cores + 1 workers, 4 threads each; PyMySQL, "
        "a persistent connection per thread), config.settings.test; the floor's server too"
    ),
    "minihub-without-figures": (
        "the same without FiguresMiddleware (bench/variants/without_figures.py), under the "
        "same server (gunicorn): what counting the dashboard's figures costs"
    ),
    "minihub-granian": (
        "the same MiniHub under granian, the supported alternative: deploy/web with "
        "MINIHUB_WEB_SERVER=granian and its granian defaults (one worker per core, 4 "
        "blocking threads each, HTTP/1 keep-alive off: a connection per request)"
    ),
    "minihub-nginx": "the shipped MiniHub (gunicorn) behind the shipped nginx site",
}


@dataclass
class SeedData:
    appid: str
    mini_program_id: int
    album_id: int
    fresh_album_ids: list[int]
    token: str
    login_openids: list[str]


# Servers run a group at a time. The servers of the "minihub" group run together so that
# their runs alternate; each opens at most workers x threads database connections
# (about 20), well under MariaDB's default max_connections (151).
GROUPS = {
    "bare-wsgi": ("bare-wsgi",),
    "minihub": (
        "nginx-static",
        "stock-django",
        "minihub",
        "minihub-without-figures",
        "minihub-granian",
        "minihub-nginx",
    ),
}
# The server deploy/web ships (MINIHUB_WEB_SERVER's default), and the alternative.
SHIPPED_WEB_SERVER = "gunicorn"
ALTERNATIVE_WEB_SERVER = "granian"
# MiniHub servers started by deploy/web: (web server, always named; environment overrides).
# The variant without figures runs under the same server as "minihub", so that the pairs of
# the figures' cost compare like with like.
WEB_TIER = {
    "minihub": (SHIPPED_WEB_SERVER, {}),
    "minihub-without-figures": (
        SHIPPED_WEB_SERVER,
        {"DJANGO_SETTINGS_MODULE": "bench.variants.without_figures"},
    ),
    "minihub-granian": (ALTERNATIVE_WEB_SERVER, {}),
}
# nginx's site proxies to "minihub": the same server.
BEHIND_NGINX = "minihub"


def web_servers() -> dict[str, str]:
    """The web server each MiniHub configuration runs, for the results file."""
    named = {name: server for name, (server, _overrides) in WEB_TIER.items()}
    return {**named, "minihub-nginx": named[BEHIND_NGINX]}


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
    progress.end(f"done; Redis {stores.redis_url_shown} emptied")

    progress.begin("fake WeChat server")
    fake = servers.start_fake_wechat(processes, env=base_env, app=f"{APPID}:{SECRET}")
    progress.end(fake.base_url)

    env = environment.server_env(stores, wechat_base=fake.base_url, run_dir=run_dir)
    progress.begin(f"demo data: 1 mini-program, {albums} albums, {users} users")
    data = _seed(env, albums=albums, users=users)
    progress.end(f"album {data.album_id}, mini-program {data.mini_program_id}")
    return Stack(env=env, data=data, fake=fake, run_dir=run_dir)


def _start(stack: Stack, processes: Processes, progress: Progress, name: str) -> Server:
    progress.begin(f"{name}: start")
    if name in WEB_TIER:
        web_server, overrides = WEB_TIER[name]
        server = servers.start_web(
            processes, name=name, web_server=web_server, env={**stack.env, **overrides}
        )
    elif name == "stock-django":
        floor_env = {**stack.env, "BENCH_MINI_PROGRAM_ID": str(stack.data.mini_program_id)}
        server = servers.start_stock_gunicorn(
            processes, name=name, app=servers.STOCK_DJANGO_APP, env=floor_env, ready_path="/ping"
        )
    else:
        server = servers.start_gunicorn(
            processes, name=name, app=servers.BARE_WSGI_APP, env=stack.env, ready_path="/"
        )
    progress.end(server.base_url)
    return server


def _start_group(stack: Stack, processes: Processes, progress: Progress, group: str) -> None:
    for name in GROUPS[group]:
        if name not in ("nginx-static", "minihub-nginx"):
            stack.servers[name] = _start(stack, processes, progress, name)
    if "minihub-nginx" in GROUPS[group]:
        progress.begin("nginx: the shipped site in front of minihub, and the static JSON server")
        proxy, static = servers.start_nginx(
            processes, prefix=stack.run_dir / "nginx", app=stack.servers[BEHIND_NGINX]
        )
        progress.end(f"{proxy.base_url} and {static.base_url}")
        stack.servers.update({"minihub-nginx": proxy, "nginx-static": static})


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
