"""The error envelope of the API: one code per kind of failure, one status per code.

Services raise ApiError, the one domain exception of every app; the API's exception
handlers turn it into the envelope (minihub/core/exception_handlers.py).
"""

from django.core.exceptions import ValidationError
from django.http import JsonResponse

from minihub.core.logging import current_request_id
from minihub.core.renderers import JSON_DUMPS_PARAMS

ERROR_STATUS = {
    "bad_request": 400,
    "invalid_json": 400,
    "miniprogram_required": 400,
    "wechat_code_invalid": 400,
    "decrypt_failed": 400,
    "unauthenticated": 401,
    "session_expired": 401,
    "forbidden": 403,
    "wechat_user_blocked": 403,
    "not_found": 404,
    "miniprogram_unknown": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "validation_error": 422,
    "content_risky": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "wechat_unavailable": 503,
    "service_unavailable": 503,
}

# Used when a response from outside our handlers (Django, the API layer) has
# to be turned into the envelope.
CODE_FOR_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An answer in the error envelope; raise it anywhere below an endpoint."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fields: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ):
        if code not in ERROR_STATUS:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERROR_STATUS[code]
        self.fields = fields
        self.headers = headers or {}


def invalid_arguments(errors: dict[str, list[str]]) -> ApiError:
    """validation_error naming each refused argument, its messages joined."""
    fields = [
        {"loc": ["body", name], "msg": " ".join(messages)} for name, messages in errors.items()
    ]
    return ApiError("validation_error", "The request is not valid.", fields=fields)


def validation_error_from(exc: ValidationError) -> ApiError:
    """A validator's refusal as the domain error. Validators raise Django's ValidationError
    so that admin forms show it on the field; services translate it with this."""
    if hasattr(exc, "error_dict"):
        return invalid_arguments(exc.message_dict)
    return ApiError("validation_error", " ".join(exc.messages), fields=[])


def error_body(code: str, message: str, fields: list[dict] | None = None) -> dict:
    error = {"code": code, "message": message, "request_id": current_request_id()}
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


def error_response(
    code: str,
    message: str,
    *,
    status: int | None = None,
    fields: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    response = JsonResponse(
        error_body(code, message, fields),
        status=status or ERROR_STATUS.get(code, 400),
        json_dumps_params=JSON_DUMPS_PARAMS,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    response.is_error_envelope = True
    return response


def api_error_response(exc: ApiError) -> JsonResponse:
    return error_response(
        exc.code, exc.message, status=exc.status, fields=exc.fields, headers=exc.headers
    )
