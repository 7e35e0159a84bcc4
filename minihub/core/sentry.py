"""Scrubbing of Sentry events: no secret, session key or token ever leaves.

Secrets hide in places a key-name filter never sees: exception messages, log
lines, URLs, argv. So `scrub_event` works in two passes over the whole event:

1. collect the values that are known to be sensitive: those under a
   sensitive key (`{"session_key": ...}`), those written as `secret=...` or
   `"token": "..."` in any text, those after a `--secret` flag in argv, plus
   the process's own secrets (settings, `register_sensitive_values`);
2. replace every sensitive key's value, and every occurrence of a collected
   value anywhere (inside messages, breadcrumbs, URLs), then what has a
   secret's shape: bearer credentials, passwords in URLs, our API tokens and
   WeChat session keys.

Frame local variables and request bodies are not collected at all (see
config/settings/sentry.py): no name-based filter can be trusted with them.
"""

import functools
import re
from urllib.parse import urlsplit

from django.conf import settings

from minihub.core.logging import current_request_id

FILTERED = "[Filtered]"
# Shorter values are too likely to occur innocently to be replaced everywhere.
MIN_SECRET_LENGTH = 8

_WORDS = (
    r"secret|session[_-]?key|token|authorization|password|passwd|aes[_-]?key|api[_-]?key|"
    r"private[_-]?key|cookie|encrypted[_-]?data|signature|dsn|js[_-]?code|credentials"
)
SENSITIVE_KEY = re.compile(_WORDS, re.IGNORECASE)
# `key=value`, `key: value`, `"key": "value"`, `'key': 'value'` inside any text.
TEXT_PAIR = re.compile(
    rf"""[\w.-]*(?:{_WORDS})[\w-]*["']?\s*[:=]\s*(?!\[Filtered\])"""
    rf"""(?:(?P<quote>["'])(?P<quoted>[^"'\n]*)(?P=quote)|(?P<bare>[^\s"'&,;)}}\]]+))""",
    re.IGNORECASE,
)
# argv: `--secret VALUE` (e.g. `manage.py miniprogram add --secret ...`).
SENSITIVE_FLAG = re.compile(rf"^-{{1,2}}[\w-]*(?:{_WORDS})[\w-]*$", re.IGNORECASE)
AUTH_CREDENTIALS = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
AUTH_HEADER = re.compile(r"^\s*(?:Bearer|Basic|Token)\s+(?P<credentials>\S+)", re.IGNORECASE)
URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s/@]+@", re.IGNORECASE)
# accounts.tokens issues secrets.token_urlsafe(32): 43 characters of base64url.
# Both letter cases required, so that a 43-character identifier is left alone.
API_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])"
    r"[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"
)
# WeChat session keys are 16 random bytes in base64: 22 characters and "==".
SESSION_KEY = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{22}==(?![A-Za-z0-9+/=])")
SHAPES = (
    (AUTH_CREDENTIALS, r"\1 " + FILTERED),
    (URL_PASSWORD, r"\1" + FILTERED + "@"),
    (API_TOKEN, FILTERED),
    (SESSION_KEY, FILTERED),
)

# Frames' source lines: code, not data. `secret = program.secret` there names
# no secret, and must neither teach pass 1 a "value" nor be mangled by pass 2.
SOURCE_KEYS = frozenset({"pre_context", "context_line", "post_context"})

_registered: set[str] = set()


def register_sensitive_values(*values: str) -> None:
    """Values to replace wherever they appear in an event (e.g. decrypted app secrets)."""
    _registered.update(value for value in values if _worth_hiding(value))


def scrub_event(event: dict, hint: dict) -> dict:
    """sentry-sdk's before_send and before_send_transaction."""
    scrubbed = _scrub(event, _alternation(_known_values(event)))
    if "_meta" in event:
        # The SDK's own notes on what it removed: paths and lengths, no values.
        scrubbed["_meta"] = event["_meta"]
    request_id = current_request_id()
    if request_id != "-":
        scrubbed.setdefault("tags", {})["request_id"] = request_id
    return scrubbed


def _worth_hiding(value) -> bool:
    return isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value != FILTERED


@functools.cache
def _settings_secrets() -> frozenset[str]:
    """This process's own secrets: Django's key, field keys, database, Redis, Sentinel passwords."""
    values = [settings.SECRET_KEY, *getattr(settings, "FIELD_ENCRYPTION_KEYS", ())]
    values += [database.get("PASSWORD", "") for database in settings.DATABASES.values()]
    values.append(urlsplit(getattr(settings, "REDIS_URL", "") or "").password or "")
    values.append(getattr(settings, "REDIS_SENTINEL_PASSWORD", ""))
    return frozenset(value for value in values if _worth_hiding(value))


def _known_values(event: dict) -> set[str]:
    found = set(_registered) | _settings_secrets()
    _collect(event, found=found, sensitive=False)
    return {value for value in found if _worth_hiding(value)}


def _collect(value, *, found: set[str], sensitive: bool) -> None:
    """Pass 1: every value the event itself shows to be sensitive."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in SOURCE_KEYS:
                _collect(item, found=found, sensitive=sensitive or _is_sensitive_key(key))
    elif isinstance(value, list | tuple):
        flagged = _after_sensitive_flags(value)
        for position, item in enumerate(value):
            _collect(item, found=found, sensitive=sensitive or position in flagged)
    elif isinstance(value, str):
        if sensitive:
            found.add(value)
            # "Bearer <token>": the token alone may appear elsewhere.
            header = AUTH_HEADER.match(value)
            if header:
                found.add(header["credentials"])
        for match in TEXT_PAIR.finditer(value):
            found.add(match["quoted"] if match["quote"] else match["bare"])


def _is_sensitive_key(key) -> bool:
    return isinstance(key, str) and SENSITIVE_KEY.search(key) is not None


def _after_sensitive_flags(items: list | tuple) -> set[int]:
    """Positions of the values that follow a `--secret`-like flag."""
    return {
        position + 1
        for position, flag in enumerate(items[:-1])
        if isinstance(flag, str) and SENSITIVE_FLAG.match(flag)
    }


def _alternation(values: set[str]) -> re.Pattern | None:
    if not values:
        return None
    # Longest first, so a value containing another is replaced whole.
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def _scrub(value, known: re.Pattern | None, *, code: bool = False):
    """Pass 2: sensitive keys' values, known values and secret-shaped text replaced."""
    if isinstance(value, dict):
        return {
            key: FILTERED
            if _is_sensitive_key(key)
            else _scrub(item, known, code=code or key in SOURCE_KEYS)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        flagged = _after_sensitive_flags(value)
        return [
            FILTERED if position in flagged else _scrub(item, known, code=code)
            for position, item in enumerate(value)
        ]
    if isinstance(value, str):
        return _scrub_text(value, known, code=code)
    return value


def _scrub_text(text: str, known: re.Pattern | None, *, code: bool) -> str:
    if known is not None:
        text = known.sub(FILTERED, text)
    for pattern, replacement in SHAPES:
        text = pattern.sub(replacement, text)
    return text if code else TEXT_PAIR.sub(_filter_pair_value, text)


def _filter_pair_value(match: re.Match) -> str:
    group = "quoted" if match["quote"] else "bare"
    start, end = match.start(group) - match.start(), match.end(group) - match.start()
    whole = match.group(0)
    return whole[:start] + FILTERED + whole[end:]
