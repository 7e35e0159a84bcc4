"""GET /qrcode: getUnlimited through the fake WeChat over real HTTP, cached in real Redis."""

import json
import struct

import pytest

from tests.conftest import APPID_A, APPID_B
from tests.helpers import app_headers, log_in

CODE_PATH = "/wxa/getwxacodeunlimit"


@pytest.fixture
def token_a(client, tenants, wechat):
    return log_in(client, wechat, APPID_A, "openid-a")["token"]


def get_code(client, token, appid=APPID_A, **query):
    return client.get("/api/v2/qrcode", query, **app_headers(appid, token))


def wechat_calls(wechat) -> int:
    return wechat.stats()[CODE_PATH]


def encoded_params(jpeg: bytes) -> dict:
    """What the fake's JPEG encodes: the JSON in its comment (COM) segment, right after SOI."""
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    marker, length = struct.unpack(">HH", jpeg[2:6])
    assert marker == 0xFFFE
    return json.loads(jpeg[6 : 4 + length])


def assert_invalid(response, field, wechat):
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert ["query", field] in [f["loc"] for f in error["fields"]]
    assert wechat_calls(wechat) == 0


def test_the_code_is_a_jpeg_of_the_asked_parameters(client, token_a, wechat):
    response = get_code(
        client, token_a, scene="album=42&from=share", page="pages/album/album", width=600
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/jpeg"
    assert encoded_params(response.content) == {
        "appid": APPID_A,
        "scene": "album=42&from=share",
        "page": "pages/album/album",
        "width": 600,
        "env": "release",
    }


def test_defaults_are_the_home_page_release_and_430_pixels(client, token_a, wechat):
    params = encoded_params(get_code(client, token_a, scene="a").content)
    assert (params["page"], params["env"], params["width"]) == ("pages/index/index", "release", 430)


@pytest.mark.parametrize("env_version", ["trial", "develop"])
def test_other_versions_are_passed_on(client, token_a, wechat, env_version):
    response = get_code(client, token_a, scene="a", page="pages/new/new", env_version=env_version)
    assert response.status_code == 200, response.content
    assert encoded_params(response.content)["env"] == env_version


def test_the_same_code_twice_costs_one_wechat_call(client, token_a, wechat):
    first = get_code(client, token_a, scene="id=7", page="pages/a/a")
    second = get_code(client, token_a, scene="id=7", page="pages/a/a")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert wechat_calls(wechat) == 1


@pytest.mark.parametrize(
    "other",
    [
        {"scene": "id=8", "page": "pages/a/a"},
        {"scene": "id=7", "page": "pages/b/b"},
        {"scene": "id=7", "page": "pages/a/a", "width": 280},
        {"scene": "id=7", "page": "pages/a/a", "env_version": "trial"},
    ],
)
def test_other_parameters_are_another_call(client, token_a, wechat, other):
    get_code(client, token_a, scene="id=7", page="pages/a/a")
    response = get_code(client, token_a, **other)
    assert response.status_code == 200, response.content
    assert wechat_calls(wechat) == 2
    assert encoded_params(response.content)["scene"] == other["scene"]


def test_the_cache_is_per_mini_program(client, tenants, wechat, token_a):
    token_b = log_in(client, wechat, APPID_B, "openid-b")["token"]
    a = get_code(client, token_a, scene="same")
    b = get_code(client, token_b, appid=APPID_B, scene="same")
    assert wechat_calls(wechat) == 2
    assert encoded_params(a.content)["appid"] == APPID_A
    assert encoded_params(b.content)["appid"] == APPID_B


@pytest.mark.parametrize(
    "scene",
    [
        "",
        "a" * 33,
        "has space",
        "percent%20",
        'quote"d',
        "中文",
        "tab\t",
        "angle<b>",
    ],
)
def test_bad_scenes_are_422(client, token_a, wechat, scene):
    assert_invalid(get_code(client, token_a, scene=scene), "scene", wechat)


def test_a_scene_of_32_allowed_characters_is_fine(client, token_a, wechat):
    scene = "09AZaz!#$&'()*+,/:;=?@-._~" + "x" * 6
    assert len(scene) == 32
    response = get_code(client, token_a, scene=scene)
    assert response.status_code == 200, response.content
    assert encoded_params(response.content)["scene"] == scene


@pytest.mark.parametrize("page", ["/pages/index/index", "pages index", "pages/a?x=1", "p" * 129])
def test_bad_pages_are_422(client, token_a, wechat, page):
    assert_invalid(get_code(client, token_a, scene="a", page=page), "page", wechat)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"width": "279"}, "width"),
        ({"width": "1281"}, "width"),
        ({"width": "wide"}, "width"),
        ({"width": "430.5"}, "width"),
        ({"env_version": "beta"}, "env_version"),
        ({"env_version": ""}, "env_version"),
    ],
)
def test_bad_width_or_env_version_is_422(client, token_a, wechat, query, field):
    assert_invalid(get_code(client, token_a, scene="a", **query), field, wechat)


def test_a_missing_scene_is_422(client, token_a, wechat):
    assert_invalid(get_code(client, token_a, page="pages/a/a"), "scene", wechat)


@pytest.mark.parametrize(("errcode", "field"), [(41030, "page"), (40169, "scene")])
def test_wechats_refusal_of_the_parameters_is_422(client, token_a, wechat, errcode, field):
    wechat.fault(CODE_PATH, errcode, times=1)
    response = get_code(client, token_a, scene="a", page="pages/gone/gone")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["fields"][0]["loc"] == ["query", field]
    # A refusal is not cached: the next request asks WeChat again.
    assert get_code(client, token_a, scene="a", page="pages/gone/gone").status_code == 200
    assert wechat_calls(wechat) == 2


def test_wechat_busy_after_retries_is_503(client, token_a, wechat):
    wechat.fault(CODE_PATH, -1, times=3)
    response = get_code(client, token_a, scene="a")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_unavailable"
    assert "Retry-After" in response


def test_no_token_is_401(client, tenants, wechat):
    response = client.get("/api/v2/qrcode", {"scene": "a"}, **app_headers(APPID_A))
    assert response.status_code == 401
    assert wechat_calls(wechat) == 0


def test_another_mini_programs_token_is_401(client, tenants, wechat, token_a):
    token_b = log_in(client, wechat, APPID_B, "openid-b")["token"]
    assert get_code(client, token_b, scene="a").status_code == 401
    assert get_code(client, token_a, appid=APPID_B, scene="a").status_code == 401
    assert wechat_calls(wechat) == 0


def test_an_unknown_mini_program_is_404(client, token_a, wechat):
    response = get_code(client, token_a, appid="wx00000000000000ff", scene="a")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "miniprogram_unknown"


def test_codes_are_throttled_per_user(client, token_a, wechat):
    # Fixed one-minute windows: within 41 requests at most one window boundary is crossed.
    statuses = []
    while 429 not in statuses and len(statuses) < 41:
        statuses.append(get_code(client, token_a, scene="a").status_code)
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {200}
    assert len(statuses) >= 21


def test_openapi_documents_the_image_and_the_errors(client):
    operation = client.get("/api/v2/openapi.json").json()["paths"]["/api/v2/qrcode"]["get"]
    assert {"200", "401", "422", "429", "503"} <= set(operation["responses"])
    assert "image/jpeg" in operation["responses"]["200"]["content"]
