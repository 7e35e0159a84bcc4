"""Starting what is measured: MiniHub through deploy/web (gunicorn or granian, always
named), the baselines under gunicorn, nginx, the fake WeChat server."""

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench import nginx
from bench.processes import PROJECT_DIR, PYTHON, VENV_BIN, Child, Processes

GUNICORN_CONFIG = PROJECT_DIR / "deploy" / "gunicorn.conf.py"
NGINX_BINARY = "/usr/sbin/nginx"
START_TIMEOUT_SECONDS = 90  # 5 workers importing Django on a busy 2-core machine
FAKE_READY_PREFIX = "fake wechat listening on "

WEB_ENTRY_POINT = PROJECT_DIR / "deploy" / "web"
MINIHUB_APP = "config.wsgi:application"
MINIHUB_READY_PATH = "/api/v2/ping"
BARE_WSGI_APP = "bench.baselines.wsgi_app:application"
STOCK_DJANGO_APP = "bench.baselines.stock_django.wsgi:application"


class StartFailed(RuntimeError):
    pass


@dataclass
class Server:
    name: str
    base_url: str
    children: list[Child]

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - the bench's own server
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer: it is up
    except OSError:
        return False


def _wait_ready(child: Child, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not child.alive():
            raise StartFailed(f"{child.name} exited at start:\n{child.log_tail()}")
        if _answers(url):
            return
        time.sleep(0.2)
    raise StartFailed(f"{child.name} not answering {url} after {START_TIMEOUT_SECONDS} s")


def start_web(processes: Processes, *, name: str, web_server: str, env: dict[str, str]) -> Server:
    """MiniHub's web tier as deployed: `deploy/web`, running `web_server` ("gunicorn", the
    shipped default, or "granian") on a free port; never deploy/web's default."""
    port = free_port()
    child = processes.start(
        name,
        [str(WEB_ENTRY_POINT)],
        env={
            **env,
            "MINIHUB_BIND": f"127.0.0.1:{port}",
            "MINIHUB_WEB_SERVER": web_server,
            "GUNICORN_PROC_NAME": f"bench-{name}",
        },
    )
    base_url = f"http://127.0.0.1:{port}"
    _wait_ready(child, base_url + MINIHUB_READY_PATH)
    return Server(name=name, base_url=base_url, children=[child])


def start_gunicorn(
    processes: Processes, *, name: str, app: str, env: dict[str, str], ready_path: str
) -> Server:
    """`gunicorn APP -c deploy/gunicorn.conf.py` for a baseline app (MiniHub: start_web)."""
    port = free_port()
    child = processes.start(
        name,
        [str(VENV_BIN / "gunicorn"), app, "-c", str(GUNICORN_CONFIG)],
        env={**env, "MINIHUB_BIND": f"127.0.0.1:{port}", "GUNICORN_PROC_NAME": f"bench-{name}"},
    )
    base_url = f"http://127.0.0.1:{port}"
    _wait_ready(child, base_url + ready_path)
    return Server(name=name, base_url=base_url, children=[child])


def start_stock_gunicorn(
    processes: Processes, *, name: str, app: str, env: dict[str, str], ready_path: str
) -> Server:
    """gunicorn as a user would start it: command-line flags for the same worker class and
    worker, thread and connection counts as deploy/gunicorn.conf.py (MiniHub's gunicorn),
    gunicorn's own access logger to stdout, nothing else of MiniHub's."""
    port = free_port()
    shipped = shipped_gunicorn_counts(env)
    flags = [
        *("--bind", f"127.0.0.1:{port}", "--worker-class", shipped["worker_class"]),
        *("--workers", str(shipped["workers"]), "--threads", str(shipped["threads"])),
        *("--worker-connections", str(shipped["worker_connections"])),
        *("--backlog", str(shipped["backlog"]), "--keep-alive", str(shipped["keepalive"])),
        *("--access-logfile", "-", "--name", f"bench-{name}"),
    ]
    child = processes.start(name, [str(VENV_BIN / "gunicorn"), app, *flags], env=env)
    base_url = f"http://127.0.0.1:{port}"
    _wait_ready(child, base_url + ready_path)
    return Server(name=name, base_url=base_url, children=[child])


def shipped_gunicorn_counts(env: dict[str, str]) -> dict:
    """deploy/gunicorn.conf.py's values under `env`, read by gunicorn itself: `deploy/web
    --print-config` with gunicorn named, whatever deploy/web's default."""
    result = subprocess.run(  # noqa: S603 - fixed argv
        [str(WEB_ENTRY_POINT), "--print-config"],
        env={**env, "MINIHUB_WEB_SERVER": "gunicorn"},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    wanted = ("worker_class", "workers", "threads", "worker_connections", "backlog", "keepalive")
    values = {}
    for line in result.stdout.splitlines():
        name, _, value = (part.strip() for part in line.partition("="))
        if name in wanted:
            values[name] = value
    return values


def start_nginx(processes: Processes, *, prefix: Path, app: Server) -> tuple[Server, Server]:
    """The shipped site in front of `app`, and the static JSON server: (proxy, static)."""
    listen_port, redirect_port, static_port = free_port(), free_port(), free_port()
    app_port = int(app.base_url.rsplit(":", 1)[1])
    conf = nginx.render(
        prefix,
        listen_port=listen_port,
        redirect_port=redirect_port,
        static_port=static_port,
        app_port=app_port,
    )
    child = processes.start(
        "nginx",
        [NGINX_BINARY, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        env={"PATH": "/usr/sbin:/usr/bin:/bin"},
        stop_signal=signal.SIGQUIT,  # graceful
    )
    static = Server(
        name="nginx-static", base_url=f"http://127.0.0.1:{static_port}", children=[child]
    )
    _wait_ready(child, static.base_url + "/")
    # Through nginx the app's own processes work too: both count as "server".
    proxy = Server(
        name=f"{app.name}-nginx",
        base_url=f"http://127.0.0.1:{listen_port}",
        children=[child, *app.children],
    )
    _wait_ready(child, proxy.base_url + "/api/v2/ping")
    return proxy, static


def start_fake_wechat(processes: Processes, *, env: dict[str, str], app: str) -> Server:
    """`python -m tools.fake_wechat --port 0 --app APPID:SECRET`; its URL from its ready line."""
    child = processes.start(
        "fake-wechat",
        [PYTHON, "-m", "tools.fake_wechat", "--port", "0", "--app", app],
        env=env,
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not child.alive():
            raise StartFailed(f"fake WeChat exited at start:\n{child.log_tail()}")
        for line in child.log_path.read_text().splitlines():
            if line.startswith(FAKE_READY_PREFIX):
                return Server("fake-wechat", line[len(FAKE_READY_PREFIX) :].strip(), [child])
        time.sleep(0.1)
    raise StartFailed("fake WeChat did not print its address")
