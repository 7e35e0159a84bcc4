"""Bad input to login and mini-program resolution: the documented 4xx, and nothing changes."""

import pytest

from minihub.accounts.models import User
from tests.conftest import APPID_A
from tests.helpers import json_post


@pytest.fixture
def nothing_changes(tenants, wechat):
    yield
    assert User.objects.count() == 0
    assert wechat.stats().get("/sns/jscode2session", 0) == 0


def post_login(client, body, **headers):
    headers.setdefault("HTTP_X_MINI_PROGRAM", APPID_A)
    return json_post(client, "/auth/login", body, **headers)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


@pytest.mark.usefixtures("nothing_changes")
class TestLoginBody:
    def test_missing_code(self, client):
        error = assert_error(post_login(client, {}), 422, "validation_error")
        assert error["fields"][0]["loc"] == ["body", "code"]

    def test_empty_code(self, client):
        assert_error(post_login(client, {"code": ""}), 422, "validation_error")

    def test_overlong_code(self, client):
        assert_error(post_login(client, {"code": "c" * 129}), 422, "validation_error")

    @pytest.mark.parametrize("code", [123, None, ["a"], {"a": 1}, True])
    def test_non_string_code(self, client, code):
        assert_error(post_login(client, {"code": code}), 422, "validation_error")

    def test_body_that_is_not_json(self, client):
        assert_error(post_login(client, "{not json"), 400, "invalid_json")

    def test_json_that_is_not_an_object(self, client):
        assert_error(post_login(client, '["code"]'), 400, "invalid_json")

    def test_deeply_nested_json(self, client):
        body = '{"code": "x", "n": ' + "[" * 40 + "]" * 40 + "}"
        assert_error(post_login(client, body), 400, "invalid_json")

    def test_wrong_content_type(self, client):
        response = client.post(
            "/api/v2/auth/login",
            data="code=abc",
            content_type="application/x-www-form-urlencoded",
            HTTP_X_MINI_PROGRAM=APPID_A,
        )
        assert_error(response, 415, "unsupported_media_type")

    def test_oversized_body(self, client, settings):
        body = '{"code": "' + "c" * settings.API_MAX_BODY_BYTES + '"}'
        assert_error(post_login(client, body), 413, "payload_too_large")


@pytest.mark.usefixtures("nothing_changes")
class TestMiniProgramResolution:
    def test_missing_mini_program(self, client):
        response = json_post(client, "/auth/login", {"code": "x"})
        assert_error(response, 400, "miniprogram_required")

    def test_unknown_appid(self, client):
        response = post_login(client, {"code": "x"}, HTTP_X_MINI_PROGRAM="wx0000000000000000")
        assert_error(response, 404, "miniprogram_unknown")

    def test_malformed_appid(self, client):
        response = post_login(client, {"code": "x"}, HTTP_X_MINI_PROGRAM="not-an-appid'--")
        assert_error(response, 404, "miniprogram_unknown")

    def test_disabled_appid(self, client, tenants):
        from minihub.tenants.services import miniprogram_set_enabled

        miniprogram_set_enabled(appid=APPID_A, enabled=False)
        assert_error(post_login(client, {"code": "x"}), 404, "miniprogram_unknown")

    @pytest.mark.parametrize(
        "referer",
        [
            "https://evil.example.com/wxa0000000000000a1/1/page-frame.html",
            "http://servicewechat.com/wxa0000000000000a1/1/page-frame.html",
            "https://servicewechat.com/wxa0000000000000a1/",
            "https://servicewechat.com/WXA0000000000000A1/1/page-frame.html",
            "garbage",
        ],
    )
    def test_malformed_referer_is_not_a_mini_program(self, client, referer):
        response = json_post(client, "/auth/login", {"code": "x"}, HTTP_REFERER=referer)
        assert_error(response, 400, "miniprogram_required")


def test_wechat_referer_identifies_the_mini_program(client, tenants, wechat):
    code = wechat.login_code(APPID_A, "o1")
    referer = f"https://servicewechat.com/{APPID_A}/12/page-frame.html"
    response = json_post(client, "/auth/login", {"code": code}, HTTP_REFERER=referer)
    assert response.status_code == 200, response.content
    assert User.objects.get().mini_program.appid == APPID_A
