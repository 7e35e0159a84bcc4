"""The authorization matrix of /api/v2, generated from the URL configuration.

Every route the API serves is looked up in EXPECTED, keyed by (method, path template); a route
missing from it fails ("new endpoint not in the authorization matrix"). Each route is called
as four callers, with the status each must get:

    anonymous     header of A, no token
    same          header of A, a token of A's user (the owner)
    token_of_b    header of A, a token of B's user (a user of another mini-program)
    header_of_b   header of B, a token of A's user (A's token sent as another mini-program)

For the message push, which is signed instead of authenticated, "token" means the push
token that signs the request and "header" the appid in its URL: A's URL signed by A, by B, or
not at all, and B's URL signed by A.

On top of the statuses: a refused request changes nothing, no answer carries the other
mini-program's data, another mini-program's album is answered exactly like an unknown one,
and no request body can set a user's id, openid, unionid, phone or mini-program.
"""

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from config.api import api
from minihub.accounts.models import User
from minihub.albums import plays_store
from minihub.albums.models import Favorite
from minihub.integrations.wechat import crypto
from minihub.notifications.models import SubscriptionGrant
from minihub.tenants.services import miniprogram_update
from minihub.wechat.models import PushEvent
from tests.album_factory import album_create
from tests.conftest import APPID_A, APPID_B
from tests.helpers import log_in
from tests.wechat_side import encrypt_user_data

SESSION_KEY = base64.b64encode(b"matrix-session-k").decode()
OPENIDS = {APPID_A: "matrix-openid-a", APPID_B: "matrix-openid-b"}
PUSH_TOKENS = {APPID_A: "matrix-push-token-a", APPID_B: "matrix-push-token-b"}
PHONE = "13800138000"

# caller -> (the mini-program of the header or URL, the mini-program of the token or signer)
CALLERS = {
    "anonymous": (APPID_A, None),
    "same": (APPID_A, APPID_A),
    "token_of_b": (APPID_A, APPID_B),
    "header_of_b": (APPID_B, APPID_A),
}


# --- the routes, from the URL configuration ----------------------------------------------


