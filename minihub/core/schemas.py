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


def error_responses(*codes: str) -> dict[int, type[ErrorOut]]:
    """`response=` entries documenting an operation's error answers."""
    statuses = {ERROR_STATUS[code] for code in codes}
    return {status: ErrorOut for status in sorted(statuses)}
