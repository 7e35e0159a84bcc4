"""POST /auth/login and /auth/logout against the fake WeChat server over real HTTP."""

import time

import pytest

from minihub.accounts.models import ApiToken, User
from tests.conftest import APPID_A, APPID_B
from tests.helpers import app_headers, clear_of_window_edge, json_post, log_in


def login_status(client, appid, code, **headers):
    return json_post(client, "/auth/login", {"code": code}, **app_headers(appid), **headers)


def test_first_login_creates_the_user_and_the_second_finds_it(client, tenants, wechat):
    first = log_in(client, wechat, APPID_A, "openid-1", unionid="union-1")
    second = log_in(client, wechat, APPID_A, "openid-1")
    assert first["created"] is True
    assert second["created"] is False
    assert first["user"]["id"] == second["user"]["id"]
    assert first["user"]["openid"] == "openid-1"
    assert first["user"]["unionid"] == "union-1"
    assert first["token"] != second["token"]
    assert first["expires_in"] > 0
    assert User.objects.count() == 1


def test_the_same_openid_in_two_mini_programs_is_two_users(client, tenants, wechat):
    a = log_in(client, wechat, APPID_A, "same-openid")
    b = log_in(client, wechat, APPID_B, "same-openid")
    assert a["user"]["id"] != b["user"]["id"]
    assert User.objects.filter(openid="same-openid").count() == 2


def test_openids_differing_only_in_case_are_different_users(client, tenants, wechat):
    log_in(client, wechat, APPID_A, "oAbC")
    log_in(client, wechat, APPID_A, "oabc")
    assert User.objects.count() == 2


def test_login_replaces_the_session_key(client, tenants, wechat):
    log_in(client, wechat, APPID_A, "o1", session_key="AAAAAAAAAAAAAAAAAAAAAA==")
    log_in(client, wechat, APPID_A, "o1", session_key="BBBBBBBBBBBBBBBBBBBBBB==")
    assert User.objects.get(openid="o1").session_key == "BBBBBBBBBBBBBBBBBBBBBB=="


def test_a_reused_code_is_refused(client, tenants, wechat):
    code = wechat.login_code(APPID_A, "o1")
    assert login_status(client, APPID_A, code).status_code == 200
    response = login_status(client, APPID_A, code)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_invalid"


def test_a_blocked_user_gets_403(client, tenants, wechat):
    code = wechat.login_code(APPID_A, "risky-user", blocked=True)
    response = login_status(client, APPID_A, code)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wechat_user_blocked"
    assert User.objects.count() == 0


def test_two_busy_answers_then_success_still_log_in(client, tenants, wechat):
    code = wechat.login_code(APPID_A, "o1")
    wechat.fault("/sns/jscode2session", -1, times=2)
    response = login_status(client, APPID_A, code)
    assert response.status_code == 200, response.content
    assert wechat.stats()["/sns/jscode2session"] == 3


def test_wechat_down_gives_503_with_retry_after_within_5_seconds(client, tenants, settings):
    from minihub.integrations.wechat.client import _client

    settings.WECHAT_API_BASE = "http://127.0.0.1:1"  # nothing listens there
    _client.cache_clear()
    started = time.monotonic()
    response = login_status(client, APPID_A, "any-code")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_unavailable"
    assert int(response["Retry-After"]) > 0


@pytest.mark.slow
def test_wechat_timing_out_gives_503_within_5_seconds(client, tenants, wechat):
    code = wechat.login_code(APPID_A, "o1")
    wechat.fault("/sns/jscode2session", "timeout", times=5, delay=3)
    started = time.monotonic()
    response = login_status(client, APPID_A, code)
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_unavailable"
    assert response["Retry-After"]


def test_a_token_works_only_with_its_own_mini_program(client, tenants, wechat):
    token = log_in(client, wechat, APPID_A, "o1")["token"]
    assert client.get("/api/v2/me", **app_headers(APPID_A, token)).status_code == 200
    other = client.get("/api/v2/me", **app_headers(APPID_B, token))
    assert other.status_code == 401
    assert other.json()["error"]["code"] == "unauthenticated"


def test_logout_stops_the_token_at_once(client, tenants, wechat):
    token = log_in(client, wechat, APPID_A, "o1")["token"]
    response = client.post("/api/v2/auth/logout", **app_headers(APPID_A, token))
    assert response.status_code == 204
    assert client.get("/api/v2/me", **app_headers(APPID_A, token)).status_code == 401
    assert ApiToken.objects.get().revoked_at is not None


def test_an_expired_token_is_refused(client, tenants, wechat, settings):
    settings.API_TOKEN_TTL_SECONDS = 1
    token = log_in(client, wechat, APPID_A, "o1")["token"]
    time.sleep(1.2)
    assert client.get("/api/v2/me", **app_headers(APPID_A, token)).status_code == 401


@pytest.mark.parametrize(
    "authorization", ["", "Bearer", "Bearer nonsense", "Basic abc", "Bearer " + "x" * 300]
)
def test_bad_authorization_headers_are_401(client, tenants, authorization):
    response = client.get(
        "/api/v2/me", HTTP_X_MINI_PROGRAM=APPID_A, HTTP_AUTHORIZATION=authorization
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_login_per_ip_is_throttled_with_retry_after(client, tenants, wechat):
    tenants.a.login_limit_per_ip = 2
    from minihub.tenants.services import miniprogram_update

    miniprogram_update(program=tenants.a)
    clear_of_window_edge(60, margin_seconds=5)
    for openid in ("o1", "o2"):
        log_in(client, wechat, APPID_A, openid)
    response = login_status(client, APPID_A, wechat.login_code(APPID_A, "o3"))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not User.objects.filter(openid="o3").exists()
    # Another mini-program's limit is its own.
    log_in(client, wechat, APPID_B, "o3")


def test_login_per_openid_is_throttled(client, tenants, wechat):
    from minihub.tenants.services import miniprogram_update

    tenants.a.login_limit_per_openid = 1
    miniprogram_update(program=tenants.a)
    log_in(client, wechat, APPID_A, "o1")
    response = login_status(client, APPID_A, wechat.login_code(APPID_A, "o1"))
    assert response.status_code == 429
    assert response["Retry-After"]
    log_in(client, wechat, APPID_A, "o2")  # other users are not affected
