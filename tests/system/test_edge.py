"""nginx in front: HTTPS, routing v1/v2 and the admin, health checks for internal
networks only, the real client address, and scaling out over app servers."""

import json
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.nginx import SITE_SUBDIR, self_signed_certificate
from minihub.accounts.models import User
from minihub.accounts.tokens import token_issue
from minihub.tenants.services import miniprogram_create
from tests.album_factory import album_create
from tests.helpers import MASTER_ENV, clear_of_window_edge, manage, test_process_env
from tests.system.failover_load import MixTarget, wrk_mix
from tests.system.nginx import (
    SITE_DIR,
    nginx_test,
    request_from,
    running_nginx,
    shipped_hsts,
)
from tests.system.stack import RECYCLING, supervised_stack, wait_until, wrk

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

WRITE_WINDOW_SECONDS = 60  # API_WRITES_PER_IP_PER_MINUTE
# wrk is one client address: lift the per-IP limit for load tests only.
LOAD_TEST_RATE = "100000r/s"
WRITE = "/api/v2/auth/login"
INTERNAL, OUTSIDER = "127.0.0.1", "127.0.0.2"  # minihub.internal-networks.conf: this host


class LegacyHandler(BaseHTTPRequestHandler):
    """Stands in for the v1 (PHP) service."""

    def do_GET(self):
        body = json.dumps({"legacy": True, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def legacy():
    server = ThreadingHTTPServer(("127.0.0.1", 0), LegacyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def edge(tmp_path, legacy):
    """One app server behind the shipped site."""
    with (
        supervised_stack(tmp_path / "app") as app,
        running_nginx(tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy) as running,
    ):
        yield running


def test_nginx_accepts_the_shipped_site_unchanged(tmp_path):
    conf_dir = tmp_path / "conf"
    (tmp_path / "tmp").mkdir()
    shutil.copytree(SITE_DIR, conf_dir / SITE_SUBDIR)
    self_signed_certificate(conf_dir / SITE_SUBDIR / "tls")  # where the operator puts theirs
    (conf_dir / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include {SITE_SUBDIR}/minihub.conf; }}\n"
    )
    result = nginx_test(conf_dir / "nginx.conf")
    assert result.returncode == 0, result.stderr


def test_v1_goes_to_legacy_and_v2_to_minihub(edge):
    v1 = edge.get("/api/v1/albums/7")
    assert v1.json() == {"legacy": True, "path": "/api/v1/albums/7"}
    v2 = edge.get("/api/v2/ping")
    assert v2.json() == {"message": "pong"}
    assert v2.headers["X-Request-ID"]


def tls_client(edge, *, maximum=None, ciphers=None, alpn=()) -> ssl.SSLContext:
    context = edge.tls_context()
    if maximum:
        context.maximum_version = maximum
    if ciphers:
        context.set_ciphers(ciphers)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def handshake(edge, context: ssl.SSLContext) -> tuple[str, str, str | None]:
    """(TLS version, cipher, ALPN protocol) nginx agrees to with this client."""
    host, port = edge.url.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return tls.version(), tls.cipher()[0], tls.selected_alpn_protocol()


def old_protocol_client(edge) -> ssl.SSLContext:
    """A TLS 1.0/1.1 client, as old devices are (OpenSSL would refuse on our side first)."""
    context = tls_client(edge, ciphers="DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated on purpose
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def test_https_speaks_tls_1_2_and_1_3_with_current_ciphers_http2_and_hsts(edge):
    version, _cipher, protocol = handshake(edge, tls_client(edge, alpn=("h2", "http/1.1")))
    assert (version, protocol) == ("TLSv1.3", "h2")
    version, cipher, _ = handshake(edge, tls_client(edge, maximum=ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-") and ("-GCM-" in cipher or "CHACHA20" in cipher)
    refused = {
        "TLS 1.1": old_protocol_client(edge),
        "RSA key exchange (no forward secrecy)": tls_client(
            edge, maximum=ssl.TLSVersion.TLSv1_2, ciphers="AES128-GCM-SHA256"
        ),
        "CBC mode": tls_client(
            edge, maximum=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-RSA-AES128-SHA"
        ),
    }
    for client, context in refused.items():
        with pytest.raises(ssl.SSLError):
            handshake(edge, context)
            pytest.fail(f"nginx accepted a client with {client}")  # reached only if it did
    # The app's answer and one nginx makes itself: one header each.
    answers = [edge.get("/api/v2/ping"), edge.request_from(OUTSIDER, "/api/v2/health")]
    assert [answers[0].status_code, answers[1].status] == [200, 403]
    assert answers[0].raw.headers.getlist("Strict-Transport-Security") == [shipped_hsts()]
    assert answers[1].headers.get_all("Strict-Transport-Security") == [shipped_hsts()]


def test_plain_http_is_redirected_to_https_except_health_checks(edge):
    for path in ("/api/v2/ping?page=2", "/api/v1/albums/7", "/admin/", "/"):
        answer = edge.request_from(INTERNAL, path, https=False)
        assert (answer.status, answer.headers["Location"]) == (301, f"https://127.0.0.1{path}")
    health = edge.request_from(INTERNAL, "/api/v2/health", https=False)
    assert health.status == 200
    assert json.loads(health.body)["status"] == "ok"


def test_health_checks_answer_internal_networks_only(edge):
    for path in ("/api/v2/health", "/api/v2/health/live"):
        for https in (True, False):
            assert edge.request_from(INTERNAL, path, https=https).status == 200
            refused = edge.request_from(OUTSIDER, path, https=https)
            assert refused.status == 403
            assert json.loads(refused.body)["error"]["code"] == "forbidden"
    assert edge.request_from(OUTSIDER, "/api/v2/ping").status == 200  # the API is for everyone


@pytest.fixture
def world_readable_dir():
    """A directory nginx's unprivileged workers can read, as /srv/minihub/current/var
    is (pytest's tmp_path is private to its user)."""
    directory = Path(tempfile.mkdtemp(prefix="minihub-var-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


def test_the_admin_is_served_at_the_path_master_derives_with_its_static_files(
    tmp_path, legacy, world_readable_dir
):
    admin_path = manage("admin_url", env=MASTER_ENV).stdout.strip()
    assert re.fullmatch(r"/admin-[0-9a-f]{20}/", admin_path)
    var_dir = world_readable_dir
    collected = manage(
        "collectstatic", "--noinput", env=test_process_env(MINIHUB_VAR_DIR=str(var_dir))
    )
    assert collected.returncode == 0, collected.stderr
    with (
        supervised_stack(tmp_path / "app", ADMIN_URL=admin_path.lstrip("/")) as app,
        running_nginx(
            tmp_path / "nginx",
            app_ports=[app.port],
            legacy_port=legacy,
            static_root=var_dir / "static",
        ) as edge,
    ):
        login = edge.get(admin_path + "login/")
        assert login.status_code == 200
        assert 'name="csrfmiddlewaretoken"' in login.text
        stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+\.css)"', login.text)
        assert stylesheets
        for stylesheet in stylesheets:
            answer = edge.get(stylesheet)
            assert answer.status_code == 200, stylesheet
            assert answer.headers["Content-Type"] == "text/css"


def test_each_client_address_has_its_own_budget_and_only_nginx_may_name_it(
    tmp_path, legacy, redis_db
):
    # A network, not an exact address: nginx's side of the connection is 127.0.0.1.
    limits = {"TRUSTED_PROXY_IPS": "127.0.0.1/32", "API_WRITES_PER_IP_PER_MINUTE": "1"}
    with (
        supervised_stack(tmp_path / "app", **limits) as app,
        running_nginx(tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy) as edge,
    ):

        def through_nginx(ip, **headers):
            """A write (counted before the unknown mini-program is refused): its status."""
            return edge.request_from(ip, WRITE, method="POST", headers=headers, body=b"{}").status

        def straight_to_the_app(ip, **headers):
            return request_from(
                app.base_url, ip, WRITE, method="POST", headers=headers, body=b"{}"
            ).status

        clear_of_window_edge(WRITE_WINDOW_SECONDS)
        assert through_nginx("127.0.0.2") != 429
        assert through_nginx("127.0.0.2") == 429  # one write a minute per address
        # Forged forwarding headers do not make 127.0.0.2 someone else: nginx overwrites them.
        assert through_nginx("127.0.0.2", **{"X-Forwarded-For": "10.1.2.3"}) == 429
        assert through_nginx("127.0.0.2", **{"X-Real-IP": "10.1.2.3"}) == 429
        assert through_nginx("127.0.0.3") != 429  # another client, another budget
        # Straight to the app server, X-Real-IP names nobody: the sender is counted.
        assert straight_to_the_app("127.0.0.4", **{"X-Real-IP": "127.0.0.5"}) != 429
        assert straight_to_the_app("127.0.0.4", **{"X-Real-IP": "127.0.0.6"}) == 429


ONE_WORKER = {"GRANIAN_WORKERS": "1", "GUNICORN_WORKERS": "1", "MINIHUB_RQ_WORKERS": "1"}
IN_FLIGHT_ON_ONE_SMALL_SERVER = 4  # 1 worker x 4 threads


def test_three_app_servers_a_dead_one_costs_no_failed_get(tmp_path, legacy):
    small = {
        **{"GRANIAN_WORKERS": "1", "GRANIAN_BLOCKING_THREADS": "4"},
        **{"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "4", "MINIHUB_RQ_WORKERS": "1"},
    }
    with (
        supervised_stack(tmp_path / "app1", **small) as one,
        supervised_stack(tmp_path / "app2", **small) as two,
        supervised_stack(tmp_path / "app3", **small) as three,
        running_nginx(
            tmp_path / "nginx",
            app_ports=[one.port, two.port, three.port],
            legacy_port=legacy,
            rate=LOAD_TEST_RATE,
        ) as edge,
    ):
        killer = threading.Timer(3, _kill_app_server, args=(two,))
        killer.start()
        result = wrk(edge.url + "/api/v2/health", seconds=10, connections=24)
        killer.join()
        assert result.requests > 200, result.output
        assert result.non_2xx == 0, result.output  # nginx retried every GET it could
        # Only an answer the killed server was already sending cannot be retried (nginx
        # then closes that client connection): at most its one worker's threads.
        assert result.socket_errors <= IN_FLIGHT_ON_ONE_SMALL_SERVER, result.output


def test_no_write_fails_through_nginx_while_workers_are_replaced(tmp_path, legacy):
    """nginx retries a GET that an app server drops, never a POST: a worker that stops
    (two HUPs, as a deploy sends, and recycling all along) must lose no request. The
    shipped server, gunicorn; granian can lose one (test_runtime.py)."""
    program = miniprogram_create(appid="wxe0000000000000e5", secret="s")
    album = album_create(mini_program_id=program.id, title="Reloads")
    user = User.objects.create(mini_program=program, openid="reload-user")
    token = token_issue(user=user).token
    recycling_env, recycled = RECYCLING["gunicorn"]
    with (
        supervised_stack(
            tmp_path / "app",
            API_THROTTLES_ENABLED="false",  # every request comes from one address
            **recycling_env,
        ) as app,
        running_nginx(
            tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy, rate=LOAD_TEST_RATE
        ) as edge,
    ):
        workers_before = set(app.web_workers())
        reloader = threading.Thread(target=app.reload_web)
        reloader.start()
        target = MixTarget(edge.url, program.appid, token, album.id)
        counts = wrk_mix(target, seconds=12, connections=16)
        reloader.join()
        wait_until(
            lambda: not workers_before & set(app.web_workers()),
            timeout=30,
            what="every worker replaced",
        )
        assert recycled in (app.run_dir / "logs" / "web.log").read_text()
    assert counts["requests"] > 300, counts
    assert counts["plays_acknowledged"] > 100, counts  # POSTs among them
    assert counts["failed_status"] == 0, counts
    assert counts["socket_errors"] == 0, counts


def _kill_app_server(stack):
    """SIGKILL the whole app server: supervisord first (no restart), then every program."""
    supervisord = int((stack.run_dir / "pids" / "supervisord.pid").read_text())
    programs = list(stack.pids().values())
    subprocess.run(["kill", "-9", str(supervisord)], check=True)
    for pid in programs:  # each program runs in a process group of its own
        subprocess.run(["pkill", "-9", "-g", str(_pgid(pid))], check=False)


def _pgid(pid: int) -> int:
    return os.getpgid(pid)


def test_the_per_ip_rate_limit_answers_429_in_the_envelope(tmp_path, legacy):
    with (
        supervised_stack(tmp_path / "app", **ONE_WORKER) as app,
        running_nginx(tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy) as edge,
    ):
        result = wrk(edge.url + "/api/v2/ping", seconds=3, connections=8)
        assert result.non_2xx > 0, result.output  # far over 100 requests/s from one address
        # Eight at a time: one client in a loop may not outpace the 100/s the limit refills.
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: edge.get("/api/v2/ping"), range(400)))
        limited = next((answer for answer in answers if answer.status_code == 429), None)
        assert limited is not None, Counter(answer.status_code for answer in answers)
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.headers["Retry-After"] == "1"


def test_slow_clients_cannot_tie_up_the_app_behind_nginx(tmp_path, legacy):
    """1,200 slowloris connections (more than the app's 1,000 slots) stay at nginx."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with (
        supervised_stack(tmp_path / "app", **ONE_WORKER) as app,
        running_nginx(tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy) as edge,
    ):
        host, port = edge.url.removeprefix("https://").split(":")
        tls = edge.tls_context()
        slow = []
        try:
            for _ in range(1200):
                raw = socket.create_connection((host, int(port)), timeout=5)
                sock = tls.wrap_socket(raw, server_hostname=host)
                sock.sendall(b"GET /api/v2/ping HTTP/1.1\r\nHost: x\r\n")  # never finished
                slow.append(sock)
            for _ in range(3):
                for sock in slow:
                    sock.sendall(b"X-Slow: 1\r\n")  # a trickle, as slowloris does
                started = time.monotonic()
                assert edge.get("/api/v2/ping").status_code == 200
                assert time.monotonic() - started < 2
                time.sleep(1)
        finally:
            for sock in slow:
                sock.close()
        access_log = (app.run_dir / "logs" / "web.access.log").read_text()
        assert "X-Slow" not in access_log
        assert access_log.count("/api/v2/ping") == 3  # only the real requests reached the app