def _url_routes(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _url_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _as_template(route: str) -> str:
    """Django's api/v2/albums/<album_id> as the API's /albums/{album_id}."""
    path = route.removeprefix(settings.API_PREFIX).rstrip("/")
    return "/" + path.replace("<", "{").replace(">", "}").lstrip("/")


def _ninja_methods() -> dict[str, set[str]]:
    """The methods of each path the API's routers registered (all mounted at the root)."""
    methods: dict[str, set[str]] = {}
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            template = "/" + "/".join(part.strip("/") for part in (prefix, path) if part.strip("/"))
            for operation in view.operations:
                methods.setdefault(template, set()).update(operation.methods)
    return methods


def api_routes() -> list[tuple[str, str]]:
    """(method, path template) of everything the URL configuration serves under the API prefix.

    A URL that no API operation explains (the schema, the docs, a plain Django view)
    counts as a GET: it still has to be in the matrix.
    """
    methods = _ninja_methods()
    routes = set()
    for route in _url_routes(get_resolver().url_patterns):
        if route.startswith(settings.API_PREFIX):
            template = _as_template(route)
            routes.update((method, template) for method in methods.get(template, {"GET"}))
    return sorted(routes)


# --- the matrix --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """Expected statuses per caller, and what a valid request of the route carries."""

    anonymous: int
    same: int
    token_of_b: int
    header_of_b: int
    body: Callable[["World"], dict] | None = None
    query: dict | None = None
    # Signed by the push token instead of authenticated by a bearer token.
    signed: bool = False
    # The status when the body also names protected user fields (None: no JSON body).
    # 422 where the schema refuses unknown fields; otherwise they are ignored.
    mass_assignment: int | None = None

    def status(self, caller: str) -> int:
        return getattr(self, caller)


def login_body(world: "World") -> dict:
    return {"code": world.wechat.login_code(APPID_A, OPENIDS[APPID_A], session_key=SESSION_KEY)}


def phone_body(world: "World") -> dict:
    return {"code": world.wechat.phone_code(APPID_A, PHONE)}


def userinfo_body(world: "World") -> dict:
    iv = os.urandom(16)
    data = {"nickName": "矩阵 🎵", "watermark": {"appid": APPID_A, "timestamp": 1700000000}}
    return {
        "encrypted_data": encrypt_user_data(data=data, iv=iv, session_key=SESSION_KEY),
        "iv": base64.b64encode(iv).decode(),
    }


def push_body(world: "World") -> dict:
    return {
        "ToUserName": "gh_0123456789ab",
        "FromUserName": OPENIDS[APPID_A],
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": "matrix",
        "MsgId": 7001,
    }


PUBLIC = (200, 200, 200, 200)
USER_ONLY_200 = (401, 200, 401, 401)
SIGNED = (403, 200, 403, 403)

EXPECTED: dict[tuple[str, str], Row] = {
    ("GET", "/"): Row(404, 404, 404, 404),
    ("GET", "/openapi.json"): Row(*PUBLIC),
    ("GET", "/docs"): Row(*PUBLIC),
    ("GET", "/ping"): Row(*PUBLIC),
    ("GET", "/health"): Row(*PUBLIC),
    ("GET", "/health/live"): Row(*PUBLIC),
    # Logging in ignores any token; a code of A's mini-program is refused as B.
    ("POST", "/auth/login"): Row(200, 200, 200, 400, body=login_body, mass_assignment=200),
    ("POST", "/auth/logout"): Row(401, 204, 401, 401),
    ("GET", "/me"): Row(*USER_ONLY_200),
    ("PATCH", "/me"): Row(
        *USER_ONLY_200, body=lambda world: {"nickname": "matrix"}, mass_assignment=422
    ),
    ("POST", "/me"): Row(
        *USER_ONLY_200, body=lambda world: {"nickname": "matrix"}, mass_assignment=422
    ),
    ("POST", "/me/phone"): Row(*USER_ONLY_200, body=phone_body, mass_assignment=200),
    ("POST", "/me/userinfo"): Row(*USER_ONLY_200, body=userinfo_body, mass_assignment=200),
    ("POST", "/me/subscriptions"): Row(
        *USER_ONLY_200, body=lambda world: {"template_ids": ["tpl-matrix"]}, mass_assignment=422
    ),
    ("GET", "/me/favorites"): Row(*USER_ONLY_200),
    ("POST", "/content/check"): Row(
        *USER_ONLY_200, body=lambda world: {"text": "hello"}, mass_assignment=422
    ),
    ("GET", "/qrcode"): Row(*USER_ONLY_200, query={"scene": "matrix"}),
    ("GET", "/wechat/push/{appid}"): Row(*SIGNED, query={"echostr": "echo-1"}, signed=True),
    ("POST", "/wechat/push/{appid}"): Row(*SIGNED, body=push_body, signed=True),
    # Albums are public; a token, if sent, must be valid for the header's mini-program.
    ("GET", "/albums"): Row(200, 200, 401, 401),
    ("GET", "/albums/{album_id}"): Row(200, 200, 401, 401),
    # Counting a play reads no token at all; B's header does not find A's album.
    ("POST", "/albums/{album_id}/plays"): Row(202, 202, 202, 404),
    ("PUT", "/albums/{album_id}/favorite"): Row(401, 204, 401, 401),
    ("DELETE", "/albums/{album_id}/favorite"): Row(401, 204, 401, 401),
}

# Values a body might try to set, each unlike anything the request itself legitimately sets.
PROTECTED_USER_FIELDS: dict[str, Callable[["World"], object]] = {
    "id": lambda world: world.users[APPID_B].id,
    "openid": lambda world: "injected-openid",
    "unionid": lambda world: "injected-unionid",
    "phone": lambda world: "+1 555 0100",
    "mini_program": lambda world: world.tenants.b.id,
    "mini_program_id": lambda world: world.tenants.b.id,
    "session_key": lambda world: "aW5qZWN0ZWQtc2Vzc2lvbg==",
}
USER_COLUMNS = ("id", "mini_program_id", "openid", "unionid", "phone", "session_key")


# --- the world the matrix runs in --------------------------------------------------------


class World:
    """Two mini-programs, a logged-in user and an album in each."""

    def __init__(self, client, wechat, tenants):
        self.client = client
        self.wechat = wechat
        self.tenants = tenants
        for program, appid in ((tenants.a, APPID_A), (tenants.b, APPID_B)):
            miniprogram_update(program=program, push_token=PUSH_TOKENS[appid])
        self.tokens = {
            appid: log_in(client, wechat, appid, OPENIDS[appid], session_key=SESSION_KEY)["token"]
            for appid in (APPID_A, APPID_B)
        }
        self.users = {appid: User.objects.get(openid=OPENIDS[appid]) for appid in OPENIDS}
        self.albums = {
            appid: album_create(mini_program_id=program.id, title=f"matrix album of {appid}")
            for appid, program in ((APPID_A, tenants.a), (APPID_B, tenants.b))
        }
        self.unknown_album_id = max(album.id for album in self.albums.values()) + 1000

    def call(self, route, caller, *, album_id=None, body_extra=None):
        method, template = route
        row = EXPECTED[route]
        header_app, token_app = CALLERS[caller]
        album_id = self.albums[APPID_A].id if album_id is None else album_id
        path = "/api/v2" + template.format(album_id=album_id, appid=header_app)
        query = dict(row.query or {})
        headers = {"HTTP_X_MINI_PROGRAM": header_app}
        if row.signed and token_app:
            query.update(self._push_signature(token_app))
        elif token_app:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.tokens[token_app]}"
        if query:
            path += "?" + "&".join(f"{name}={value}" for name, value in query.items())
        body = {**row.body(self), **(body_extra or {})} if row.body else None
        send = getattr(self.client, method.lower())
        if body is None:
            return send(path, **headers)
        return send(path, data=json.dumps(body), content_type="application/json", **headers)

    @staticmethod
    def _push_signature(appid: str) -> dict:
        timestamp, nonce = str(int(time.time())), "matrix-nonce"
        signature = crypto.push_signature(PUSH_TOKENS[appid], timestamp, nonce)
        return {"timestamp": timestamp, "nonce": nonce, "signature": signature}

    def snapshot(self) -> tuple:
        """Everything a request of the matrix could change."""
        album_ids = sorted(album.id for album in self.albums.values())
        return (
            list(User.objects.order_by("id").values()),
            list(Favorite.objects.order_by("id").values()),
            list(SubscriptionGrant.objects.order_by("id").values()),
            list(PushEvent.objects.order_by("id").values()),
            plays_store.plays_read(album_ids),
        )

    def secrets_of(self, appid: str) -> list[str]:
        """What an answer given as the other mini-program must never contain."""
        user = self.users[appid]
        return [user.openid, self.albums[appid].title, self.tokens[appid]]


