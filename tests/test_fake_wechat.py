"""The fake WeChat server, over real HTTP."""

import base64
import re
import signal
import socket
import threading
import time

import pytest
import requests

from tests.fixtures.fake_wechat import FakeWeChat, fake_wechat_process, running_fake_wechat
from tools.fake_wechat.server import FakeWeChatServer, State, _raise_stop, _Stop

APPID = "wx0123456789abcdef"
SECRET = "secret-of-app-one"
OTHER_APPID = "wxfedcba9876543210"
OTHER_SECRET = "secret-of-app-two"
RID = re.compile(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")
TIMEOUT = 5


@pytest.fixture
def wx(fake_wechat: FakeWeChat) -> FakeWeChat:
    fake_wechat.register_app(APPID, SECRET)
    fake_wechat.register_app(OTHER_APPID, OTHER_SECRET)
    return fake_wechat


def assert_error(answer: dict, errcode: int) -> None:
    assert answer["errcode"] == errcode, answer
    assert RID.search(answer["errmsg"]), answer


def login(fake: FakeWeChat, code: str, appid: str = APPID, secret: str = SECRET) -> dict:
    params = {
        "appid": appid,
        "secret": secret,
        "js_code": code,
        "grant_type": "authorization_code",
    }
    response = requests.get(f"{fake.base_url}/sns/jscode2session", params=params, timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


def basic_token(fake: FakeWeChat, appid: str = APPID, secret: str = SECRET) -> dict:
    params = {"grant_type": "client_credential", "appid": appid, "secret": secret}
    return requests.get(f"{fake.base_url}/cgi-bin/token", params=params, timeout=TIMEOUT).json()


def stable_token(
    fake: FakeWeChat, force_refresh: bool = False, appid: str = APPID, secret: str = SECRET
) -> dict:
    body = {
        "grant_type": "client_credential",
        "appid": appid,
        "secret": secret,
        "force_refresh": force_refresh,
    }
    return requests.post(f"{fake.base_url}/cgi-bin/stable_token", json=body, timeout=TIMEOUT).json()


def token_call(fake: FakeWeChat, path: str, token: str | None, body: dict) -> requests.Response:
    params = {"access_token": token} if token is not None else None
    response = requests.post(f"{fake.base_url}{path}", params=params, json=body, timeout=TIMEOUT)
    assert response.status_code == 200
    return response


def check_text(fake: FakeWeChat, token: str, content: str, **overrides) -> dict:
    body = {"version": 2, "openid": "o-user", "scene": 2, "content": content, **overrides}
    return token_call(fake, "/wxa/msg_sec_check", token, body).json()


def qrcode(fake: FakeWeChat, token: str, **body) -> requests.Response:
    return token_call(fake, "/wxa/getwxacodeunlimit", token, body)


@pytest.fixture
def token(wx: FakeWeChat) -> str:
    return stable_token(wx)["access_token"]


# --- code2Session ---------------------------------------------------------


def test_login_without_unionid(wx):
    code = wx.login_code(APPID, "o-alice")
    answer = login(wx, code)
    assert answer["openid"] == "o-alice"
    assert "unionid" not in answer
    assert len(base64.b64decode(answer["session_key"], validate=True)) == 16
    assert len(answer["session_key"]) == 24


def test_login_with_unionid_and_session_key(wx):
    code = wx.login_code(APPID, "o-bob", unionid="u-bob", session_key="a2V5LWZvci10ZXN0czAwMA==")
    assert login(wx, code) == {
        "openid": "o-bob",
        "unionid": "u-bob",
        "session_key": "a2V5LWZvci10ZXN0czAwMA==",
    }


def test_each_code_gets_its_own_session_key(wx):
    first = login(wx, wx.login_code(APPID, "o-alice"))["session_key"]
    second = login(wx, wx.login_code(APPID, "o-alice"))["session_key"]
    assert first != second


def test_code_is_single_use(wx):
    code = wx.login_code(APPID, "o-alice")
    assert login(wx, code)["openid"] == "o-alice"
    assert_error(login(wx, code), 40163)


def test_unknown_code(wx):
    assert_error(login(wx, "not-a-code"), 40029)


def test_code_expires_after_five_minutes(wx):
    assert login(wx, wx.login_code(APPID, "o-alice", age_seconds=290))["openid"] == "o-alice"
    assert_error(login(wx, wx.login_code(APPID, "o-alice", age_seconds=301)), 40029)


def test_code_belongs_to_its_appid(wx):
    code = wx.login_code(APPID, "o-alice")
    assert_error(login(wx, code, appid=OTHER_APPID, secret=OTHER_SECRET), 40029)
    assert login(wx, code)["openid"] == "o-alice"  # the failed try did not spend it


def test_blocked_user(wx):
    assert_error(login(wx, wx.login_code(APPID, "o-risky", blocked=True)), 40226)


@pytest.mark.parametrize("call", [login, basic_token, stable_token])
def test_unknown_appid(wx, call):
    args = ("some-code",) if call is login else ()
    assert_error(call(wx, *args, appid="wx9999999999999999", secret=SECRET), 40013)


@pytest.mark.parametrize("call", [login, basic_token, stable_token])
def test_wrong_secret(wx, call):
    args = ("some-code",) if call is login else ()
    assert_error(call(wx, *args, secret="wrong"), 40125)


def test_every_error_carries_a_fresh_rid(wx, token):
    answers = [
        login(wx, "nope"),
        basic_token(wx, appid="wx-unknown"),
        stable_token(wx, secret="bad"),
        token_call(wx, "/wxa/msg_sec_check", None, {}).json(),
        token_call(wx, "/wxa/msg_sec_check", "bogus", {}).json(),
        check_text(wx, token, "x", scene=9),
        qrcode(wx, token, scene="").json(),
        requests.get(f"{wx.base_url}/no/such/path", timeout=TIMEOUT).json(),
    ]
    rids = set()
    for answer in answers:
        assert answer["errcode"] != 0
        match = RID.search(answer["errmsg"])
        assert match, answer
        rids.add(match.group())
    assert len(rids) == len(answers)


# --- access tokens ---------------------------------------------------------


def test_stable_token_is_the_same_until_expiry(wx):
    first, second = stable_token(wx), stable_token(wx)
    assert first["access_token"] == second["access_token"]
    assert 7190 <= second["expires_in"] <= 7200
    wx.advance_clock(3600)
    third = stable_token(wx)
    assert third["access_token"] == first["access_token"]
    assert 3590 <= third["expires_in"] <= 3600


def test_stable_token_renewed_in_last_five_minutes_keeps_old_one_alive(wx):
    old = stable_token(wx)["access_token"]
    wx.advance_clock(7200 - 200)
    new = stable_token(wx)
    assert new["access_token"] != old
    assert new["expires_in"] == 7200
    assert check_text(wx, old, "hello")["errcode"] == 0
    wx.advance_clock(201)
    assert_error(check_text(wx, old, "hello"), 42001)
    assert check_text(wx, new["access_token"], "hello")["errcode"] == 0


def test_stable_tokens_are_per_app(wx):
    assert (
        stable_token(wx)["access_token"]
        != stable_token(wx, appid=OTHER_APPID, secret=OTHER_SECRET)["access_token"]
    )


def test_force_refresh_invalidates_old_token_at_once(wx, token):
    new = stable_token(wx, force_refresh=True)["access_token"]
    assert new != token
    assert_error(check_text(wx, token, "hello"), 40001)
    assert check_text(wx, new, "hello")["errcode"] == 0
    assert stable_token(wx)["access_token"] == new


def test_force_refresh_spacing_and_daily_budget(wx):
    stable_token(wx, force_refresh=True)
    wx.advance_clock(10)
    assert_error(stable_token(wx, force_refresh=True), 45011)
    wx.advance_clock(21)
    assert "access_token" in stable_token(wx, force_refresh=True)
    for _ in range(18):
        wx.advance_clock(31)
        assert "access_token" in stable_token(wx, force_refresh=True)
    wx.advance_clock(31)
    assert_error(stable_token(wx, force_refresh=True), 45009)
    assert "access_token" in stable_token(wx)  # normal mode is not rationed
    wx.advance_clock(86400)
    assert "access_token" in stable_token(wx, force_refresh=True)


def test_basic_token_rotates_with_five_minute_overlap(wx):
    first = basic_token(wx)
    assert first["expires_in"] == 7200
    second = basic_token(wx)["access_token"]
    assert second != first["access_token"]
    assert check_text(wx, first["access_token"], "hello")["errcode"] == 0
    wx.advance_clock(301)
    assert_error(check_text(wx, first["access_token"], "hello"), 40001)
    assert check_text(wx, second, "hello")["errcode"] == 0


def test_basic_and_stable_tokens_do_not_invalidate_each_other(wx, token):
    basic_token(wx)
    basic_token(wx)
    wx.advance_clock(301)
    assert check_text(wx, token, "hello")["errcode"] == 0


def test_token_expires(wx, token):
    wx.advance_clock(7201)
    assert_error(check_text(wx, token, "hello"), 42001)


TOKEN_PATHS = [
    "/wxa/business/getuserphonenumber",
    "/cgi-bin/message/subscribe/send",
    "/wxa/msg_sec_check",
    "/wxa/getwxacodeunlimit",
]


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_token_paths_check_the_token(wx, path):
    assert_error(token_call(wx, path, None, {}).json(), 41001)
    assert_error(token_call(wx, path, "", {}).json(), 41001)
    assert_error(token_call(wx, path, "made-up", {}).json(), 40001)


# --- phone numbers ---------------------------------------------------------


def phone(fake: FakeWeChat, token: str, code: str) -> dict:
    return token_call(fake, "/wxa/business/getuserphonenumber", token, {"code": code}).json()


@pytest.mark.parametrize("given", ["13800138000", "+8613800138000"])
def test_phone_number(wx, token, given):
    before = int(time.time())
    answer = phone(wx, token, wx.phone_code(APPID, given))
    assert answer["errcode"] == 0
    info = answer["phone_info"]
    assert info["phoneNumber"] == "+8613800138000"
    assert info["purePhoneNumber"] == "13800138000"
    assert info["countryCode"] == "86"
    assert info["watermark"]["appid"] == APPID
    assert before <= info["watermark"]["timestamp"] <= int(time.time())


def test_foreign_phone_number(wx, token):
    info = phone(wx, token, wx.phone_code(APPID, "+1 2025550123"))["phone_info"]
    assert (info["countryCode"], info["purePhoneNumber"]) == ("1", "2025550123")


def test_phone_code_errors(wx, token):
    code = wx.phone_code(APPID, "13800138000")
    assert_error(phone(wx, token, "made-up"), 40029)
    other_token = stable_token(wx, appid=OTHER_APPID, secret=OTHER_SECRET)["access_token"]
    assert_error(phone(wx, other_token, code), 40029)
    assert phone(wx, token, code)["errcode"] == 0
    assert_error(phone(wx, token, code), 40163)
    assert_error(phone(wx, token, wx.phone_code(APPID, "13800138000", age_seconds=301)), 40029)


# --- subscribe messages ------------------------------------------------------


def send(fake: FakeWeChat, token: str, **body) -> dict:
    return token_call(fake, "/cgi-bin/message/subscribe/send", token, body).json()


def test_subscribe_send_is_recorded(wx, token):
    data = {"thing1": {"value": "新专辑上线 🎵"}}
    answer = send(wx, token, touser="o-alice", template_id="tpl-1", page="pages/a", data=data)
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    assert isinstance(answer["msgid"], int)
    other_token = stable_token(wx, appid=OTHER_APPID, secret=OTHER_SECRET)["access_token"]
    other = send(wx, other_token, touser="o-bob", template_id="tpl-2", data=data)

    [message] = wx.messages(APPID)
    assert message["appid"] == APPID
    assert message["touser"] == "o-alice"
    assert message["template_id"] == "tpl-1"
    assert message["page"] == "pages/a"
    assert message["data"] == data
    assert message["msgid"] == answer["msgid"]
    assert abs(message["time"] - time.time()) < 5
    assert [m["msgid"] for m in wx.messages()] == [answer["msgid"], other["msgid"]]


@pytest.mark.parametrize(
    "body",
    [
        {"template_id": "t", "data": {"k": {"value": "v"}}},
        {"touser": "o", "data": {"k": {"value": "v"}}},
        {"touser": "o", "template_id": "t"},
        {"touser": "o", "template_id": "t", "data": {"k": {"value": "v"}}, "lang": "xx"},
    ],
)
def test_subscribe_send_argument_errors(wx, token, body):
    assert_error(send(wx, token, **body), 47003)
    assert wx.messages() == []


# --- msgSecCheck -------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "suggest", "label"),
    [
        ("今天天气很好", "pass", 100),
        ("please look: review-word", "review", 100),
        ("this has a risky-word in it", "risky", 20001),
        ("这是违规内容", "risky", 20001),
    ],
)
def test_msg_sec_check(wx, token, content, suggest, label):
    answer = check_text(wx, token, content)
    assert answer["errcode"] == 0
    assert answer["result"] == {"suggest": suggest, "label": label}
    assert answer["detail"] and answer["trace_id"]


def test_msg_sec_check_limits(wx, token):
    assert check_text(wx, token, "字" * 2500)["errcode"] == 0
    assert_error(check_text(wx, token, "字" * 2501), 47003)
    assert_error(check_text(wx, token, "hi", scene=5), 47003)
    assert_error(check_text(wx, token, "hi", version=1), 47003)
    assert_error(check_text(wx, token, "hi", openid=""), 40003)


# --- getUnlimited ------------------------------------------------------------


def test_qrcode_is_a_deterministic_jpeg(wx, token):
    first = qrcode(wx, token, scene="album=42", page="pages/album/album", width=430)
    assert first.headers["Content-Type"] == "image/jpeg"
    assert first.content[:2] == b"\xff\xd8" and first.content[-2:] == b"\xff\xd9"
    assert b"album=42" in first.content and APPID.encode() in first.content
    again = qrcode(wx, token, scene="album=42", page="pages/album/album", width=430)
    assert again.content == first.content
    assert qrcode(wx, token, scene="album=43", page="pages/album/album").content != first.content
    assert qrcode(wx, token, scene="album=42", page="pages/other").content != first.content
    wider = qrcode(wx, token, scene="album=42", page="pages/album/album", width=600)
    assert wider.content != first.content


def test_qrcode_accepts_every_allowed_scene_character(wx, token):
    scene = "aZ09!#$&'()*+,/:;=?@-._~"
    assert qrcode(wx, token, scene=scene).headers["Content-Type"] == "image/jpeg"
    assert qrcode(wx, token, scene="x" * 32).headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("scene", ["", "x" * 33, "a b", "中文", "a%b", 42])
def test_qrcode_scene_errors(wx, token, scene):
    response = qrcode(wx, token, scene=scene)
    assert response.headers["Content-Type"].startswith("application/json")
    assert_error(response.json(), 40169)


def test_qrcode_page_with_leading_slash(wx, token):
    assert_error(qrcode(wx, token, scene="a=1", page="/pages/index/index").json(), 41030)


# --- faults, stats, reset ----------------------------------------------------


def test_errcode_fault_for_n_calls_then_normal(wx):
    wx.fault("/cgi-bin/stable_token", -1, times=2)
    assert_error(stable_token(wx), -1)
    assert_error(stable_token(wx), -1)
    assert "access_token" in stable_token(wx)


def test_fault_applies_before_any_check(wx):
    wx.fault("/sns/jscode2session", 45011)
    code = wx.login_code(APPID, "o-alice")
    assert_error(login(wx, code), 45011)
    assert login(wx, code)["openid"] == "o-alice"  # the faulted call did not spend the code


def test_timeout_fault_holds_the_connection(wx):
    wx.fault("/cgi-bin/token", "timeout", delay=1)
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{wx.base_url}/cgi-bin/token", params=params, timeout=0.3)
    assert time.monotonic() - started < 1
    assert "access_token" in basic_token(wx)  # other calls are served meanwhile


def test_timeout_fault_hangs_up_after_the_delay(wx):
    wx.fault("/cgi-bin/token", "timeout", delay=0.5)
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{wx.base_url}/cgi-bin/token", params=params, timeout=3)


def test_stats_count_every_call_of_each_path(wx, token):
    basic_token(wx)
    wx.fault("/cgi-bin/token", 40164)
    basic_token(wx)
    login(wx, "bad-code")
    wx.messages()  # control calls are not counted
    stats = wx.stats()
    assert stats["/cgi-bin/stable_token"] == 1
    assert stats["/cgi-bin/token"] == 2
    assert stats["/sns/jscode2session"] == 1
    assert stats["/wxa/msg_sec_check"] == 0
    assert set(stats) == {
        "/sns/jscode2session",
        "/cgi-bin/token",
        "/cgi-bin/stable_token",
        *TOKEN_PATHS,
    }


def test_reset_forgets_everything(wx, token):
    code = wx.login_code(APPID, "o-alice")
    send(wx, token, touser="o", template_id="t", data={"k": {"value": "v"}})
    wx.fault("/wxa/msg_sec_check", -1)
    wx.advance_clock(7201)

    wx.reset()

    assert set(wx.stats().values()) == {0}
    assert wx.messages() == []
    assert_error(login(wx, code), 40013)  # the app itself is gone
    wx.register_app(APPID, SECRET)
    assert_error(login(wx, code), 40029)
    assert_error(check_text(wx, token, "hi"), 40001)
    fresh = stable_token(wx)
    assert fresh["expires_in"] == 7200  # the clock is back too
    assert check_text(wx, fresh["access_token"], "hi")["errcode"] == 0  # no fault left


# --- HTTP edges ----------------------------------------------------------------


def test_unknown_path_answers_404_json(fake_wechat):
    response = requests.post(f"{fake_wechat.base_url}/cgi-bin/nope", json={}, timeout=TIMEOUT)
    assert response.status_code == 404
    assert_error(response.json(), 404)
    assert response.json()["errmsg"].startswith("not found rid: ")


def test_wrong_method_and_malformed_body_answer_like_wechat(wx, token):
    response = requests.get(f"{wx.base_url}/wxa/msg_sec_check", timeout=TIMEOUT)
    assert response.status_code == 200
    assert_error(response.json(), 43002)
    response = requests.post(
        f"{wx.base_url}/wxa/msg_sec_check",
        params={"access_token": token},
        data=b"{not json",
        timeout=TIMEOUT,
    )
    assert_error(response.json(), 47001)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/__fake__/apps", {"appid": "wx1"}),
        ("/__fake__/codes", {"appid": "wx1"}),
        ("/__fake__/codes", {"appid": "wx1", "openid": "o", "blocked": "yes"}),
        ("/__fake__/phone-codes", {"appid": "wx1", "phone": "not a phone"}),
        ("/__fake__/faults", {"path": "/nope", "errcode": -1}),
        ("/__fake__/faults", {"path": "/cgi-bin/token", "errcode": "slow"}),
        ("/__fake__/faults", {"path": "/cgi-bin/token", "errcode": -1, "times": 0}),
        ("/__fake__/apps", [1, 2]),
    ],
)
def test_malformed_control_requests_are_400(fake_wechat, path, body):
    response = requests.post(f"{fake_wechat.base_url}{path}", json=body, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["error"]


def test_control_body_must_be_json(fake_wechat):
    response = requests.post(
        f"{fake_wechat.base_url}/__fake__/apps", data=b"appid=wx1", timeout=TIMEOUT
    )
    assert response.status_code == 400


# --- the command line ----------------------------------------------------------


def test_cli_ready_line_token_ttl_and_preregistered_app():
    with fake_wechat_process("--token-ttl", "1", "--app", f"{APPID}:{SECRET}") as (process, url):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert not url.endswith(":0")
        fake = FakeWeChat(url)
        answer = stable_token(fake)
        assert answer["expires_in"] == 1
        time.sleep(1.1)
        assert_error(check_text(fake, answer["access_token"], "hi"), 42001)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0


def test_cli_stops_on_sigint():
    with fake_wechat_process() as (process, url):
        assert requests.get(f"{url}/__fake__/stats", timeout=TIMEOUT).status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0


def test_stop_signal_during_request_handling_leaves_serve_forever():
    """The stop signal can land while the main thread is starting a handler thread,
    inside socketserver's `except Exception`: it must still end serve_forever."""
    server = FakeWeChatServer(("127.0.0.1", 0), State())
    server.process_request = lambda request, address: _raise_stop(signal.SIGINT, None)
    outcome = []

    def serve():
        try:
            server.serve_forever(poll_interval=0.05)
        except _Stop:
            outcome.append("stopped")

    serving = threading.Thread(target=serve, daemon=True)
    serving.start()
    with socket.create_connection(server.server_address[:2], timeout=TIMEOUT):
        serving.join(timeout=5)
    if serving.is_alive():
        server.shutdown()
    server.server_close()
    assert outcome == ["stopped"]


def test_private_server_is_independent(fake_wechat):
    fake_wechat.register_app(APPID, SECRET)
    with running_fake_wechat() as private:
        assert private.base_url != fake_wechat.base_url
        assert_error(basic_token(private), 40013)
    assert "access_token" in basic_token(fake_wechat)
