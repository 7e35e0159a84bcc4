"""Sentry reporting, checked at a local sink that speaks the envelope protocol.

sentry-sdk runs for real (no mock): events travel over HTTP to `sentry_sink`,
from this process and from a real RQ worker process. What must hold: events
carry the request id / mini-program / job tags, environment and release; no
app secret, session key or bearer token is in any byte Sentry receives;
sampling is configurable; and nothing is on without SENTRY_DSN.
"""

import base64
import gzip
import io
import json
import logging
import zlib
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import pytest
import requests
import sentry_sdk
from django.conf import settings

from config.settings.sentry import init_sentry
from minihub.accounts import api as accounts_api
from minihub.core import api as core_api
from minihub.core import sentry as sentry_module
from minihub.core.sentry import FILTERED, register_sensitive_values, scrub_event
from minihub.integrations.wechat.client import wechat_client
from tests import helpers, jobs_for_tests
from tests.conftest import APPID_A, SECRET_A
from tests.fixtures.jobs import run_worker_burst
from tests.helpers import app_headers, log_in, manage

SESSION_KEY = base64.b64encode(b"fedcba9876543210").decode()
RELEASE = "minihub@2024.06.1-h6"
logger = logging.getLogger("minihub.tests.sentry")


def explode_with_secrets(*, token: str, login_code: str):
    """A stand-in for the user lookup that calls WeChat, then fails holding every kind of secret."""

    def explode(**kwargs):
        secret = SECRET_A
        # A real call: the appsecret travels in the URL, the session_key comes back.
        session = wechat_client().code2session(appid=APPID_A, secret=secret, code=login_code)
        bearer = f"Bearer {token}"
        # Log lines with secrets in a dict argument become breadcrumbs (and events).
        logger.warning("decrypting user info with %s", {"session_key": session.session_key})
        logger.warning("calling WeChat as %s", {"appid": APPID_A, "secret": secret})
        raise RuntimeError(
            f"cannot decrypt for {bearer}: session_key={session.session_key}, "
            f"appsecret {secret}, token {token}, django key {settings.SECRET_KEY}"
        )

    return explode


def wsgi_get(path: str, **headers: str) -> tuple[int, dict[str, str]]:
    """GET through the WSGI application, as gunicorn calls it: sentry-sdk's Django
    integration gives the request its own scope and reads the request from the environ."""
    from config.wsgi import application

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    environ.update(headers)
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer.update(status=int(status.split()[0]), headers=dict(response_headers))

    response = application(environ, start_response)
    b"".join(response)
    response.close()
    return answer["status"], answer["headers"]


def assert_no_secret_in(raw: bytes, *secrets: str) -> None:
    assert raw, "the sink received nothing"
    for secret in secrets:
        assert secret.encode() not in raw, f"{secret!r} reached Sentry"


def frames_of(event: dict) -> list[dict]:
    return [
        frame
        for value in event["exception"]["values"]
        for frame in value.get("stacktrace", {}).get("frames", [])
    ]


# The WSGI handler closes database connections when a request ends, as in production.
@pytest.mark.django_db(transaction=True)
def test_view_exception_reaches_sentry_tagged_and_without_secrets(
    client, tenants, wechat, sentry_sink, sentry_at_sink, monkeypatch
):
    sentry_at_sink(SENTRY_RELEASE=RELEASE, SENTRY_TRACES_SAMPLE_RATE="1")
    token = log_in(client, wechat, APPID_A, "openid-a")["token"]
    login_code = wechat.login_code(APPID_A, "openid-a", session_key=SESSION_KEY)
    explode = explode_with_secrets(token=token, login_code=login_code)
    monkeypatch.setattr(accounts_api, "token_user_get", explode)

    status, headers = wsgi_get(
        "/api/v2/me",
        HTTP_X_REQUEST_ID="trace-sentry-1",
        HTTP_COOKIE=f"sessionid={token}",
        **app_headers(APPID_A, token),
    )
    assert status == 500
    sentry_sdk.flush()

    (event,) = sentry_sink.error_events("RuntimeError")
    assert event["tags"]["request_id"] == headers["X-Request-ID"] == "trace-sentry-1"
    assert event["tags"]["miniprogram"] == APPID_A
    assert event["environment"] == "test"
    assert event["release"] == RELEASE
    assert event["request"]["url"].endswith("/api/v2/me")
    assert event["request"]["headers"]["X-Mini-Program"] == APPID_A
    assert event["request"]["headers"].get("Authorization", "") in ("", FILTERED)
    # Still useful: the failing function and the message, with the secrets cut out.
    assert any(frame["function"] == "explode" for frame in frames_of(event))
    assert all("vars" not in frame for frame in frames_of(event))
    message = event["exception"]["values"][-1]["value"]
    assert message.startswith(f"cannot decrypt for Bearer {FILTERED}: session_key={FILTERED}")
    crumbs = event["breadcrumbs"]["values"]
    (wechat_call,) = [c for c in crumbs if c.get("data", {}).get("url", "").endswith("session")]
    assert wechat_call["data"]["http.query"].startswith(f"appid={APPID_A}&secret={FILTERED}&")
    assert any("decrypting user info" in crumb.get("message", "") for crumb in crumbs)
    # The warnings were reported too, tagged the same way.
    warnings = [e for e in sentry_sink.events() if e.get("level") == "warning"]
    assert len(warnings) == 2
    assert {e["tags"]["request_id"] for e in warnings} == {"trace-sentry-1"}

    # Traced too (spans carry URLs and queries), through the same scrubber.
    (trace,) = [t for t in sentry_sink.transactions() if t["transaction"] == "/api/v2/me"]
    assert any("jscode2session" in span.get("description", "") for span in trace["spans"])

    assert_no_secret_in(sentry_sink.raw(), SECRET_A, SESSION_KEY, token, settings.SECRET_KEY)


