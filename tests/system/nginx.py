"""The shipped nginx site (deploy/nginx/) run by a private nginx, for system tests.

Only what a deployment edits changes: the `listen` lines, the upstreams file, the
certificate (self-signed, for 127.0.0.1) and, when a test asks, where /static/ is.
"""

import http.client
import re
import shutil
import signal
import ssl
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.nginx import HTTP_LISTEN, HTTPS_LISTEN, SITE_DIR, install_site, main_conf
from tests.system.stack import free_port, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHIPPED_RATE = "rate=100r/s"
SHIPPED_STATIC_ROOT = "alias /srv/minihub/current/var/static/;"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def request_from(
    base_url: str,
    source_ip: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict | None = None,
    body: bytes | None = None,
    tls: ssl.SSLContext | None = None,
) -> Answer:
    """A request from a chosen loopback address (127.0.0.0/8 is all ours)."""
    scheme, address = base_url.split("://")
    host, port = address.split(":")
    if scheme == "https":
        connection = http.client.HTTPSConnection(
            host, int(port), source_address=(source_ip, 0), context=tls
        )
    else:
        connection = http.client.HTTPConnection(host, int(port), source_address=(source_ip, 0))
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass(frozen=True)
class Edge:
    """The running site: its HTTPS and plain-HTTP base URLs, and the certificate a
    client verifies it with."""

    url: str
    http_url: str
    certificate: Path

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, verify=str(self.certificate), timeout=5, **kwargs)

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))

    def request_from(self, source_ip: str, path: str, *, https: bool = True, **kwargs) -> Answer:
        """A request from a chosen loopback address, over HTTPS or plain HTTP."""
        if https:
            return request_from(self.url, source_ip, path, tls=self.tls_context(), **kwargs)
        return request_from(self.http_url, source_ip, path, **kwargs)


def shipped_hsts() -> str:
    """The Strict-Transport-Security value the shipped site sends."""
    site = (SITE_DIR / "minihub.conf").read_text()
    match = re.search(r'add_header Strict-Transport-Security "([^"]+)" always;', site)
    assert match, "deploy/nginx/minihub.conf sends no Strict-Transport-Security header"
    return match.group(1)


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


def render(
    prefix: Path,
    *,
    http_port: int,
    https_port: int,
    app_ports: list[int],
    legacy_port: int,
    rate: str | None = None,
    static_root: Path | None = None,
) -> tuple[Path, Path]:
    """The shipped site with this run's ports; `rate` replaces the per-IP request rate
    (load tests come from one address). Its nginx.conf and its certificate."""
    conf = prefix / "conf"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    conf.mkdir(parents=True, exist_ok=True)
    site = (SITE_DIR / "minihub.conf").read_text()
    replacements = [
        (HTTP_LISTEN, f"listen 127.0.0.1:{http_port};"),
        (HTTPS_LISTEN, f"listen 127.0.0.1:{https_port} ssl http2;"),
    ]
    if rate:
        replacements.append((SHIPPED_RATE, f"rate={rate}"))
    if static_root:
        replacements.append((SHIPPED_STATIC_ROOT, f"alias {static_root}/;"))
    for shipped, ours in replacements:
        assert shipped in site, f"deploy/nginx/minihub.conf no longer has {shipped!r}"
        site = site.replace(shipped, ours)
    certificate = install_site(
        conf, site_text=site, upstreams_text=upstreams(app_ports, legacy_port)
    )
    (conf / "nginx.conf").write_text(
        main_conf(prefix, worker_processes="2", worker_connections=4096)
    )
    return conf / "nginx.conf", certificate


def nginx_test(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-p", str(conf.parent.parent), "-c", str(conf)],
        capture_output=True,
        text=True,
    )


@contextmanager
def running_nginx(
    prefix: Path,
    *,
    app_ports: list[int],
    legacy_port: int,
    rate: str | None = None,
    static_root: Path | None = None,
):
    """nginx in the foreground with the shipped site; yields its Edge."""
    http_port, https_port = free_port(), free_port()
    conf, certificate = render(
        prefix,
        http_port=http_port,
        https_port=https_port,
        app_ports=app_ports,
        legacy_port=legacy_port,
        rate=rate,
        static_root=static_root,
    )
    checked = nginx_test(conf)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    edge = Edge(
        url=f"https://127.0.0.1:{https_port}",
        http_url=f"http://127.0.0.1:{http_port}",
        certificate=certificate,
    )
    try:
        try:
            wait_until(
                lambda: edge.get("/nginx-up").status_code > 0, timeout=10, what="nginx listening"
            )
        except AssertionError:
            log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
            raise AssertionError(f"nginx did not start: exit={process.poll()} {log}") from None
        yield edge
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
