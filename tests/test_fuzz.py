"""Property-based fuzzing of the whole /api/v2 from its own OpenAPI schema (schemathesis).

test_api_operation: every operation gets the schema's examples, schemathesis' coverage cases
(boundaries and negative values of every parameter, unexpected methods) and
MINIHUB_FUZZ_EXAMPLES generated cases, positive and negative. Each case goes, in process,
through the real WSGI application (middleware, MariaDB, Redis, the fake WeChat server over
HTTP) as one of several callers: mostly a logged-in user of mini-program A, sometimes
anonymous, without a mini-program, with B's token, with an unknown mini-program, or with the
Authorization header schemathesis made up. Positive cases with an album id often name a real
album (A's or B's); push cases are often validly signed, to get past the signature check.

test_undocumented_request_parts: what the schema cannot describe, fuzzed with Hypothesis:
the tenant, auth, Referer, request-id and client-address headers, the content type, raw
bodies and hundreds of unknown query parameters, on every operation.

Checks on every answer: no 5xx, a documented status code and content type, the documented
response schema (and headers), 405s with Allow, the error envelope with a code matching the
status on every 4xx/5xx, and a generous response-time bound (functional, not a benchmark).

Generation is derandomized and the Hypothesis example database is off, so CI runs the same
cases every time. MINIHUB_FUZZ_SEED=<int> runs other cases; MINIHUB_FUZZ_EXAMPLES raises the
count for a longer hunt (past about 1,000, add --timeout 0: pytest-timeout allows a test
300 s). Each case the fuzzer ever found is a regular test in
tests/test_fuzz_regressions.py.
"""

import base64
import json
import os
import time
import zlib
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    max_response_time,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.generation import GenerationMode
from werkzeug.test import Client

from minihub.albums.models import Album
from minihub.albums.services import album_seed
from minihub.core.errors import ERROR_STATUS
from minihub.core.middleware import SANE_REQUEST_ID
from minihub.core.redis import get_redis
from minihub.core.wsgi import get_wsgi_application
from minihub.integrations.wechat import crypto
from minihub.tenants.services import miniprogram_update
from tests.conftest import APPID_A, APPID_B
from tests.helpers import log_in
from tests.wechat_side import encrypt_user_data

pytestmark = pytest.mark.slow

# 300 per operation keeps this file at about two minutes on a 2-core machine.
EXAMPLES = int(os.environ.get("MINIHUB_FUZZ_EXAMPLES", "300"))
# Unset: derandomized, the same cases on every run (CI). Set: a seeded run of other cases.
SEED = os.environ.get("MINIHUB_FUZZ_SEED")
MAX_RESPONSE_SECONDS = 5.0
PUSH_TOKEN_A = "fuzz-push-token-a"
SESSION_KEY = base64.b64encode(b"fuzz-session-key").decode()
UNKNOWN_APPID = "wx00000000000000ff"

CONFIG = schemathesis.Config.from_dict(
    {
        **({"seed": int(SEED)} if SEED else {}),
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": not SEED,
            "database": "none",
        },
        "checks": {"max_response_time": MAX_RESPONSE_SECONDS},
        # Fixtures are set up once per operation on purpose (the logged-in users and albums
        # outlive a case); slow or heavily filtered generation is fine for an API fuzzer.
        "suppress-health-check": ["all"],
    }
)
# MiniHub's WSGI application, called in process as gunicorn would call it.
APPLICATION = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/v2/openapi.json", APPLICATION, config=CONFIG)


def assert_error_envelope(status: int, body: dict, request_id_header: str | None) -> None:
    """{"error": {"code", "message", "request_id"}}: a documented code for this status, and
    the request id of the X-Request-ID header."""
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"no error envelope: {body!r:.200}"
    for name in ("code", "message", "request_id"):
        assert isinstance(error.get(name), str) and error[name], f"error.{name} missing"
    assert ERROR_STATUS.get(error["code"]) == status, f"code {error['code']!r} with {status}"
    assert error["request_id"] == request_id_header


def error_envelope(ctx, response, case):
    """schemathesis check: every 4xx/5xx answer is in the error envelope."""
    if response.status_code >= 400:
        (request_id,) = response.headers.get("x-request-id", [None])
        assert_error_envelope(response.status_code, response.json(), request_id)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
    allow_header_conformance,
    max_response_time,
    error_envelope,
]

# Who sends a case: mostly a logged-in user of A, so that most cases reach the endpoint.
# "generated_auth" keeps whatever Authorization header schemathesis made up (or none).
CALLERS = (
    *("user_a",) * 6,
    "anonymous",
    "no_mini_program",
    "token_of_b",
    "unknown_mini_program",
    "generated_auth",
)
# Which album a positive case with an album id asks for.
ALBUM_CHOICES = ("own", "own", "of_b", "generated")


