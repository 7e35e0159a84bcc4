"""GET/PATCH /me, POST /me/phone, POST /me/userinfo."""

import base64
import os

import pytest

from minihub.accounts.models import User
from minihub.integrations.wechat import crypto
from tests.conftest import APPID_A, APPID_B
from tests.helpers import app_headers, log_in
from tests.wechat_side import encrypt_user_data

SESSION_KEY = base64.b64encode(b"0123456789abcdef").decode()
NICKNAME = "🎵音乐🎧 👨‍👩‍👧"


@pytest.fixture
def user_a(client, tenants, wechat):
    body = log_in(client, wechat, APPID_A, "openid-a", session_key=SESSION_KEY)
    return {"token": body["token"], "id": body["user"]["id"]}


def patch_me(client, token, body, appid=APPID_A):
    return client.patch(
        "/api/v2/me", data=body, content_type="application/json", **app_headers(appid, token)
    )


def post_me(client, token, path, body, appid=APPID_A):
    return client.post(
        f"/api/v2/me{path}", data=body, content_type="application/json", **app_headers(appid, token)
    )


def test_get_me_returns_the_documented_user(client, user_a):
    body = client.get("/api/v2/me", **app_headers(APPID_A, user_a["token"])).json()
    assert set(body) == {"id", "openid", "unionid", "nickname", "avatar_url", "phone", "created_at"}
    assert body["openid"] == "openid-a"
    assert body["phone"] is None


def test_post_me_changes_the_profile_like_patch(client, user_a):
    # wx.request cannot send PATCH: mini-programs use POST /me.
    response = post_me(client, user_a["token"], "", {"nickname": NICKNAME})
    assert response.status_code == 200, response.content
    assert User.objects.get().nickname == NICKNAME
    assert post_me(client, user_a["token"], "", {"nickname": 5}).status_code == 422


def test_emoji_nickname_is_kept_exactly(client, user_a):
    response = patch_me(client, user_a["token"], {"nickname": NICKNAME})
    assert response.status_code == 200
    assert response.json()["nickname"] == NICKNAME
    assert User.objects.get().nickname == NICKNAME
    again = client.get("/api/v2/me", **app_headers(APPID_A, user_a["token"])).json()
    assert again["nickname"].encode() == NICKNAME.encode()


def test_avatar_url_is_updated(client, user_a):
    url = "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132"
    assert patch_me(client, user_a["token"], {"avatar_url": url}).json()["avatar_url"] == url


