"""Abuse limits on writes, per user and per address, shared by every process through Redis."""

import pytest

from config.settings.env import ip_networks
from minihub.core.net import client_ip
from tests.conftest import APPID_A
from tests.helpers import app_headers, clear_of_window_edge, log_in, manage, test_process_env


def patch_nickname(client, token, nickname="n"):
    return client.patch(
        "/api/v2/me",
        data={"nickname": nickname},
        content_type="application/json",
        **app_headers(APPID_A, token),
    )


def test_writes_per_user_are_limited_with_retry_after(client, tenants, wechat, settings):
    settings.API_WRITES_PER_USER_PER_MINUTE = 3
    clear_of_window_edge(60, margin_seconds=5)
    token = log_in(client, wechat, APPID_A, "o1")["token"]
    statuses = [patch_nickname(client, token, f"n{i}").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = patch_nickname(client, token, "late")
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Reads are not writes.
    assert client.get("/api/v2/me", **app_headers(APPID_A, token)).status_code == 200
    # Another user has a budget of their own.
    other = log_in(client, wechat, APPID_A, "o2")["token"]
    assert patch_nickname(client, other).status_code == 200


def test_writes_per_address_are_limited(client, tenants, wechat, settings):
    clear_of_window_edge(60, margin_seconds=5)
    token = log_in(client, wechat, APPID_A, "o1")["token"]  # one write so far
    settings.API_WRITES_PER_IP_PER_MINUTE = 3
    statuses = [patch_nickname(client, token).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # WeChat's push servers are not counted against the address.
    push = client.post(
        "/api/v2/wechat/push/wx0000000000000000", data="{}", content_type="application/json"
    )
    assert push.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_count_is_shared_with_other_processes(client, tenants, wechat, settings):
    settings.API_WRITES_PER_USER_PER_MINUTE = 2
    # The other process takes seconds to start: its writes and ours must share a window.
    clear_of_window_edge(60, margin_seconds=30)
    token = log_in(client, wechat, APPID_A, "o1")["token"]
    other_process = (
        "from django.test import Client;"
        f"c = Client(HTTP_HOST='localhost', HTTP_X_MINI_PROGRAM='{APPID_A}',"
        f" HTTP_AUTHORIZATION='Bearer {token}');"
        "print([c.patch('/api/v2/me', data={'nickname': 'x'},"
        " content_type='application/json').status_code for _ in range(2)])"
    )
    env = test_process_env(API_WRITES_PER_USER_PER_MINUTE="2")
    result = manage("shell", "--no-imports", "-c", other_process, env=env)
    assert result.stdout.strip().splitlines()[-1] == "[200, 200]", result.stderr
    assert patch_nickname(client, token).status_code == 429


@pytest.mark.parametrize(
    ("peer", "real_ip", "counted_as"),
    [
        ("10.1.2.3", "198.51.100.7", "198.51.100.7"),  # a proxy inside a trusted network
        ("::ffff:10.1.2.3", "198.51.100.7", "198.51.100.7"),  # the same, on a dual-stack socket
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),  # a single trusted address
        ("192.0.2.9", "198.51.100.7", "192.0.2.9"),  # anyone else cannot claim an address
        ("10.1.2.3", "", "10.1.2.3"),  # a trusted proxy that names nobody
    ],
)
def test_the_client_address_is_believed_from_trusted_proxies_only(
    rf, settings, peer, real_ip, counted_as
):
    settings.TRUSTED_PROXY_IPS = ip_networks("TRUSTED_PROXY_IPS", "10.0.0.0/8,127.0.0.1")
    request = rf.post("/api/v2/me", REMOTE_ADDR=peer, HTTP_X_REAL_IP=real_ip)
    assert client_ip(request) == counted_as