def _pick(choices: tuple[str, ...], case, salt: str) -> str:
    """A choice derived from the generated case itself: reproducible, also while shrinking."""
    generated = (case.path_parameters, case.query, case.body, case.headers, case.cookies)
    seed = repr((salt, case.meta.generation.mode.value, generated)).encode()
    return choices[zlib.crc32(seed) % len(choices)]


class Callers:
    """Users, tokens and albums of two mini-programs, and requests dressed as each caller."""

    def __init__(self, client, wechat, tenants):
        miniprogram_update(program=tenants.a, push_token=PUSH_TOKEN_A, content_check_enabled=True)
        self.client = client
        self.wechat = wechat
        self.login_code_options = {
            "appid": APPID_A,
            "openid": "fuzz-openid-a",
            "session_key": SESSION_KEY,
        }
        self.token_a = self.log_in_a()
        self.token_b = log_in(client, wechat, APPID_B, "fuzz-openid-b")["token"]
        album_seed(mini_program_id=tenants.a.id, count=3)
        album_seed(mini_program_id=tenants.b.id, count=2)
        first_album = Album.objects.order_by("id").values_list("id", flat=True)
        self.albums = {
            "own": first_album.filter(mini_program_id=tenants.a.id)[0],
            "of_b": first_album.filter(mini_program_id=tenants.b.id)[0],
            "unknown": first_album.last() + 1000,
        }

    def log_in_a(self) -> str:
        return log_in(self.client, self.wechat, **self.login_code_options)["token"]

    def headers(self, caller: str, path: str) -> dict[str, str]:
        bearer = {"Authorization": f"Bearer {self.token_a}"}
        if path.endswith("/auth/logout"):
            # Logging out revokes the token: each logout spends a fresh one.
            bearer = {"Authorization": f"Bearer {self.log_in_a()}"}
        return {
            "user_a": {"X-Mini-Program": APPID_A, **bearer},
            "anonymous": {"X-Mini-Program": APPID_A},
            "no_mini_program": {},
            "token_of_b": {"X-Mini-Program": APPID_A, "Authorization": f"Bearer {self.token_b}"},
            "unknown_mini_program": {"X-Mini-Program": UNKNOWN_APPID, **bearer},
            "generated_auth": {"X-Mini-Program": APPID_A},
        }[caller]

    def dress(self, case) -> None:
        """The case as one of CALLERS, with real ids in some of the positive cases."""
        caller = _pick(CALLERS, case, "caller")
        if case.meta.generation.mode == GenerationMode.POSITIVE:
            self._use_real_ids(case)
            self._use_real_wechat_data(case)
        generated = {
            name: value
            for name, value in (case.headers or {}).items()
            if caller == "generated_auth" or name.lower() != "authorization"
        }
        case.headers = {**generated, **self.headers(caller, case.operation.path)}

    def _use_real_ids(self, case) -> None:
        """Random ids almost never exist: point some positive cases at real objects."""
        params = case.path_parameters or {}
        if "album_id" in params:
            choice = _pick(ALBUM_CHOICES, case, "album")
            params["album_id"] = self.albums.get(choice, params["album_id"])
        if "appid" in params and _pick(("a", "a", "generated"), case, "appid") == "a":
            params["appid"] = APPID_A
            if _pick(("signed", "as generated"), case, "signed") == "signed":
                case.query = {**(case.query or {}), **push_signature()}

    def _use_real_wechat_data(self, case) -> None:
        """WeChat's codes and encrypted data cannot be guessed: half of the positive cases
        of the operations that take them carry real ones, from the fake server."""
        real = {
            "/api/v2/auth/login": lambda: {
                "code": self.wechat.login_code(**self.login_code_options)
            },
            "/api/v2/me/phone": lambda: {"code": self.wechat.phone_code(APPID_A, "13800138000")},
            "/api/v2/me/userinfo": encrypted_userinfo,
        }.get(case.operation.path)
        if not real or not isinstance(case.body, dict):
            return
        if _pick(("real", "as generated"), case, "real") == "real":
            case.body = {**case.body, **real()}


def encrypted_userinfo() -> dict[str, str]:
    data = {"nickName": "fuzz 🎵", "watermark": {"appid": APPID_A, "timestamp": 1700000000}}
    iv = b"fuzz-iv-16-bytes"
    return {
        "encrypted_data": encrypt_user_data(data=data, iv=iv, session_key=SESSION_KEY),
        "iv": base64.b64encode(iv).decode(),
    }


def push_signature() -> dict[str, str]:
    """A valid signature of A's push token, to get past the check to the body parser."""
    timestamp, nonce = str(int(time.time())), "fuzz-nonce"
    signature = crypto.push_signature(PUSH_TOKEN_A, timestamp, nonce)
    return {"timestamp": timestamp, "nonce": nonce, "signature": signature}