@pytest.mark.parametrize(
    "body",
    [
        {"nickname": "n" * 65},
        {"nickname": "bad\x00name"},
        {"nickname": "line\nbreak"},
        {"nickname": 42},
        {"avatar_url": "javascript:alert(1)"},
        {"avatar_url": "ftp://example.com/a.png"},
        {"avatar_url": "https://"},
        {"avatar_url": "https://ex ample.com/a.png"},
    ],
)
def test_bad_profile_values_are_422_and_change_nothing(client, user_a, body):
    response = patch_me(client, user_a["token"], body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"
    user = User.objects.get()
    assert (user.nickname, user.avatar_url) == ("", "")


@pytest.mark.parametrize(
    "field", ["id", "openid", "unionid", "phone", "mini_program", "mini_program_id", "session_key"]
)
def test_patch_me_cannot_change_protected_fields(client, user_a, field):
    response = patch_me(client, user_a["token"], {field: "changed", "nickname": "x"})
    assert response.status_code == 422
    user = User.objects.get()
    assert (user.openid, user.unionid, user.phone, user.nickname) == ("openid-a", "", "", "")


def test_me_needs_a_token(client, tenants):
    response = client.get("/api/v2/me", HTTP_X_MINI_PROGRAM=APPID_A)
    assert response.status_code == 401


def test_another_mini_programs_token_gets_nothing(client, tenants, wechat, user_a):
    token_b = log_in(client, wechat, APPID_B, "openid-b")["token"]
    # B's token sent as A's mini-program, and A's token as B's.
    assert client.get("/api/v2/me", **app_headers(APPID_A, token_b)).status_code == 401
    assert patch_me(client, user_a["token"], {"nickname": "x"}, appid=APPID_B).status_code == 401
    assert User.objects.get(openid="openid-a").nickname == ""


# --- phone --------------------------------------------------------------------------


def test_phone_code_binds_the_phone_number(client, user_a, wechat):
    code = wechat.phone_code(APPID_A, "13800138000")
    response = post_me(client, user_a["token"], "/phone", {"code": code})
    assert response.status_code == 200, response.content
    assert response.json()["phone"].endswith("13800138000")
    assert wechat.stats().get("/cgi-bin/stable_token") == 1
    assert wechat.stats().get("/cgi-bin/token", 0) == 0


def test_a_bad_phone_code_is_400_and_changes_nothing(client, user_a):
    response = post_me(client, user_a["token"], "/phone", {"code": "never-issued"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_invalid"
    assert User.objects.get().phone == ""


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": 5}, {"code": "x" * 129}])
def test_phone_body_validation(client, user_a, body):
    assert post_me(client, user_a["token"], "/phone", body).status_code == 422


def test_an_invalidated_access_token_is_refreshed_once(client, user_a, wechat):
    first = wechat.phone_code(APPID_A, "13800138000")
    assert post_me(client, user_a["token"], "/phone", {"code": first}).status_code == 200
    wechat.fault("/wxa/business/getuserphonenumber", 40001, times=1)
    second = wechat.phone_code(APPID_A, "13900139000")
    response = post_me(client, user_a["token"], "/phone", {"code": second})
    assert response.status_code == 200, response.content
    assert wechat.stats()["/cgi-bin/stable_token"] == 2


# --- userinfo -----------------------------------------------------------------------


def encrypted_userinfo(appid=APPID_A, session_key=SESSION_KEY, **fields):
    data = {
        "nickName": NICKNAME,
        "avatarUrl": "https://thirdwx.qlogo.cn/a/132",
        "unionId": "union-x",
        "watermark": {"appid": appid, "timestamp": 1700000000},
        **fields,
    }
    iv = os.urandom(16)
    return {
        "encrypted_data": encrypt_user_data(data=data, iv=iv, session_key=session_key),
        "iv": base64.b64encode(iv).decode(),
    }


def test_userinfo_is_decrypted_and_applied(client, user_a):
    response = post_me(client, user_a["token"], "/userinfo", encrypted_userinfo())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["nickname"] == NICKNAME
    assert body["unionid"] == "union-x"


def test_userinfo_with_a_valid_raw_data_signature(client, user_a):
    raw = '{"nickName":"Band"}'
    body = {
        **encrypted_userinfo(),
        "raw_data": raw,
        "signature": crypto.raw_data_signature(raw, SESSION_KEY),
    }
    assert post_me(client, user_a["token"], "/userinfo", body).status_code == 200


def test_userinfo_with_a_wrong_signature_is_refused(client, user_a):
    body = {**encrypted_userinfo(), "raw_data": "{}", "signature": "0" * 40}
    response = post_me(client, user_a["token"], "/userinfo", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "decrypt_failed"
    assert User.objects.get().nickname == ""


def test_userinfo_of_another_mini_program_is_refused(client, user_a):
    response = post_me(client, user_a["token"], "/userinfo", encrypted_userinfo(appid=APPID_B))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "decrypt_failed"
    assert User.objects.get().nickname == ""


def test_userinfo_under_an_old_session_key_is_session_expired(client, user_a, wechat):
    old = encrypted_userinfo()
    log_in(client, wechat, APPID_A, "openid-a")  # new session key
    response = post_me(client, user_a["token"], "/userinfo", old)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"


@pytest.mark.parametrize(
    "override",
    [
        {"encrypted_data": "not base64!"},
        {"iv": "not base64!"},
        {"iv": base64.b64encode(b"short").decode()},
        {"encrypted_data": base64.b64encode(b"x" * 15).decode()},
    ],
)
def test_malformed_userinfo_is_decrypt_failed(client, user_a, override):
    body = {**encrypted_userinfo(), **override}
    response = post_me(client, user_a["token"], "/userinfo", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "decrypt_failed"


@pytest.mark.parametrize("body", [{}, {"encrypted_data": "x"}, {"encrypted_data": 1, "iv": 2}])
def test_userinfo_body_validation(client, user_a, body):
    assert post_me(client, user_a["token"], "/userinfo", body).status_code == 422


# --- nickname content checks ----------------------------------------------------------


@pytest.fixture
def checks_on(tenants):
    from minihub.tenants.services import miniprogram_update

    tenants.a.content_check_enabled = True
    miniprogram_update(program=tenants.a)


def test_a_risky_nickname_is_refused_when_checks_are_on(client, user_a, checks_on, wechat):
    response = patch_me(client, user_a["token"], {"nickname": "risky-word 🎵"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "content_risky"
    assert User.objects.get().nickname == ""
    assert wechat.stats()["/wxa/msg_sec_check"] == 1


def test_a_clean_nickname_passes_the_check(client, user_a, checks_on, wechat):
    assert patch_me(client, user_a["token"], {"nickname": NICKNAME}).status_code == 200
    assert User.objects.get().nickname == NICKNAME
    assert wechat.stats()["/wxa/msg_sec_check"] == 1


def test_nicknames_are_not_checked_when_checks_are_off(client, user_a, wechat):
    assert patch_me(client, user_a["token"], {"nickname": "risky-word"}).status_code == 200
    assert wechat.stats().get("/wxa/msg_sec_check", 0) == 0
