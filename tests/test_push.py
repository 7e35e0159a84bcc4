"""GET, POST /wechat/push/<appid>: WeChat's message push, plain and safe mode, handled by real jobs.

Safe-mode messages are encrypted here by an independent implementation: the
`openssl enc` command, with the frame and its PKCS#7 padding to 32-byte
blocks built by hand as docs/wechat.md describes, and signatures from hashlib.
"""

import base64
import hashlib
import json
import os
import random
import struct
import subprocess
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User as StaffUser
from django.test import Client
from django.utils import timezone

from minihub.core.errors import ApiError
from minihub.notifications.models import SubscriptionGrant
from minihub.tenants.models import MiniProgram, PushMode
from minihub.tenants.services import miniprogram_create, miniprogram_set_enabled, miniprogram_update
from minihub.wechat.models import PushEvent
from minihub.wechat.services import push_event_handle, push_events_prune
from tests.conftest import APPID_A, APPID_B
from tests.helpers import log_in

TOKEN_A = "push-token-of-a"
TOKEN_B = "push-token-of-b"
AES_KEY_A = base64.b64encode(bytes(range(32))).decode()[:-1]
AES_KEY_B = base64.b64encode(bytes(range(100, 132))).decode()[:-1]
APPID_C = "wxc0000000000000c3"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
ACCEPTED = ["tpl-accepted-1", "tpl_accepted_2"]
REJECTED = "tpl-rejected"


@pytest.fixture
def push_tenants(tenants):
    """A in plain mode, B in safe mode, both with push token and EncodingAESKey; C (also
    enabled) without either."""
    miniprogram_update(
        program=tenants.a, push_token=TOKEN_A, aes_key=AES_KEY_A, push_mode=PushMode.PLAIN
    )
    miniprogram_update(
        program=tenants.b, push_token=TOKEN_B, aes_key=AES_KEY_B, push_mode=PushMode.SAFE
    )
    miniprogram_create(appid=APPID_C, secret="secret-of-c")
    return tenants


# --- an independent implementation of WeChat's side ---------------------------------------


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def openssl_encrypt(message: str, *, aes_key: str, appid: str) -> str:
    key = base64.b64decode(aes_key + "=")
    body = message.encode()
    frame = os.urandom(16) + struct.pack(">I", len(body)) + body + appid.encode()
    pad = 32 - len(frame) % 32
    frame += bytes([pad]) * pad
    result = subprocess.run(
        ["openssl", "enc", "-aes-256-cbc", "-nopad", "-K", key.hex(), "-iv", key[:16].hex()],
        input=frame,
        capture_output=True,
        check=True,
    )
    assert len(result.stdout) == len(frame)
    return base64.b64encode(result.stdout).decode()


def text_message_xml(msg_id: int, content: str = "你好 🎵") -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def popup_event_xml(create_time: int, openid: str = OPENID) -> str:
    entries = "".join(
        f"<List><TemplateId><![CDATA[{template_id}]]></TemplateId>"
        f"<SubscribeStatusString><![CDATA[{status}]]></SubscribeStatusString>"
        f"<PopupScene>0</PopupScene></List>"
        for template_id, status in [
            (ACCEPTED[0], "accept"),
            (REJECTED, "reject"),
            (ACCEPTED[1], "accept"),
        ]
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<xml>\n  <ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event>"
        f"<SubscribeMsgPopupEvent>{entries}</SubscribeMsgPopupEvent>\n</xml>"
    )


def popup_event_json(create_time: int, openid: str = OPENID) -> str:
    return json.dumps(
        {
            "ToUserName": "gh_0123456789ab",
            "FromUserName": openid,
            "CreateTime": create_time,
            "MsgType": "event",
            "Event": "subscribe_msg_popup_event",
            "List": [
                {"TemplateId": ACCEPTED[0], "SubscribeStatusString": "accept", "PopupScene": "0"},
                {"TemplateId": REJECTED, "SubscribeStatusString": "reject", "PopupScene": "0"},
            ],
        }
    )


def push_path(appid: str, query: dict) -> str:
    return f"/api/v2/wechat/push/{appid}?{urlencode(query)}"


