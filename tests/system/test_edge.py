"""nginx in front: routing v1/v2, the real client address, and scaling out over app servers."""

import http.client
import json
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.helpers import clear_of_window_edge
from tests.system.nginx import SITE_DIR, nginx_test, running_nginx
from tests.system.stack import supervised_stack, wrk

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

WRITE_WINDOW_SECONDS = 60  # API_WRITES_PER_IP_PER_MINUTE
# wrk is one client address: lift the per-IP limit for load tests only.
LOAD_TEST_RATE = "100000r/s"


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


def test_nginx_accepts_the_shipped_site_unchanged(tmp_path):
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (tmp_path / "tmp").mkdir()
    for name in ("minihub.conf", "minihub.upstreams.conf"):
        shutil.copy(SITE_DIR / name, conf_dir / name)
    (conf_dir / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        "events {}\nhttp { include minihub.conf; }\n"
    )
    result = nginx_test(conf_dir / "nginx.conf")
    assert result.returncode == 0, result.stderr


def get_from(base: str, source_ip: str, path: str, headers=None, method="GET", body=None):
    """A request from a chosen loopback address (127.0.0.0/8 is all ours)."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), source_address=(source_ip, 0))
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def test_v1_goes_to_legacy_and_v2_to_minihub(tmp_path, legacy):
    with (
        supervised_stack(tmp_path / "app") as app,
        running_nginx(tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy) as edge,
    ):
        v1 = requests.get(edge + "/api/v1/albums/7", timeout=5)
        assert v1.json() == {"legacy": True, "path": "/api/v1/albums/7"}
        v2 = requests.get(edge + "/api/v2/ping", timeout=5)
        assert v2.json() == {"message": "pong"}
        assert v2.headers["X-Request-ID"]


def test_each_client_address_has_its_own_budget_and_only_nginx_may_name_it(
    tmp_path, legacy, redis_db
):
    # A network, not an exact address: nginx's side of the connection is 127.0.0.1.
    limits = {"TRUSTED_PROXY_IPS": "127.0.0.1/32", "API_WRITES_PER_IP_PER_MINUTE": "1"}
    with (
        supervised_stack(tmp_path / "app", **limits) as app,
        running_nginx(tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy) as edge,
    ):

        def write_from(base, ip, **headers):
            """A write (counted before the unknown mini-program is refused): its status."""
            status, _ = get_from(base, ip, "/api/v2/auth/login", headers, "POST", b"{}")
            return status

        clear_of_window_edge(WRITE_WINDOW_SECONDS)
        assert write_from(edge, "127.0.0.2") != 429
        assert write_from(edge, "127.0.0.2") == 429  # one write a minute per address
        # Forged forwarding headers do not make 127.0.0.2 someone else: nginx overwrites them.
        assert write_from(edge, "127.0.0.2", **{"X-Forwarded-For": "10.1.2.3"}) == 429
        assert write_from(edge, "127.0.0.2", **{"X-Real-IP": "10.1.2.3"}) == 429
        assert write_from(edge, "127.0.0.3") != 429  # another client, another budget
        # Straight to gunicorn, X-Real-IP names nobody: the sender is counted.
        assert write_from(app.base_url, "127.0.0.4", **{"X-Real-IP": "127.0.0.5"}) != 429
        assert write_from(app.base_url, "127.0.0.4", **{"X-Real-IP": "127.0.0.6"}) == 429


def test_three_app_servers_a_dead_one_costs_no_failed_get(tmp_path, legacy):
    small = {"GUNICORN_WORKERS": "1", "MINIHUB_RQ_WORKERS": "1"}
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
        result = wrk(edge + "/api/v2/health", seconds=10, connections=24)
        killer.join()
        assert result.requests > 200, result.output
        assert result.socket_errors == 0, result.output
        assert result.non_2xx == 0, result.output


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
        supervised_stack(tmp_path / "app", GUNICORN_WORKERS="1", MINIHUB_RQ_WORKERS="1") as app,
        running_nginx(tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy) as edge,
    ):
        result = wrk(edge + "/api/v2/ping", seconds=3, connections=8)
        assert result.non_2xx > 0, result.output  # far over 100 requests/s from one address
        limited = None
        for _ in range(500):
            response = requests.get(edge + "/api/v2/ping", timeout=5)
            if response.status_code == 429:
                limited = response
                break
        assert limited is not None
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.headers["Retry-After"] == "1"


def test_slow_clients_cannot_tie_up_the_app_behind_nginx(tmp_path, legacy):
    """1,200 slowloris connections (more than the app's 1,000 slots) stay at nginx."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    one_worker = {"GUNICORN_WORKERS": "1", "MINIHUB_RQ_WORKERS": "1"}
    with (
        supervised_stack(tmp_path / "app", **one_worker) as app,
        running_nginx(tmp_path / "nginx", app_ports=[app.port], legacy_port=legacy) as edge,
    ):
        host, port = edge.removeprefix("http://").split(":")
        slow = []
        try:
            for _ in range(1200):
                sock = socket.create_connection((host, int(port)), timeout=5)
                sock.sendall(b"GET /api/v2/ping HTTP/1.1\r\nHost: x\r\n")  # never finished
                slow.append(sock)
            for _ in range(3):
                for sock in slow:
                    sock.sendall(b"X-Slow: 1\r\n")  # a trickle, as slowloris does
                started = time.monotonic()
                assert requests.get(edge + "/api/v2/ping", timeout=5).status_code == 200
                assert time.monotonic() - started < 2
                time.sleep(1)
        finally:
            for sock in slow:
                sock.close()
        access_log = (app.run_dir / "logs" / "web.access.log").read_text()
        assert "X-Slow" not in access_log
        assert access_log.count("/api/v2/ping") == 3  # only the real requests reached the app
