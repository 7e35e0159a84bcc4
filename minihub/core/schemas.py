from ninja import Schema

from minihub.core.errors import ERROR_STATUS


class FieldError(Schema):
    loc: list[str | int]
    msg: str


class ErrorBody(Schema):
    code: str
    message: str
    request_id: str
    fields: list[FieldError] | None = None


class ErrorOut(Schema):
    error: ErrorBody


# What any endpoint that takes a JSON body and a token can answer.
AUTHENTICATED_BODY_ERRORS = (
    "invalid_json",
    "miniprogram_unknown",
    "unauthenticated",
    "payload_too_large",
    "unsupported_media_type",
    "validation_error",
)


def error_responses(*codes: str) -> dict[int, type[ErrorOut]]:
    """`response=` entries documenting an operation's error answers."""
    statuses = {ERROR_STATUS[code] for code in codes}
    return {status: ErrorOut for status in sorted(statuses)}