@pytest.fixture
def world(client, wechat, tenants):
    return World(client, wechat, tenants)


def answer_text(response) -> str:
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode("utf-8", errors="replace")


def without_request_id(response) -> dict:
    body = response.json()
    body["error"].pop("request_id")
    return body


ROUTES = api_routes()
ALBUM_ROUTES = [route for route in ROUTES if "{album_id}" in route[1]]
MASS_ASSIGNMENT_ROUTES = [
    route for route in ROUTES if EXPECTED.get(route, Row(0, 0, 0, 0)).mass_assignment
]


def route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


# --- the tests -----------------------------------------------------------------------------


def test_every_route_is_in_the_matrix():
    missing = [route for route in ROUTES if route not in EXPECTED]
    assert not missing, f"new endpoint not in the authorization matrix: {missing}"
    stale = [route for route in EXPECTED if route not in ROUTES]
    assert not stale, f"the authorization matrix names routes that do not exist: {stale}"


def test_the_route_walk_sees_the_documented_operations():
    """The walk of the URL configuration agrees with the API's own schema."""
    documented = {
        (method.upper(), path.removeprefix("/" + settings.API_PREFIX.rstrip("/")))
        for path, operations in api.get_openapi_schema()["paths"].items()
        for method in operations
    }
    undocumented = {("GET", "/"), ("GET", "/openapi.json"), ("GET", "/docs")}
    assert set(ROUTES) == documented | undocumented


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_route_answers_each_caller_as_the_matrix_says(world, route, caller):
    assert route in EXPECTED, f"new endpoint not in the authorization matrix: {route}"
    before = world.snapshot()
    response = world.call(route, caller)
    assert response.status_code == EXPECTED[route].status(caller), response.content
    if response.status_code >= 400:
        assert world.snapshot() == before, "a refused request changed something"
    header_app = CALLERS[caller][0]
    other_app = APPID_B if header_app == APPID_A else APPID_A
    text = answer_text(response)
    for secret in world.secrets_of(other_app):
        assert secret not in text, f"the answer leaks {secret!r} of the other mini-program"


