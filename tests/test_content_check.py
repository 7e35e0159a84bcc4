"""POST /content/check and the content-check services, against the fake WeChat over real HTTP."""

import pytest

from minihub.accounts.services import nickname_check
from minihub.core.errors import ApiError
from minihub.integrations.wechat.client import wechat_client
from minihub.tenants.access_tokens import with_access_token
from minihub.tenants.selectors import enabled_tenant_get
from tests.conftest import APPID_A, APPID_B
from tests.helpers import app_headers, json_post, log_in

CHECK_PATH = "/wxa/msg_sec_check"


@pytest.fixture
def token_a(client, tenants, wechat):
    return log_in(client, wechat, APPID_A, "openid-a")["token"]


def check(client, token, body, appid=APPID_A):
    return json_post(client, "/content/check", body, **app_headers(appid, token))


def wechat_checks(wechat) -> int:
    return wechat.stats()[CHECK_PATH]


def assert_refused(response, status, code, wechat):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert wechat_checks(wechat) == 0


@pytest.mark.parametrize(
    ("text", "suggest", "label"),
    [
        ("a quiet song about the sea", "pass", 100),
        ("this needs a review-word look", "review", 100),
        ("this is a risky-word", "risky", 20001),
        ("一起来赌博", "risky", 20001),
    ],
)
def test_the_verdict_is_wechats_suggest_and_label(client, token_a, wechat, text, suggest, label):
    response = check(client, token_a, {"text": text})
    assert response.status_code == 200, response.content
    assert response.json() == {"suggest": suggest, "label": label}
    assert wechat_checks(wechat) == 1


@pytest.mark.parametrize("text", ["a" * 2500, "🎵" * 2500])
def test_2500_characters_are_checked(client, token_a, wechat, text):
    response = check(client, token_a, {"text": text})
    assert response.status_code == 200, response.content
    assert response.json()["suggest"] == "pass"


def test_2501_characters_are_422_without_a_wechat_call(client, token_a, wechat):
    response = check(client, token_a, {"text": "a" * 2501})
    assert_refused(response, 422, "validation_error", wechat)
    assert response.json()["error"]["fields"][0]["loc"] == ["body", "text"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   \n\t"},
        {"text": None},
        {"text": 5},
        {"text": True},
        {"text": ["words"]},
        {"text": {"text": "words"}},
        {"txt": "words"},
        {"text": "words", "scene": 1},
    ],
)
def test_missing_empty_or_mistyped_text_is_422(client, token_a, wechat, body):
    assert_refused(check(client, token_a, body), 422, "validation_error", wechat)


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "invalid_json"),
        ('["text"]', "application/json", 400, "invalid_json"),
        ("text=words", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(
    client, token_a, wechat, raw, content_type, status, code
):
    response = client.post(
        "/api/v2/content/check",
        data=raw,
        content_type=content_type,
        **app_headers(APPID_A, token_a),
    )
    assert_refused(response, status, code, wechat)


def test_an_oversized_body_is_413(client, token_a, wechat):
    response = check(client, token_a, {"text": "a" * 70_000})
    assert_refused(response, 413, "payload_too_large", wechat)


def test_no_token_is_401(client, tenants, wechat):
    response = json_post(client, "/content/check", {"text": "hi"}, **app_headers(APPID_A))
    assert_refused(response, 401, "unauthenticated", wechat)


def test_another_mini_programs_token_is_401(client, tenants, wechat, token_a):
    token_b = log_in(client, wechat, APPID_B, "openid-b")["token"]
    assert_refused(check(client, token_b, {"text": "hi"}), 401, "unauthenticated", wechat)
    assert_refused(
        check(client, token_a, {"text": "hi"}, appid=APPID_B), 401, "unauthenticated", wechat
    )


def test_an_unknown_mini_program_is_404(client, token_a, wechat):
    response = check(client, token_a, {"text": "hi"}, appid="wx00000000000000ff")
    assert_refused(response, 404, "miniprogram_unknown", wechat)


def test_wechat_busy_after_retries_is_503_with_retry_after(client, token_a, wechat):
    wechat.fault(CHECK_PATH, -1, times=3)
    response = check(client, token_a, {"text": "hi"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_unavailable"
    assert int(response["Retry-After"]) > 0
    assert wechat_checks(wechat) == 3


def test_a_rejected_access_token_is_replaced_and_the_check_still_answers(client, token_a, wechat):
    wechat.fault(CHECK_PATH, 40001, times=1)
    response = check(client, token_a, {"text": "risky-word"})
    assert response.status_code == 200, response.content
    assert response.json()["suggest"] == "risky"
    assert wechat.stats()["/cgi-bin/stable_token"] == 2


def test_checks_are_throttled_per_user(client, tenants, wechat, token_a):
    token_other = log_in(client, wechat, APPID_A, "openid-other")["token"]
    # Fixed one-minute windows: within 61 requests at most one window boundary is crossed.
    statuses = []
    while 429 not in statuses and len(statuses) < 61:
        statuses.append(check(client, token_a, {"text": "hi"}).status_code)
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {200}
    assert len(statuses) >= 31
    refused = check(client, token_a, {"text": "hi"})
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    assert wechat_checks(wechat) == len(statuses) - 1  # a refused check costs no WeChat call
    assert check(client, token_other, {"text": "hi"}).status_code == 200


# --- the services other code calls ------------------------------------------------------------


@pytest.fixture
def tenant_a(tenants):
    return enabled_tenant_get(appid=APPID_A)


def test_msg_sec_check_returns_the_verdict(tenant_a, wechat):
    result = with_access_token(
        tenant_a.appid,
        lambda token: wechat_client().msg_sec_check(
            access_token=token, openid="openid-a", text="a risky-word here"
        ),
    )
    assert (result.suggest, result.label) == ("risky", 20001)


def test_a_risky_nickname_is_content_risky_422(tenant_a, wechat):
    with pytest.raises(ApiError) as refused:
        nickname_check(tenant=tenant_a, openid="openid-a", nickname="赌博大王")
    assert (refused.value.code, refused.value.status) == ("content_risky", 422)


@pytest.mark.parametrize("nickname", ["🎵音乐🎧", "review-word fan"])
def test_pass_and_review_nicknames_are_accepted(tenant_a, wechat, nickname):
    assert nickname_check(tenant=tenant_a, openid="openid-a", nickname=nickname) is None
    assert wechat_checks(wechat) == 1


def test_clearing_the_nickname_needs_no_check(tenant_a, wechat):
    assert nickname_check(tenant=tenant_a, openid="openid-a", nickname="") is None
    assert wechat_checks(wechat) == 0


def test_openapi_documents_the_answer_and_the_errors(client):
    operation = client.get("/api/v2/openapi.json").json()["paths"]["/api/v2/content/check"]["post"]
    assert {"200", "401", "413", "422", "429", "503"} <= set(operation["responses"])
