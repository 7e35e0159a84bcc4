"""The fast access line is gunicorn's own line for the shipped format, byte for byte."""

import datetime
import runpy
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from minihub.core.access_log import ACCESS_LOG_FORMAT, AccessLogger, access_line
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