def forget_rate_limits() -> None:
    """Each case reaches the endpoint instead of the throttle (429s are tested elsewhere)."""
    redis = get_redis()
    for key in redis.scan_iter("rl:*"):
        redis.delete(key)


@pytest.fixture
def callers(client, wechat, tenants):
    return Callers(client, wechat, tenants)


# The application is called through WSGI, as a server would: its requests open and close
# database connections, so the data must be committed, not in a test transaction.
@pytest.mark.django_db(transaction=True, databases="__all__")
@schema.parametrize()
def test_api_operation(case, callers):
    callers.dress(case)
    forget_rate_limits()
    case.call_and_validate(checks=CHECKS)


# --- what the schema does not describe -----------------------------------------------------

OPERATIONS = sorted(
    (method.upper(), path, sorted(answers["responses"]))
    for path, operations in schema.raw_schema["paths"].items()
    for method, answers in operations.items()
)
# Query parameters an operation needs to get past validation.
VALID_QUERY = {"/api/v2/qrcode": {"scene": "fuzz"}}
# What a server hands over as a header value: latin-1, no line breaks.
LATIN1_TEXT = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=80)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def header(*meaningful: str):
    """None keeps the caller's value (or no header); otherwise a meaningful or random value."""
    return st.none() | st.sampled_from(meaningful) | LATIN1_TEXT


RAW_REQUESTS = st.fixed_dictionaries(
    {
        "operation": st.sampled_from(OPERATIONS),
        "caller": st.sampled_from(sorted(set(CALLERS))),
        "album": st.sampled_from(["own", "of_b", "unknown"]),
        "X-Mini-Program": header(APPID_A, APPID_B, UNKNOWN_APPID, APPID_A.upper(), ""),
        "Authorization": header("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer x" * 300),
        "Referer": header(
            f"https://servicewechat.com/{APPID_A}/1/page-frame.html",
            f"https://servicewechat.com/{UNKNOWN_APPID}/devtools/page-frame.html",
        ),
        "X-Request-ID": header("client-id-1", "x" * 65, "id with spaces"),
        "X-Real-IP": header("10.0.0.1", "::1", "not-an-ip"),
        "Content-Type": header(
            "application/json",
            "application/json; charset=utf-16",
            "text/plain",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ),
        "extra_query": st.dictionaries(LATIN1_TEXT, LATIN1_TEXT, max_size=4)
        | st.sampled_from([1000, 1001, 3000]).map(lambda n: {f"p{i}": "1" for i in range(n)}),
        "body": st.none() | st.binary(max_size=300) | JSON_VALUES.map(json.dumps).map(str.encode),
    }
)
HEADER_NAMES = (
    "X-Mini-Program",
    "Authorization",
    "Referer",
    "X-Request-ID",
    "X-Real-IP",
    "Content-Type",
)


def raw_request(callers: Callers, drawn: dict) -> dict:
    """The keyword arguments of werkzeug's Client.open for one drawn request."""
    method, template, _ = drawn["operation"]
    headers = callers.headers(drawn["caller"], template)
    headers.update({name: drawn[name] for name in HEADER_NAMES if drawn[name] is not None})
    if drawn["body"] is not None:
        headers.setdefault("Content-Type", "application/json")
    return {
        "method": method,
        "path": template.format(album_id=callers.albums[drawn["album"]], appid=APPID_A),
        "query_string": urlencode({**VALID_QUERY.get(template, {}), **drawn["extra_query"]}),
        "headers": headers,
        "data": drawn["body"],
    }


def describe(request: dict) -> str:
    query = request["query_string"]
    return (
        f"{request['method']} {request['path']} headers={request['headers']!r} "
        f"query=({query.count('&') + 1 if query else 0} parameters) {query[:200]!r} "
        f"body={request['data']!r:.300}"
    )


@pytest.mark.django_db(transaction=True, databases="__all__")
@seed(int(SEED or 0))
@settings(
    max_examples=EXAMPLES * 10,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(drawn=RAW_REQUESTS)
def test_undocumented_request_parts(callers, drawn):
    request = raw_request(callers, drawn)
    note(describe(request))
    forget_rate_limits()
    started = time.monotonic()
    response = Client(APPLICATION).open(**request)
    elapsed = time.monotonic() - started
    status = response.status_code
    assert status < 500, response.get_data()[:300]
    assert str(status) in drawn["operation"][2], f"{status} is not documented for {request}"
    offered = request["headers"].get("X-Request-ID", "")
    if SANE_REQUEST_ID.match(offered):
        assert response.headers["X-Request-ID"] == offered
    if status >= 400:
        assert_error_envelope(status, response.json, response.headers["X-Request-ID"])
    assert elapsed < MAX_RESPONSE_SECONDS