@pytest.mark.django_db(databases=["default", "admin"])
def test_request_without_mini_program_is_tagged_with_its_request_id_only(
    api, sentry_sink, sentry_at_sink, monkeypatch
):
    def explode():
        raise RuntimeError(f"database at mysql://minihub:{settings_password()}@db/minihub")

    sentry_at_sink()
    monkeypatch.setattr(core_api, "run_health_checks", explode)
    response = api.get("/health")
    assert response.status_code == 500
    sentry_sdk.flush()

    (event,) = sentry_sink.error_events("RuntimeError")
    assert event["tags"]["request_id"] == response["X-Request-ID"]
    assert "miniprogram" not in event["tags"]
    assert f"mysql://minihub:{FILTERED}@db/minihub" in event["exception"]["values"][-1]["value"]
    assert_no_secret_in(sentry_sink.raw(), settings_password())


def settings_password() -> str:
    return settings.DATABASES["default"]["PASSWORD"]


@pytest.mark.django_db(databases=["default", "admin"])
def test_the_sentinel_password_never_reaches_sentry(
    api, sentry_sink, sentry_at_sink, monkeypatch, settings
):
    password = "sentinel-password-0123456789"  # pragma: allowlist secret - made up
    settings.REDIS_SENTINEL_PASSWORD = password
    # The cached secrets were read before this test changed the settings.
    monkeypatch.setattr(
        sentry_module, "_settings_secrets", sentry_module._settings_secrets.__wrapped__
    )

    def explode():
        raise RuntimeError(f"sentinel at redis://:{password}@sentinel-1:26379")

    sentry_at_sink()
    monkeypatch.setattr(core_api, "run_health_checks", explode)
    assert api.get("/health").status_code == 500
    sentry_sdk.flush()
    (event,) = sentry_sink.error_events("RuntimeError")
    assert f"redis://:{FILTERED}@sentinel-1" in event["exception"]["values"][-1]["value"]
    assert_no_secret_in(sentry_sink.raw(), password)


@pytest.mark.django_db
def test_sample_rate_zero_sends_no_event(api, sentry_sink, sentry_at_sink, monkeypatch):
    def explode():
        raise RuntimeError("sampled out")

    sentry_at_sink(SENTRY_SAMPLE_RATE="0")
    monkeypatch.setattr(core_api, "run_health_checks", explode)
    assert api.get("/health").status_code == 500
    sentry_sdk.flush()

    assert sentry_sink.events() == []
    # The SDK saw the error and dropped it for the sample rate, and says so.
    discarded = [
        entry
        for report in sentry_sink.items("client_report")
        for entry in report.json().get("discarded_events", [])
    ]
    assert {"reason": "sample_rate", "category": "error", "quantity": 1} in discarded


@pytest.mark.django_db(transaction=True)
def test_failed_job_in_a_worker_process_reaches_sentry_with_its_job_id(rq_queues, sentry_sink):
    message = f"WeChat refused: secret={SECRET_A} session_key={SESSION_KEY}"
    job = rq_queues["default"].enqueue(jobs_for_tests.failing_job, message, job_timeout=30)

    result = run_worker_burst(env={"SENTRY_DSN": sentry_sink.dsn, "SENTRY_RELEASE": RELEASE})
    assert result.returncode == 0, result.stdout + result.stderr

    events = [e for e in sentry_sink.error_events("RuntimeError") if "job_id" in e["tags"]]
    assert events, [e.get("tags") for e in sentry_sink.events()]
    event = events[0]
    assert event["tags"]["job_id"] == job.id
    assert event["tags"]["job_func"] == "tests.jobs_for_tests.failing_job"
    assert event["tags"]["request_id"] == f"job:{job.id}"
    assert event["release"] == RELEASE
    assert event["environment"] == "test"
    assert_no_secret_in(sentry_sink.raw(), SECRET_A, SESSION_KEY)


