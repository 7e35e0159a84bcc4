"""Checks of what a subscribe message is made of, shared by the API, the services and the admin.

All raise django's ValidationError, so the admin shows them on the right field.
"""

import re

from django.core.exceptions import ValidationError

TEMPLATE_ID_MAX = 128
TEMPLATE_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
PAGE_MAX = 255
IDEMPOTENCY_KEY_MAX = 128
# WeChat's keys look like "thing1", "time2", "character_string3".
DATA_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
DATA_MAX_KEYS = 20
# The longest field type (thing) takes 20 characters; this only bounds storage.
DATA_VALUE_MAX = 200

_TEMPLATE_ID = re.compile(TEMPLATE_ID_PATTERN)


def _printable(value: str) -> bool:
    return value.isprintable() and not any(c.isspace() for c in value)


def validate_template_id(value) -> None:
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= TEMPLATE_ID_MAX
        or not _TEMPLATE_ID.match(value)
    ):
        raise ValidationError(
            f"A template id is 1 to {TEMPLATE_ID_MAX} characters of A-Z, a-z, 0-9, _ and -.",
            code="invalid_template_id",
        )


def validate_message_data(value) -> None:
    """{"thing1": {"value": "…"}, …}: what subscribeMessage.send takes as `data`."""
    if not isinstance(value, dict) or not 0 < len(value) <= DATA_MAX_KEYS:
        raise ValidationError(
            f"data must be an object of 1 to {DATA_MAX_KEYS} fields, "
            'e.g. {"thing1": {"value": "…"}}.',
            code="invalid_data",
        )
    for key, field in value.items():
        if not isinstance(key, str) or not DATA_KEY.fullmatch(key):
            raise ValidationError(
                f"data key {str(key)[:40]!r} is not a template field name.", code="invalid_data"
            )
        if not isinstance(field, dict) or set(field) != {"value"}:
            raise ValidationError(f'data[{key!r}] must be {{"value": "…"}}.', code="invalid_data")
        text = field["value"]
        if not isinstance(text, str) or not 0 < len(text) <= DATA_VALUE_MAX:
            raise ValidationError(
                f"data[{key!r}].value must be a string of 1 to {DATA_VALUE_MAX} characters.",
                code="invalid_data",
            )


def validate_page(value) -> None:
    """A mini-program page, e.g. "pages/order/detail?id=1"; empty opens none."""
    if not isinstance(value, str) or len(value) > PAGE_MAX:
        raise ValidationError(f"page must be a string of at most {PAGE_MAX} characters.")
    if value.startswith("/") or (value and not _printable(value)):
        raise ValidationError(
            'page is a path without a leading "/" and without spaces, e.g. pages/index/index.',
            code="invalid_page",
        )


def validate_idempotency_key(value) -> None:
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= IDEMPOTENCY_KEY_MAX
        or not _printable(value)
    ):
        raise ValidationError(
            f"idempotency_key must be 1 to {IDEMPOTENCY_KEY_MAX} printable characters, no spaces.",
            code="invalid_idempotency_key",
        )
