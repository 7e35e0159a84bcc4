"""Scrubbing of Sentry events: no secret, session key or token ever leaves."""

import re

from minihub.core.logging import current_request_id

FILTERED = "[Filtered]"
SENSITIVE_KEY = re.compile(
    r"secret|session_?key|token|authorization|password|passwd|aes_?key|cookie|"
    r"encrypted_?data|signature|dsn|api_?key",
    re.IGNORECASE,
)
BEARER = re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]+")


def _scrub(value):
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and SENSITIVE_KEY.search(key) else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    if isinstance(value, str):
        return BEARER.sub("Bearer " + FILTERED, value)
    return value


def scrub_event(event: dict, hint: dict) -> dict:
    event = _scrub(event)
    request_id = current_request_id()
    if request_id != "-":
        event.setdefault("tags", {})["request_id"] = request_id
    return event