@pytest.mark.django_db
@pytest.mark.parametrize("route", ALBUM_ROUTES, ids=route_id)
def test_another_mini_programs_album_is_answered_like_an_unknown_one(world, route):
    before = world.snapshot()
    foreign = world.call(route, "same", album_id=world.albums[APPID_B].id)
    unknown = world.call(route, "same", album_id=world.unknown_album_id)
    assert foreign.status_code == unknown.status_code == 404
    assert without_request_id(foreign) == without_request_id(unknown)
    assert sorted(foreign.headers) == sorted(unknown.headers)
    assert world.snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("route", ALBUM_ROUTES, ids=route_id)
def test_bs_user_asking_for_as_album_is_answered_like_an_unknown_one(world, client, route):
    """The mirror image: B's own user, B's header, A's album id."""
    token_b = world.tokens[APPID_B]
    method, template = route
    send = getattr(client, method.lower())

    def as_b(album_id):
        path = "/api/v2" + template.format(album_id=album_id)
        return send(path, HTTP_X_MINI_PROGRAM=APPID_B, HTTP_AUTHORIZATION=f"Bearer {token_b}")

    before = world.snapshot()
    foreign = as_b(world.albums[APPID_A].id)
    unknown = as_b(world.unknown_album_id)
    assert foreign.status_code == unknown.status_code == 404
    assert without_request_id(foreign) == without_request_id(unknown)
    assert world.snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("field", PROTECTED_USER_FIELDS)
@pytest.mark.parametrize("route", MASS_ASSIGNMENT_ROUTES, ids=route_id)
def test_no_body_sets_a_protected_user_field(world, route, field):
    value = PROTECTED_USER_FIELDS[field](world)
    before = world.snapshot()
    response = world.call(route, "same", body_extra={field: value})
    assert response.status_code == EXPECTED[route].mass_assignment, response.content
    if response.status_code >= 400:
        assert world.snapshot() == before
    user_a, user_b = (User.objects.get(pk=world.users[appid].pk) for appid in (APPID_A, APPID_B))
    assert user_a.mini_program_id == world.users[APPID_A].mini_program_id
    assert value not in [getattr(user_a, column) for column in USER_COLUMNS]
    assert [getattr(user_b, column) for column in USER_COLUMNS] == [
        getattr(world.users[APPID_B], column) for column in USER_COLUMNS
    ]
    assert User.objects.count() == len(OPENIDS), "a body created a user"
