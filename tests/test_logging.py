"""The seed's emoji log format, and JSON lines with the request id."""

import json
import logging
import sys
from pathlib import Path

import pytest

from minihub.core.logging import (
    EmojiFormatter,
    JsonLinesFormatter,
    RequestIdFilter,
    bind_request_id,
    unbind_request_id,
)

FORMAT = "[%(request_id)s][%(pathname)s(%(funcName)s):%(lineno)d]%(message)s"


def make_record(level: int, pathname: str, msg: str = "hello 你好") -> logging.LogRecord:
    record = logging.LogRecord("minihub.test", level, pathname, 42, msg, None, None, func="view")
    RequestIdFilter().filter(record)
    return record


@pytest.mark.parametrize(
    ("level", "emoji"),
    [(logging.DEBUG, "🤟"), (logging.INFO, "🍺"), (logging.WARNING, "⚠️"), (logging.ERROR, "❌")],
)
def test_emoji_per_level(level, emoji):
    line = EmojiFormatter(FORMAT).format(make_record(level, __file__))
    assert line.endswith(f"{emoji} hello 你好")


def test_project_paths_are_relative():
    line = EmojiFormatter(FORMAT).format(make_record(logging.INFO, __file__))
    assert "[-][tests/test_logging.py(view):42]" in line


def test_frames_inside_the_virtualenv_are_hidden():
    library_file = str(
        Path(sys.prefix) / "lib/python3.11/site-packages/django/core/handlers/base.py"
    )
    line = EmojiFormatter(FORMAT).format(make_record(logging.INFO, library_file))
    assert "[-][():0]" in line
    assert "site-packages" not in line


def test_the_record_itself_is_left_unchanged_for_other_handlers():
    record = make_record(logging.INFO, __file__)
    EmojiFormatter(FORMAT).format(record)
    assert record.getMessage() == "hello 你好"
    assert record.pathname == __file__


def test_json_lines_carry_the_request_id():
    token = bind_request_id("req-42")
    try:
        record = make_record(logging.WARNING, __file__)
    finally:
        unbind_request_id(token)
    payload = json.loads(JsonLinesFormatter().format(record))
    assert payload["request_id"] == "req-42"
    assert payload["level"] == "WARNING"
    assert payload["message"] == "hello 你好"


def test_sql_logging_is_quiet_unless_asked():
    from config.settings.logging import build_logging

    quiet = build_logging(level="INFO", fmt="emoji", log_sql=False)
    loud = build_logging(level="INFO", fmt="emoji", log_sql=True)
    assert quiet["loggers"]["django.db.backends"]["level"] == "WARNING"
    assert loud["loggers"]["django.db.backends"]["level"] == "DEBUG"
    assert quiet["loggers"]["django.db.backends"]["propagate"] is False


def test_unknown_log_format_is_refused():
    from config.settings.logging import build_logging

    with pytest.raises(ValueError, match="LOG_FORMAT"):
        build_logging(level="INFO", fmt="fancy", log_sql=False)
