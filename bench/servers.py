"""Starting what is measured: gunicorn with the shipped config, nginx, the fake WeChat server."""

import signal
import socket
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

MINIHUB_APP = "config.wsgi:application"
BARE_WSGI_APP = "bench.baselines.wsgi_app:application"
MINIMAL_DJANGO_APP = "bench.baselines.django_min.wsgi:application"


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


def start_gunicorn(
    processes: Processes, *, name: str, app: str, env: dict[str, str], ready_path: str
) -> Server:
    """`gunicorn APP -c deploy/gunicorn.conf.py`, with its environment overrides (GUNICORN_*)."""
    port = free_port()
    child = processes.start(
        name,
        [str(VENV_BIN / "gunicorn"), app, "-c", str(GUNICORN_CONFIG)],
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_PROC_NAME": f"bench-{name}"},
    )
    base_url = f"http://127.0.0.1:{port}"
    _wait_ready(child, base_url + ready_path)
    return Server(name=name, base_url=base_url, children=[child])


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