def test_without_a_dsn_sentry_stays_off(sentry_sink, monkeypatch):
    monkeypatch.setenv("SENTRY_RELEASE", RELEASE)
    init_sentry(dsn="", environment="test")
    assert sentry_sdk.get_client().is_active() is False
    sentry_sdk.capture_message("nobody listens")
    sentry_sdk.flush()
    assert sentry_sink.received() == []


@pytest.mark.parametrize(("dsn_set", "active"), [(False, "False"), (True, "True")])
def test_settings_turn_sentry_on_only_with_sentry_dsn(db, sentry_sink, dsn_set, active):
    env = helpers.test_process_env(**({"SENTRY_DSN": sentry_sink.dsn} if dsn_set else {}))
    result = manage(
        "shell", "-c", "import sentry_sdk; print(sentry_sdk.get_client().is_active())", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == active


# --- The scrubber on its own -----------------------------------------------------------


def test_scrubber_filters_keys_values_shapes_and_argv():
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd"  # token_urlsafe(32)'s shape
    register_sensitive_values("registered-app-secret-value")
    event = {
        "extra": {
            "sys.argv": ["manage.py", "miniprogram", "add", "--secret", "argv-secret-value"],
            "config": {"aes_key": "the-aes-key-value", "name": "Music A"},
        },
        "logentry": {"formatted": "retry with the-aes-key-value and registered-app-secret-value"},
        "breadcrumbs": {
            "values": [{"data": {"url": "/sns/jscode2session?appid=wx1&secret=query-secret-1"}}]
        },
        "message": f"token {token}, key {SESSION_KEY}, json {{'session_key': 'quoted sk 1'}}",
    }
    text = json.dumps(scrub_event(event, {}))
    for secret in (
        "argv-secret-value",
        "the-aes-key-value",
        "registered-app-secret-value",
        "query-secret-1",
        token,
        SESSION_KEY,
        "quoted sk 1",
    ):
        assert secret not in text
    assert "Music A" in text and "appid=wx1" in text and "jscode2session" in text


# --- The sink speaks the protocol ----------------------------------------------------------


def post_to_sink(sink, path: str, body: bytes, encoding: str = "", key: str = "") -> int:
    key = key or urlsplit(sink.dsn).username
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"}
    if encoding:
        headers["Content-Encoding"] = encoding
    return requests.post(sink.base_url + path, data=body, headers=headers, timeout=5).status_code


def test_sink_parses_compressed_envelopes_and_old_store_requests(sentry_sink):
    event = json.dumps({"event_id": "a" * 32, "message": "hi"}).encode()
    attachment = b"line one\nline two"
    envelope = b"\n".join(
        [
            json.dumps({"event_id": "a" * 32}).encode(),
            json.dumps({"type": "event", "length": len(event)}).encode(),
            event,
            json.dumps({"type": "attachment", "length": len(attachment)}).encode(),
            attachment,
            json.dumps({"type": "session"}).encode(),  # no length: runs to the newline
            b'{"status": "ok"}',
        ]
    )
    assert post_to_sink(sentry_sink, "/api/1/envelope/", gzip.compress(envelope), "gzip") == 200
    assert post_to_sink(sentry_sink, "/api/1/store/", zlib.compress(event), "deflate") == 200

    assert [e["message"] for e in sentry_sink.events()] == ["hi", "hi"]
    assert [item.payload for item in sentry_sink.items("attachment")] == [attachment]
    assert sentry_sink.items("session")[0].json() == {"status": "ok"}


def test_sink_refuses_wrong_key_project_and_broken_envelopes(sentry_sink):
    assert post_to_sink(sentry_sink, "/api/1/envelope/", b"{}\n", key="wrong") == 401
    assert post_to_sink(sentry_sink, "/api/2/envelope/", b"{}\n") == 404
    truncated = b'{}\n{"type": "event", "length": 99}\n{}'
    assert post_to_sink(sentry_sink, "/api/1/envelope/", truncated) == 400
    assert post_to_sink(sentry_sink, "/api/1/envelope/", b"not gzip", "gzip") == 400
    assert sentry_sink.received() == []
