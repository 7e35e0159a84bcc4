"""Request ids in log lines, the seed's emoji format and a JSON-lines format."""

import contextvars
import json
import logging
import sys
from pathlib import Path

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
# Frames from installed packages are noise in the human-read format.
LIBRARY_MARKERS = ("site-packages", "dist-packages", f"{Path(sys.prefix)}")

LEVEL_EMOJI = {
    logging.DEBUG: "🤟",
    logging.INFO: "🍺",
    logging.WARNING: "⚠️",
    logging.ERROR: "❌",
    logging.CRITICAL: "❌",
}


def current_request_id() -> str:
    return _request_id.get()


def bind_request_id(request_id: str) -> contextvars.Token:
    return _request_id.set(request_id)


def unbind_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or job id) on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def project_relative_path(pathname: str) -> str:
    """'' for library frames, the path under the project otherwise."""
    if any(marker in pathname for marker in LIBRARY_MARKERS):
        return ""
    try:
        return str(Path(pathname).resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return pathname


class EmojiFormatter(logging.Formatter):
    """The seed's format: an emoji per level, paths relative to the project.

    Works on a copy of the record, so other handlers see it unchanged.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        values = dict(record.__dict__)
        values.setdefault("request_id", current_request_id())
        emoji = LEVEL_EMOJI.get(record.levelno, "")
        values["message"] = f"{emoji} {record.message}"
        path = project_relative_path(record.pathname)
        values["pathname"] = path
        if not path:
            values["funcName"] = ""
            values["lineno"] = 0
        return self._style._fmt % values


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", current_request_id()),
            "module": record.module,
            "line": record.lineno,
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)
