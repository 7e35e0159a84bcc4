"""The shipped nginx site (deploy/nginx/) run by a private nginx, for system tests.

Only what a deployment edits changes: the `listen` line and the upstreams file.
"""

import re
import shutil
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

import requests

from bench.nginx import main_conf
from tests.helpers import PROJECT_DIR
from tests.system.stack import free_port, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE_DIR = PROJECT_DIR / "deploy" / "nginx"


def upstreams(app_ports: list[int], legacy_port: int) -> str:
    shipped = (SITE_DIR / "minihub.upstreams.conf").read_text()
    app_servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in app_ports
    )
    shipped = re.sub(
        r"(upstream minihub_app \{\n)    server [^\n]+\n", r"\g<1>" + app_servers, shipped
    )
    return re.sub(
        r"(upstream minihub_legacy \{\n    server )127\.0\.0\.1:\d+",
        rf"\g<1>127.0.0.1:{legacy_port}",
        shipped,
    )


SHIPPED_RATE = "rate=100r/s"


def render(
    prefix: Path,
    *,
    listen_port: int,
    app_ports: list[int],
    legacy_port: int,
    rate: str | None = None,
) -> Path:
    """The shipped site with this run's ports; `rate` replaces the per-IP request rate
    (load tests come from one address)."""
    conf = prefix / "conf"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    conf.mkdir(parents=True, exist_ok=True)
    site = (SITE_DIR / "minihub.conf").read_text()
    assert SHIPPED_RATE in site
    if rate:
        site = site.replace(SHIPPED_RATE, f"rate={rate}")
    (conf / "minihub.conf").write_text(
        site.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    )
    (conf / "minihub.upstreams.conf").write_text(upstreams(app_ports, legacy_port))
    (conf / "nginx.conf").write_text(
        main_conf(prefix, worker_processes="2", worker_connections=4096)
    )
    return conf / "nginx.conf"


def nginx_test(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-p", str(conf.parent.parent), "-c", str(conf)],
        capture_output=True,
        text=True,
    )


@contextmanager
def running_nginx(prefix: Path, *, app_ports: list[int], legacy_port: int, rate: str | None = None):
    """nginx in the foreground with the shipped site; yields its base URL."""
    listen_port = free_port()
    conf = render(
        prefix, listen_port=listen_port, app_ports=app_ports, legacy_port=legacy_port, rate=rate
    )
    checked = nginx_test(conf)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{listen_port}"
    try:
        try:
            wait_until(
                lambda: requests.get(base + "/nginx-up", timeout=1).status_code > 0,
                timeout=10,
                what="nginx listening",
            )
        except AssertionError:
            log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
            raise AssertionError(f"nginx did not start: exit={process.poll()} {log}") from None
        yield base
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