def signed_query(token: str, timestamp: int | str | None = None, nonce: str | None = None):
    """A fresh nonce per request unless one is given, as WeChat sends them."""
    timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
    nonce = nonce or str(random.randrange(10**9, 10**10))
    return {
        "signature": sha1_signature(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": OPENID,
    }


def post_plain(
    client,
    body,
    *,
    appid=APPID_A,
    token=TOKEN_A,
    content_type="text/xml",
    timestamp=None,
    nonce=None,
    tamper=None,
):
    """Signed as WeChat would; `tamper` changes query parameters after signing."""
    query = {**signed_query(token, timestamp, nonce), **(tamper or {})}
    return client.post(push_path(appid, query), data=body, content_type=content_type)


def post_safe(
    client,
    encrypt,
    *,
    appid=APPID_B,
    token=TOKEN_B,
    fmt="xml",
    timestamp=None,
    nonce=None,
    body_extra="",
    **overrides,
):
    """`body_extra`: clear fields beside Encrypt, as compatible mode sends them."""
    query = signed_query(token, timestamp, nonce)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = sha1_signature(token, query["timestamp"], query["nonce"], encrypt)
    query.update(overrides)
    if fmt == "xml":
        body = (
            "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
            f"{body_extra}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
        content_type = "text/xml"
    else:
        body = json.dumps({"ToUserName": "gh_0123456789ab", "Encrypt": encrypt})
        content_type = "application/json"
    return client.post(push_path(appid, query), data=body, content_type=content_type)


def assert_success(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"success"


def assert_refused(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert PushEvent.objects.count() == 0


# --- GET: the URL check ------------------------------------------------------------------


def test_get_with_a_good_signature_echoes_echostr_unchanged(client, push_tenants):
    query = {**signed_query(TOKEN_A), "echostr": "4913385117396483207"}
    response = client.get(push_path(APPID_A, query))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"4913385117396483207"


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0" * 40},
        {"signature": ""},
        {"nonce": "another-nonce"},
        {"timestamp": "1"},
    ],
)
def test_get_with_a_bad_or_missing_signature_is_403(client, push_tenants, change):
    query = {**signed_query(TOKEN_A), "echostr": "4913385117396483207", **change}
    response = client.get(push_path(APPID_A, query))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert b"4913385117396483207" not in response.content


def test_get_without_any_parameter_is_403(client, push_tenants):
    assert client.get(f"/api/v2/wechat/push/{APPID_A}").status_code == 403


def test_get_signed_with_another_mini_programs_token_is_403(client, push_tenants):
    query = {**signed_query(TOKEN_B), "echostr": "x"}
    assert client.get(push_path(APPID_A, query)).status_code == 403


@pytest.mark.parametrize("appid", ["wx00000000000000ff", "not-an-appid", APPID_A.upper()])
def test_unknown_appids_in_the_path_are_404(client, push_tenants, appid):
    get = client.get(push_path(appid, {**signed_query(TOKEN_A), "echostr": "x"}))
    assert_refused(get, 404, "miniprogram_unknown")
    post = post_plain(client, text_message_xml(1), appid=appid)
    assert_refused(post, 404, "miniprogram_unknown")


def test_a_disabled_mini_program_is_404(client, push_tenants):
    miniprogram_set_enabled(appid=APPID_B, enabled=False)
    response = post_plain(client, text_message_xml(1), appid=APPID_B, token=TOKEN_B)
    assert_refused(response, 404, "miniprogram_unknown")


def test_a_mini_program_without_a_push_token_is_403(client, push_tenants):
    # Its signature would be computable by anyone: sha1 over an empty token.
    query = {**signed_query(""), "echostr": "x"}
    assert client.get(push_path(APPID_C, query)).status_code == 403
    assert_refused(
        post_plain(client, text_message_xml(1), appid=APPID_C, token=""), 403, "forbidden"
    )


# --- POST: plain mode ------------------------------------------------------------------------


def test_a_plain_xml_message_is_stored_with_its_fields(client, push_tenants):
    assert_success(post_plain(client, text_message_xml(6000000001)))
    event = PushEvent.objects.get()
    assert (event.mini_program_id, event.msg_type, event.event) == (push_tenants.a.id, "text", "")
    assert event.payload["Content"] == "你好 🎵"
    assert event.payload["MsgId"] == "6000000001"
    assert event.handled_at is None


def test_a_plain_json_event_is_stored(client, push_tenants):
    response = post_plain(client, popup_event_json(1700000000), content_type="application/json")
    assert_success(response)
    event = PushEvent.objects.get()
    assert (event.msg_type, event.event) == ("event", "subscribe_msg_popup_event")
    assert event.payload["List"][0]["TemplateId"] == ACCEPTED[0]


def test_the_format_is_told_by_the_body_not_the_content_type(client, push_tenants):
    assert_success(post_plain(client, text_message_xml(1), content_type="application/json"))
    assert_success(post_plain(client, popup_event_json(1), content_type="text/plain"))
    assert PushEvent.objects.count() == 2


def test_wechats_post_needs_no_csrf_token(push_tenants):
    csrf_checking = Client(enforce_csrf_checks=True)
    assert_success(post_plain(csrf_checking, text_message_xml(7)))


@pytest.mark.parametrize(
    "change",
    [{"signature": "0" * 40}, {"signature": ""}, {"nonce": "other"}],
)
def test_a_plain_post_with_a_bad_signature_is_403(client, push_tenants, change):
    assert_refused(post_plain(client, text_message_xml(1), tamper=change), 403, "forbidden")


def test_a_plain_post_signed_for_another_mini_program_is_403(client, push_tenants):
    response = post_plain(client, text_message_xml(1), appid=APPID_A, token=TOKEN_B)
    assert_refused(response, 403, "forbidden")


@pytest.mark.parametrize("offset", [-330, -3600, 330, 86400])
def test_timestamps_outside_five_minutes_are_403(client, push_tenants, offset):
    timestamp = int(time.time()) + offset
    response = post_plain(client, text_message_xml(1), timestamp=timestamp)
    assert_refused(response, 403, "forbidden")


@pytest.mark.parametrize("offset", [-270, 270])
def test_timestamps_within_five_minutes_are_accepted(client, push_tenants, offset):
    timestamp = int(time.time()) + offset
    assert_success(post_plain(client, text_message_xml(1), timestamp=timestamp))


@pytest.mark.parametrize("timestamp", ["", "soon", "1.7e9", "-1", "١٧٠٠٠٠٠٠٠٠"])
def test_timestamps_that_are_not_unix_seconds_are_403(client, push_tenants, timestamp):
    response = post_plain(client, text_message_xml(1), timestamp=timestamp)
    assert_refused(response, 403, "forbidden")


@pytest.mark.parametrize(
    "body",
    [
        "success",
        "",
        "   ",
        "<xml><MsgType>text</MsgType>",
        "<notxml><MsgType>text</MsgType><MsgId>1</MsgId></notxml>",
        "<xml>just text</xml>",
        '{"MsgType": "text", "MsgId": 1',
        '["MsgType", "text"]',
        '{"MsgType": "text"}',
        '{"MsgId": 5}',
        '{"MsgType": {"nested": "text"}, "MsgId": 5}',
        '{"MsgType": "' + "t" * 33 + '", "MsgId": 5}',
        json.dumps({"MsgType": "text", "MsgId": 5, "deep": json.loads("[" * 40 + "]" * 40)}),
    ],
)
def test_bodies_that_are_not_a_push_are_400(client, push_tenants, body):
    assert_refused(post_plain(client, body), 400, "bad_request")


def test_xml_entities_and_dtds_are_refused_not_expanded(client, push_tenants):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        "<xml><MsgType>text</MsgType><MsgId>1</MsgId><Content>&c;</Content></xml>"
    )
    assert_refused(post_plain(client, bomb), 400, "bad_request")
    external = (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<xml><MsgType>text</MsgType><MsgId>1</MsgId><Content>&x;</Content></xml>"
    )
    assert_refused(post_plain(client, external), 400, "bad_request")


def test_a_body_that_is_not_utf8_is_400(client, push_tenants):
    body = text_message_xml(1).encode("utf-16")
    assert_refused(post_plain(client, body), 400, "bad_request")


def test_an_unknown_encrypt_type_is_400(client, push_tenants):
    response = post_plain(client, text_message_xml(1), tamper={"encrypt_type": "des"})
    assert_refused(response, 400, "bad_request")


def test_an_oversized_body_is_413(client, push_tenants):
    body = text_message_xml(1, content="x" * 70_000)
    assert_refused(post_plain(client, body), 413, "payload_too_large")


# --- POST: safe mode -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_safe_mode_message_is_decrypted_and_stored(client, push_tenants, fmt):
    inner = popup_event_xml(1700000000) if fmt == "xml" else popup_event_json(1700000000)
    encrypt = openssl_encrypt(inner, aes_key=AES_KEY_B, appid=APPID_B)
    assert_success(post_safe(client, encrypt, fmt=fmt))
    event = PushEvent.objects.get()
    assert (event.msg_type, event.event) == ("event", "subscribe_msg_popup_event")
    assert event.payload["FromUserName"] == OPENID


def test_a_bad_msg_signature_is_403_before_any_decryption(client, push_tenants):
    garbage = "!!! this is not base64, nor a ciphertext !!!"
    response = post_safe(client, garbage, msg_signature="0" * 40)
    assert_refused(response, 403, "forbidden")
    # The same garbage, correctly signed, does reach decryption and fails there.
    assert_refused(post_safe(client, garbage), 400, "decrypt_failed")


def test_a_msg_signature_over_another_encrypt_is_403(client, push_tenants):
    real = openssl_encrypt(text_message_xml(1), aes_key=AES_KEY_B, appid=APPID_B)
    other = openssl_encrypt(text_message_xml(2), aes_key=AES_KEY_B, appid=APPID_B)
    query = signed_query(TOKEN_B)
    forged = sha1_signature(TOKEN_B, query["timestamp"], query["nonce"], other)
    response = post_safe(
        client, real, timestamp=query["timestamp"], nonce=query["nonce"], msg_signature=forged
    )
    assert_refused(response, 403, "forbidden")


def test_a_stale_safe_mode_message_is_403(client, push_tenants):
    encrypt = openssl_encrypt(text_message_xml(1), aes_key=AES_KEY_B, appid=APPID_B)
    response = post_safe(client, encrypt, timestamp=int(time.time()) - 600)
    assert_refused(response, 403, "forbidden")


def test_truncated_ciphertext_is_400(client, push_tenants):
    encrypt = openssl_encrypt(text_message_xml(1), aes_key=AES_KEY_B, appid=APPID_B)
    ciphertext = base64.b64decode(encrypt)
    for cut in (ciphertext[:-16], ciphertext[:-32], ciphertext[:16]):
        truncated = base64.b64encode(cut).decode()
        assert_refused(post_safe(client, truncated), 400, "decrypt_failed")


def test_a_frame_for_another_appid_is_400(client, push_tenants):
    # Encrypted with B's key and signed with B's token, but made for A.
    encrypt = openssl_encrypt(text_message_xml(1), aes_key=AES_KEY_B, appid=APPID_A)
    assert_refused(post_safe(client, encrypt), 400, "decrypt_failed")


def test_a_message_for_another_mini_program_does_not_decrypt_here(client, push_tenants):
    # A's message, signed with A's token, sent to B's URL: refused before decryption.
    encrypt = openssl_encrypt(text_message_xml(1), aes_key=AES_KEY_A, appid=APPID_A)
    assert_refused(post_safe(client, encrypt, token=TOKEN_A), 403, "forbidden")
    # Even signed with B's token, A's key does not decrypt it as B's.
    assert_refused(post_safe(client, encrypt), 400, "decrypt_failed")


def test_an_envelope_without_encrypt_is_400(client, push_tenants):
    query = {**signed_query(TOKEN_B), "encrypt_type": "aes", "msg_signature": "0" * 40}
    body = "<xml><ToUserName>gh_0123456789ab</ToUserName></xml>"
    response = client.post(push_path(APPID_B, query), data=body, content_type="text/xml")
    assert_refused(response, 400, "bad_request")


def test_safe_mode_without_an_aes_key_is_403(client, push_tenants):
    program_c = MiniProgram.objects.get(appid=APPID_C)
    miniprogram_update(program=program_c, push_token="push-token-of-c")
    encrypt = openssl_encrypt(text_message_xml(1), aes_key=AES_KEY_A, appid=APPID_C)
    response = post_safe(client, encrypt, appid=APPID_C, token="push-token-of-c")
    assert_refused(response, 403, "forbidden")
    # Plain mode works for it.
    assert_success(post_plain(client, text_message_xml(1), appid=APPID_C, token="push-token-of-c"))


# --- push modes: only the configured one is accepted ------------------------------------------


def test_a_correctly_signed_plain_post_to_a_safe_mode_mini_program_is_403(
    client, push_tenants, wechat
):
    # The forgery: a plain signature does not cover the body, so whoever saw one
    # push URL could otherwise post any event, e.g. grants for any openid.
    user_id = log_in(client, wechat, APPID_B, OPENID)["user"]["id"]
    response = post_plain(client, popup_event_xml(1700000000), appid=APPID_B, token=TOKEN_B)
    assert_refused(response, 403, "forbidden")
    assert "safe mode" in response.json()["error"]["message"]
    assert grants_of(user_id) == {}


def test_an_encrypted_post_to_a_plain_mode_mini_program_is_403(client, push_tenants):
    encrypt = openssl_encrypt(text_message_xml(1), aes_key=AES_KEY_A, appid=APPID_A)
    assert_refused(post_safe(client, encrypt, appid=APPID_A, token=TOKEN_A), 403, "forbidden")


def test_compatible_mode_reads_only_the_encrypted_part(client, push_tenants):
    miniprogram_update(program=push_tenants.b, push_mode=PushMode.COMPATIBLE)
    encrypt = openssl_encrypt(popup_event_xml(1700000000), aes_key=AES_KEY_B, appid=APPID_B)
    forged_clear_fields = (
        "<FromUserName><![CDATA[o-forged]]></FromUserName><MsgType>text</MsgType><MsgId>1</MsgId>"
    )
    assert_success(post_safe(client, encrypt, body_extra=forged_clear_fields))
    event = PushEvent.objects.get()
    assert (event.msg_type, event.event) == ("event", "subscribe_msg_popup_event")
    assert event.payload["FromUserName"] == OPENID
    assert "MsgId" not in event.payload


def test_compatible_mode_refuses_a_plain_post(client, push_tenants):
    miniprogram_update(program=push_tenants.b, push_mode=PushMode.COMPATIBLE)
    response = post_plain(client, text_message_xml(1), appid=APPID_B, token=TOKEN_B)
    assert_refused(response, 403, "forbidden")


def test_a_new_mini_program_with_an_aes_key_defaults_to_safe_mode(push_tenants):
    with_key = miniprogram_create(appid="wxd0000000000000d4", secret="s", aes_key=AES_KEY_A)
    without = miniprogram_create(appid="wxe0000000000000e5", secret="s")
    assert (with_key.push_mode, without.push_mode) == (PushMode.SAFE, PushMode.PLAIN)


@pytest.mark.parametrize("mode", [PushMode.SAFE, PushMode.COMPATIBLE])
def test_an_encrypted_push_mode_needs_the_aes_key(push_tenants, mode):
    program_c = MiniProgram.objects.get(appid=APPID_C)
    with pytest.raises(ApiError, match="EncodingAESKey"):
        miniprogram_update(program=program_c, push_mode=mode)


# --- each signed (timestamp, nonce) once ---------------------------------------------------------


def test_a_plain_signature_is_accepted_once_even_for_another_body(client, push_tenants):
    signed = {"timestamp": int(time.time()), "nonce": "seen-in-an-access-log"}
    assert_success(post_plain(client, text_message_xml(6000000010), **signed))
    replay = post_plain(client, popup_event_xml(1700000000), **signed)
    assert replay.status_code == 403
    assert replay.json()["error"]["code"] == "forbidden"
    assert PushEvent.objects.count() == 1


def test_a_safe_mode_signature_is_accepted_once(client, push_tenants):
    encrypt = openssl_encrypt(text_message_xml(6000000011), aes_key=AES_KEY_B, appid=APPID_B)
    signed = {"timestamp": int(time.time()), "nonce": "once"}
    assert_success(post_safe(client, encrypt, **signed))
    assert post_safe(client, encrypt, **signed).status_code == 403
    assert PushEvent.objects.count() == 1


def test_a_refused_push_does_not_spend_its_nonce(client, push_tenants):
    signed = {"timestamp": int(time.time()), "nonce": "retried-by-wechat"}
    assert_refused(post_plain(client, "not a push", **signed), 400, "bad_request")
    assert_success(post_plain(client, text_message_xml(6000000012), **signed))


def test_the_same_nonce_in_two_mini_programs_is_two_pushes(client, push_tenants):
    signed = {"timestamp": int(time.time()), "nonce": "shared"}
    assert_success(post_plain(client, text_message_xml(6000000013), **signed))
    program_c = MiniProgram.objects.get(appid=APPID_C)
    miniprogram_update(program=program_c, push_token="push-token-of-c")
    body = text_message_xml(6000000013)
    assert_success(post_plain(client, body, appid=APPID_C, token="push-token-of-c", **signed))


# --- repeats ---------------------------------------------------------------------------------


def test_a_replayed_msg_id_is_answered_success_and_stored_once(client, push_tenants):
    body = text_message_xml(6000000002)
    assert_success(post_plain(client, body))
    assert_success(post_plain(client, body, nonce="another-nonce"))
    assert PushEvent.objects.count() == 1


def test_a_replayed_event_is_stored_once_by_sender_and_create_time(client, push_tenants):
    encrypt = openssl_encrypt(popup_event_xml(1700000000), aes_key=AES_KEY_B, appid=APPID_B)
    assert_success(post_safe(client, encrypt))
    # WeChat's retry of the same event is encrypted afresh (another random prefix and nonce).
    again = openssl_encrypt(popup_event_xml(1700000000), aes_key=AES_KEY_B, appid=APPID_B)
    assert_success(post_safe(client, again, nonce="retry-nonce"))
    assert PushEvent.objects.count() == 1
    # Another second, or another user, is another event.
    assert_success(post_plain(client, popup_event_xml(1700000001)))
    assert_success(post_plain(client, popup_event_xml(1700000000, openid="o-other"), nonce="n2"))
    assert PushEvent.objects.count() == 3


def test_the_database_still_dedupes_once_the_redis_mark_is_gone(client, push_tenants, redis_db):
    body = text_message_xml(6000000003)
    assert_success(post_plain(client, body))
    for key in redis_db.scan_iter("wechat:push-seen:*"):
        redis_db.delete(key)
    assert_success(post_plain(client, body))
    assert PushEvent.objects.count() == 1


def test_the_same_msg_id_in_two_mini_programs_is_two_messages(client, push_tenants):
    assert_success(post_plain(client, text_message_xml(6000000004)))
    encrypt = openssl_encrypt(text_message_xml(6000000004), aes_key=AES_KEY_B, appid=APPID_B)
    assert_success(post_safe(client, encrypt))
    assert PushEvent.objects.filter(mini_program=push_tenants.a).count() == 1
    assert PushEvent.objects.filter(mini_program=push_tenants.b).count() == 1


# --- handling, by a real worker ----------------------------------------------------------------


def grants_of(user_id: int) -> dict[str, int]:
    rows = SubscriptionGrant.objects.filter(user_id=user_id)
    return dict(rows.values_list("template_id", "remaining"))


@pytest.mark.django_db(transaction=True)
def test_a_safe_mode_popup_event_records_the_accepted_grants(
    client, push_tenants, wechat, worker_burst, rq_queues
):
    user_id = log_in(client, wechat, APPID_B, OPENID)["user"]["id"]
    encrypt = openssl_encrypt(popup_event_xml(1700000000), aes_key=AES_KEY_B, appid=APPID_B)
    assert_success(post_safe(client, encrypt))
    assert rq_queues["default"].count == 1
    worker_burst()
    event = PushEvent.objects.get()
    assert event.handled_at is not None
    assert grants_of(user_id) == {ACCEPTED[0]: 1, ACCEPTED[1]: 1}


@pytest.mark.django_db(transaction=True)
def test_a_replayed_event_is_handled_once(client, push_tenants, wechat, worker_burst, rq_queues):
    user_id = log_in(client, wechat, APPID_A, OPENID)["user"]["id"]
    for _ in range(3):
        assert_success(post_plain(client, popup_event_json(1700000000), content_type="text/plain"))
    assert rq_queues["default"].count == 1
    worker_burst()
    assert grants_of(user_id) == {ACCEPTED[0]: 1}
    # A later retry of the same event changes nothing either.
    assert_success(post_plain(client, popup_event_json(1700000000)))
    worker_burst()
    assert grants_of(user_id) == {ACCEPTED[0]: 1}
    assert PushEvent.objects.get().handled_at is not None


@pytest.mark.django_db(transaction=True)
def test_unknown_events_and_messages_are_stored_and_marked_handled(
    client, push_tenants, worker_burst
):
    unknown_event = json.dumps(
        {"FromUserName": OPENID, "CreateTime": 1, "MsgType": "event", "Event": "brand_new_event"}
    )
    assert_success(post_plain(client, unknown_event))
    assert_success(post_plain(client, text_message_xml(6000000005)))
    worker_burst()
    events = PushEvent.objects.all()
    assert {(e.msg_type, e.event) for e in events} == {("event", "brand_new_event"), ("text", "")}
    assert all(e.handled_at is not None for e in events)


@pytest.mark.django_db(transaction=True)
def test_a_popup_event_of_a_user_who_never_logged_in_records_nothing(
    client, push_tenants, worker_burst
):
    assert_success(post_plain(client, popup_event_xml(1700000000, openid="o-stranger")))
    worker_burst()
    assert PushEvent.objects.get().handled_at is not None
    assert SubscriptionGrant.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_grants_go_to_the_user_of_the_pushing_mini_program_only(
    client, push_tenants, wechat, worker_burst
):
    user_a = log_in(client, wechat, APPID_A, OPENID)["user"]["id"]
    user_b = log_in(client, wechat, APPID_B, OPENID)["user"]["id"]
    encrypt = openssl_encrypt(popup_event_xml(1700000000), aes_key=AES_KEY_B, appid=APPID_B)
    assert_success(post_safe(client, encrypt))
    worker_burst()
    assert grants_of(user_b) == {ACCEPTED[0]: 1, ACCEPTED[1]: 1}
    assert grants_of(user_a) == {}


def test_handling_twice_runs_the_handler_once(client, push_tenants, wechat):
    user_id = log_in(client, wechat, APPID_A, OPENID)["user"]["id"]
    assert_success(post_plain(client, popup_event_xml(1700000000)))
    event = PushEvent.objects.get()
    assert push_event_handle(event_id=event.id) is True
    assert push_event_handle(event_id=event.id) is False
    assert grants_of(user_id) == {ACCEPTED[0]: 1, ACCEPTED[1]: 1}


@pytest.mark.django_db(transaction=True)
def test_events_whose_job_was_lost_are_requeued_and_handled(
    client, push_tenants, worker_burst, rq_queues
):
    from minihub.wechat.jobs import push_events_requeue_job

    assert_success(post_plain(client, text_message_xml(6000000006)))
    rq_queues["default"].empty()  # the job is lost
    assert push_events_requeue_job() == 0  # too recent: its job may still be on its way
    PushEvent.objects.update(received_at=timezone.now() - timedelta(minutes=11))
    assert push_events_requeue_job() == 1
    worker_burst()
    assert PushEvent.objects.get().handled_at is not None
    assert push_events_requeue_job() == 0


def test_handled_events_are_pruned_after_30_days(client, push_tenants):
    for msg_id in (1, 2, 3):
        assert_success(post_plain(client, text_message_xml(msg_id)))
    old, recent, unhandled = PushEvent.objects.order_by("id")
    PushEvent.objects.filter(id=old.id).update(handled_at=timezone.now() - timedelta(days=31))
    PushEvent.objects.filter(id=recent.id).update(handled_at=timezone.now())
    assert push_events_prune() == 1
    assert set(PushEvent.objects.values_list("id", flat=True)) == {recent.id, unhandled.id}


# --- documentation and the admin ----------------------------------------------------------------


def test_openapi_documents_both_methods_with_their_answers(client):
    operations = client.get("/api/v2/openapi.json").json()["paths"]["/api/v2/wechat/push/{appid}"]
    assert {"200", "403", "404"} <= set(operations["get"]["responses"])
    assert {"200", "400", "403", "404", "413"} <= set(operations["post"]["responses"])
    assert "text/plain" in operations["post"]["responses"]["200"]["content"]


@pytest.mark.django_db(databases=["default", "admin"])
def test_the_admin_shows_pushed_events_read_only(client, push_tenants):
    assert_success(post_plain(client, text_message_xml(6000000007)))
    event = PushEvent.objects.get()
    staff = StaffUser.objects.create_superuser("root", "r@example.com", "pw-0123456789")
    client.force_login(staff)
    listing = client.get("/admin/wechat/pushevent/")
    assert listing.status_code == 200
    assert APPID_A in listing.content.decode()
    detail = client.get(f"/admin/wechat/pushevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert "6000000007" in detail.content.decode()
    assert client.get("/admin/wechat/pushevent/add/").status_code == 403
