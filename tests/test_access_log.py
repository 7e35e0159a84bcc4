"""The access line: gunicorn's own line for the shipped format, under either server."""

import contextlib
import datetime
import os
import runpy
from types import SimpleNamespace

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from minihub.core import access_log
from minihub.core.access_log import (
    ACCESS_LOG_FORMAT,
    AccessLoggedApplication,
    AccessLogger,
    access_line,
    format_line,
)
from tests.helpers import PROJECT_DIR

ENVIRON = {
    "REMOTE_ADDR": "10.0.0.7",
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/api/v2/albums/7?page=2",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone) MicroMessenger/8.0",
    "PATH_INFO": "/api/v2/albums/7",
    "QUERY_STRING": "page=2",
}


def gunicorn_line(resp, environ, request_time) -> str:
    config = Config()
    logger = Logger(config)
    atoms = logger.atoms(resp, SimpleNamespace(headers=[]), environ, request_time)
    return ACCESS_LOG_FORMAT % SafeAtoms(atoms) + "\n"


@pytest.mark.parametrize(
    ("status", "sent", "headers", "environ"),
    [
        ("200 OK", 183, [("Content-Type", "application/json"), ("X-Request-ID", "abc123")], {}),
        ("404 Not Found", None, [], {}),  # nothing sent, no request id
        ("503 Service Unavailable", 95, [("x-request-id", "r-9")], {"HTTP_USER_AGENT": "-"}),
        ("200 OK", 0, [], {"REMOTE_ADDR": "::1", "RAW_URI": "/api/v2/ping"}),
    ],
)
def test_the_line_is_gunicorns(status, sent, headers, environ):
    resp = SimpleNamespace(status=status, sent=sent, headers=headers)
    merged = {**ENVIRON, **environ}
    took = datetime.timedelta(seconds=1, microseconds=234_567)
    assert access_line(resp, merged, took) == gunicorn_line(resp, merged, took)


def test_an_access_log_file_goes_through_gunicorns_own_code(tmp_path):
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = AccessLogger(config)
    resp = SimpleNamespace(status="201 Created", sent=12, headers=[("X-Request-ID", "f1")])
    logger.access(resp, SimpleNamespace(headers=[]), ENVIRON, datetime.timedelta(0))
    for handler in logger.access_log.handlers:
        handler.flush()
    written = (tmp_path / "access.log").read_text()
    assert written == access_line(resp, ENVIRON, datetime.timedelta(0))


def test_the_shipped_config_takes_the_fast_path(tmp_path, monkeypatch):
    """deploy/gunicorn.conf.py repeats the format (it cannot import the project); a
    drift would silently send every line back through gunicorn's slow path."""
    monkeypatch.setenv("MINIHUB_RUN_DIR", str(tmp_path))
    monkeypatch.delenv("GUNICORN_ACCESSLOG", raising=False)
    config = runpy.run_path(str(PROJECT_DIR / "deploy" / "gunicorn.conf.py"))
    assert config["logger_class"] == "minihub.core.access_log.AccessLogger"
    assert config["accesslog"] == "-"
    assert config["access_log_format"] == ACCESS_LOG_FORMAT


@pytest.fixture
def written(monkeypatch):
    """What the access log writes to its stdout, read back from a pipe."""
    read_end, write_end = os.pipe()
    monkeypatch.setattr(access_log, "STDOUT", write_end)
    lines = []

    def read() -> list[str]:
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            lines.extend(pipe.read().splitlines(keepends=True))
        return lines

    yield read
    if not lines:
        with contextlib.suppress(OSError):
            os.close(write_end)
        with contextlib.suppress(OSError):
            os.close(read_end)


def granian_environ(path_info: str, query: str) -> dict:
    """What granian hands the application: no RAW_URI, the path decoded."""
    environ = {key: value for key, value in ENVIRON.items() if key != "RAW_URI"}
    return {**environ, "PATH_INFO": path_info, "QUERY_STRING": query}


def call(application, environ):
    started = []
    body = application(environ, lambda status, headers, exc_info=None: started.append(status))
    chunks = list(body)
    if hasattr(body, "close"):
        body.close()
    return started, chunks, body


def test_the_wrapped_application_writes_gunicorns_line_for_a_whole_body(written):
    closed = []

    def django_like(environ, start_response):
        response = HttpResponse(b'{"id": 7}', status=201, headers={"X-Request-ID": "abc123"})
        response._resource_closers.append(lambda: closed.append(True))
        start_response("201 Created", list(response.items()))
        return response

    environ = granian_environ("/api/v2/albums/7", "page=2")
    started, chunks, body = call(AccessLoggedApplication(django_like), environ)
    assert started == ["201 Created"]
    assert isinstance(body, list) and chunks == [b'{"id": 7}']  # handed over whole
    assert closed == [True]  # the response closed: Django's request_finished
    (line,) = written()
    resp = SimpleNamespace(status="201 Created", sent=9, headers=[("X-Request-ID", "abc123")])
    millis = int(line.split("ms ")[0].rsplit(" ", 1)[1])
    took = datetime.timedelta(milliseconds=millis)
    assert line == gunicorn_line(resp, {**environ, "RAW_URI": "/api/v2/albums/7?page=2"}, took)


def test_a_path_is_logged_as_the_client_sent_it():
    # "/专辑/7" in UTF-8, percent-encoded by the client; the server decodes it as latin-1.
    sent = "/api/v2/%E4%B8%93%E8%BE%91/7"
    decoded = "/api/v2/专辑/7".encode().decode("latin-1")
    line = format_line(granian_environ(decoded, ""), "404 Not Found", 0, 1, [])
    assert f'"GET {sent} HTTP/1.1"' in line


def test_a_streamed_body_is_counted_and_logged_when_closed(written):
    def streaming(environ, start_response):
        start_response("200 OK", [("X-Request-ID", "s-1")])
        return StreamingHttpResponse(iter([b"abc", b"defg"]))

    _started, chunks, _body = call(
        AccessLoggedApplication(streaming), granian_environ("/export", "")
    )
    assert chunks == [b"abc", b"defg"]
    (line,) = written()
    assert line.startswith('10.0.0.7 "GET /export HTTP/1.1" 200 7 ')
    assert line.endswith(" rid=s-1\n")


def test_an_application_that_raises_is_logged_as_a_500(written):
    def broken(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        AccessLoggedApplication(broken)(granian_environ("/x", ""), lambda *args: None)
    (line,) = written()
    assert '"GET /x HTTP/1.1" 500 - ' in line
