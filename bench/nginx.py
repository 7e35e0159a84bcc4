"""The shipped nginx site (deploy/nginx/) in front of the bench's MiniHub, plus a static
JSON server (the machine's ceiling), both in one private nginx.

Only what a deployment edits changes: the `listen` lines, the upstream's address and
the per-client-IP limits, lifted because every benchmark request comes from
127.0.0.1 (real clients come from many addresses). The HTTPS server is measured over
plain HTTP: TLS is nginx's cost, not MiniHub's, and earlier runs measured without it.
"""

import re
import resource
import shutil
import subprocess
from pathlib import Path

from bench.processes import PROJECT_DIR

SITE_DIR = PROJECT_DIR / "deploy" / "nginx"
# The site's files live in <nginx configuration directory>/minihub/, as deployed.
SITE_SUBDIR = "minihub"
HTTP_LISTEN = "listen 80;"
HTTPS_LISTEN = "listen 443 ssl http2;"
STATIC_BODY = '{"message": "pong"}'  # byte for byte what GET /api/v2/ping answers
# (shipped text, bench text): each must be in the shipped site, or the bench stops.
LIFTED_LIMITS = (
    ("rate=100r/s", "rate=100000r/s"),
    # nginx counts the requests of one event-loop turn as arriving in the same
    # millisecond: a high rate alone still refuses bursts above `burst`.
    (
        "limit_req zone=minihub_per_ip burst=200 nodelay;",
        "limit_req zone=minihub_per_ip burst=100000 nodelay;",
    ),
    ("limit_conn minihub_conn_per_ip 200;", "limit_conn minihub_conn_per_ip 60000;"),
)

MAIN_CONF = """
worker_processes {worker_processes};
{head}error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections {worker_connections}; }}
http {{
    # As the distribution's nginx.conf does: /static/ answers with the right types.
    include /etc/nginx/mime.types;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include minihub/minihub.conf;
{servers}}}
"""

# The machine's ceiling: nginx answering the ping body itself.
STATIC_SERVER = """
    server {{
        listen 127.0.0.1:{static_port};
        access_log off;
        location / {{
            default_type "application/json; charset=utf-8";
            return 200 '{static_body}';
        }}
    }}
"""


def main_conf(
    prefix: Path, *, worker_processes: str, worker_connections: int, head: str = "", servers=""
) -> str:
    """A private nginx's nginx.conf around the shipped site (conf/minihub/), every
    file it writes under `prefix` (the system tests' nginx uses it too)."""
    return MAIN_CONF.format(
        prefix=prefix,
        worker_processes=worker_processes,
        worker_connections=worker_connections,
        head=head,
        servers=servers,
    )


class ShippedSiteChanged(RuntimeError):
    pass


def site(*, listen_port: int, redirect_port: int) -> str:
    """The HTTPS server on plain `listen_port`, the port-80 server (redirects) on
    `redirect_port`, limits lifted."""
    text = (SITE_DIR / "minihub.conf").read_text()
    listens = (
        (HTTPS_LISTEN, f"listen 127.0.0.1:{listen_port};"),
        (HTTP_LISTEN, f"listen 127.0.0.1:{redirect_port};"),
    )
    for shipped, lifted in (*listens, *LIFTED_LIMITS):
        if shipped not in text:
            raise ShippedSiteChanged(f"deploy/nginx/minihub.conf no longer has {shipped!r}")
        text = text.replace(shipped, lifted)
    return text


def install_site(conf: Path, *, site_text: str, upstreams_text: str) -> Path:
    """Every file of the shipped site in conf/minihub/, with `site_text` and
    `upstreams_text` as its minihub.conf and minihub.upstreams.conf, and a self-signed
    certificate where the site expects the operator's. The certificate's path."""
    target = conf / SITE_SUBDIR
    shutil.copytree(SITE_DIR, target, dirs_exist_ok=True)
    (target / "minihub.conf").write_text(site_text)
    (target / "minihub.upstreams.conf").write_text(upstreams_text)
    return self_signed_certificate(target / "tls")


def self_signed_certificate(directory: Path) -> Path:
    """tls/fullchain.pem and tls/privkey.pem (the shipped site's paths) for 127.0.0.1 and
    localhost; RSA, so that a client offering only RSA key exchange is a fair test."""
    directory.mkdir(parents=True, exist_ok=True)
    certificate = directory / "fullchain.pem"
    subprocess.run(  # noqa: S603 - fixed argv
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(directory / "privkey.pem"), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    return certificate


def upstreams(*, app_port: int) -> str:
    shipped = (SITE_DIR / "minihub.upstreams.conf").read_text()
    text, found = re.subn(
        r"(upstream minihub_app \{\n)(    server [^\n]+\n)+",
        rf"\g<1>    server 127.0.0.1:{app_port} max_fails=1 fail_timeout=5s;\n",
        shipped,
    )
    if not found:
        raise ShippedSiteChanged("deploy/nginx/minihub.upstreams.conf has no minihub_app servers")
    return text


def render(
    prefix: Path, *, listen_port: int, redirect_port: int, static_port: int, app_port: int
) -> Path:
    """Writes the configuration under `prefix`; the path of its nginx.conf. The port-80
    server (redirects to HTTPS) listens on `redirect_port` and is not measured."""
    conf = prefix / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    install_site(
        conf,
        site_text=site(listen_port=listen_port, redirect_port=redirect_port),
        upstreams_text=upstreams(app_port=app_port),
    )
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = 65536 if hard == resource.RLIM_INFINITY else hard
    main = main_conf(
        prefix,
        worker_processes="auto",
        worker_connections=8192,
        head=f"worker_rlimit_nofile {hard};\n",
        servers=STATIC_SERVER.format(static_port=static_port, static_body=STATIC_BODY),
    )
    (conf / "nginx.conf").write_text(main)
    return conf / "nginx.conf"
