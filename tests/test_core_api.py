"""Ping, health, request ids and the error envelope for what Django and the API layer raise."""

import json
import logging
import re
import socket
import time

import pytest
from django.db import connections

from minihub.core import api as core_api

ENVELOPE_KEYS = {"code", "message", "request_id"}


def assert_envelope(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= ENVELOPE_KEYS
    assert error["code"] == code
    assert error["request_id"] == response["X-Request-ID"]
    return error


@pytest.mark.django_db
def test_ping_answers_pong_without_touching_the_database(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api.get("/ping")
    assert response.status_code == 200
    assert response.json() == {"message": "pong"}


def test_live_answers_while_the_process_runs(api):
    assert api.get("/health/live").status_code == 200


@pytest.mark.django_db(databases=["default", "admin"])
def test_health_checks_database_redis_and_queue(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "queue": "ok"},
    }


@pytest.fixture
def database_hangs(monkeypatch):
    """The database's address accepts TCP connections and never says a word, as a hung
    server does: connecting waits for its greeting (new connections only: each health
    check opens its own)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as silent:
        for alias in connections:
            monkeypatch.setitem(connections.settings[alias], "HOST", "127.0.0.1")
            monkeypatch.setitem(connections.settings[alias], "PORT", silent.getsockname()[1])
        yield


@pytest.mark.django_db(databases=["default", "admin"])
def test_health_answers_within_its_timeout_when_the_database_hangs(
    api, database_hangs, settings, caplog
):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    response = api.get("/health")
    elapsed = time.monotonic() - started
    assert_envelope(response, 503, "service_unavailable")
    assert response.json()["checks"] == {
        "database": "unavailable",
        "redis": "ok",
        "queue": "ok",
    }
    # The hung connect alone would take the driver's connect timeout (3 s) or longer.
    assert 0.5 <= elapsed < 1.5
    assert "health check database timed out after 0.5 s" in caplog.text


@pytest.mark.django_db(databases=["default", "admin"])
def test_health_names_redis_when_it_is_down(api, redis_unreachable):
    response = api.get("/health")
    error = assert_envelope(response, 503, "service_unavailable")
    body = response.json()
    assert body["checks"]["redis"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert "redis" in error["message"]
    assert response["Retry-After"]


def test_unknown_path_is_a_404_envelope(api):
    assert_envelope(api.get("/no/such/path"), 404, "not_found")


def test_wrong_method_is_a_405_envelope_with_allow(api):
    response = api.post("/ping")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_declared_body_over_the_limit_is_refused_with_413(api, settings):
    body = b"{}"
    response = api.post(
        "/ping",
        data=body,
        content_type="application/json",
        CONTENT_LENGTH=str(settings.API_MAX_BODY_BYTES + 1),
    )
    assert_envelope(response, 413, "payload_too_large")


def test_non_numeric_content_length_is_a_400(api):
    response = api.post("/ping", data=b"{}", content_type="application/json", CONTENT_LENGTH="x")
    assert_envelope(response, 400, "bad_request")


def test_unhandled_exception_is_a_500_envelope_logged_with_the_request_id(
    api, monkeypatch, log_records
):
    def explode():
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(core_api, "run_health_checks", explode)
    response = api.get("/health", HTTP_X_REQUEST_ID="trace-500")
    error = assert_envelope(response, 500, "internal_error")
    assert "hunter2" not in response.content.decode()
    assert error["request_id"] == "trace-500"
    logged = [r for r in log_records.records if r.levelno == logging.ERROR]
    assert logged and logged[0].request_id == "trace-500"
    assert "RuntimeError" in log_records.text


def test_a_sane_request_id_is_echoed(api):
    response = api.get("/ping", HTTP_X_REQUEST_ID="abc-123.def")
    assert response["X-Request-ID"] == "abc-123.def"


@pytest.mark.parametrize("offered", ["", "has space", "x" * 65, "new\nline", "<script>"])
def test_an_insane_request_id_is_replaced(api, offered):
    response = api.get("/ping", HTTP_X_REQUEST_ID=offered)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_every_response_carries_a_request_id(api):
    for path in ("/ping", "/missing"):
        assert api.get(path)["X-Request-ID"]


def test_openapi_schema_and_docs_are_served(api):
    schema = api.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v2/ping", "/api/v2/health", "/api/v2/health/live"} <= set(paths)
    docs = api.get("/docs")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content


def test_admin_pages_keep_django_html_errors(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_envelope_body_is_json_with_only_documented_keys(api):
    body = json.loads(api.get("/missing").content)
    assert set(body) == {"error"}
    assert set(body["error"]) == ENVELOPE_KEYS


def test_generated_request_ids_are_unique_across_forked_workers():
    import os
    import re

    from minihub.core.middleware import new_request_id

    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # a gunicorn worker is a fork of the master
        os.write(write, ",".join(new_request_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        from_child = pipe.read().split(",")
    ours = [new_request_id() for _ in range(100)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ours + from_child)
    assert len(set(ours + from_child)) == 200
