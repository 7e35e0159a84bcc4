"""Maps every exception an endpoint can raise to the error envelope."""

import logging

import redis
import sqlalchemy.exc
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as ServiceValidationError
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from django.http.request import RawPostDataException
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from minihub.core.errors import (
    CODE_FOR_STATUS,
    ApiError,
    api_error_response,
    error_response,
    validation_error_from,
)

logger = logging.getLogger("minihub.errors")

SERVICE_RETRY_AFTER_SECONDS = "5"


def _validation_fields(errors: list[dict]) -> list[dict]:
    """loc and msg only: pydantic's `input` would echo secrets back."""
    fields = []
    for error in errors:
        loc = list(error.get("loc", ()))
        # The API layer puts the endpoint's parameter name after "body"; clients
        # know the field path only.
        if len(loc) > 2 and loc[0] == "body":
            loc = [loc[0], *loc[2:]]
        fields.append({"loc": loc, "msg": error.get("msg", "invalid")})
    return fields


def on_api_error(request, exc: ApiError):
    return api_error_response(exc)


def on_validation_error(request, exc: ValidationError):
    return error_response(
        "validation_error", "The request is not valid.", fields=_validation_fields(exc.errors)
    )


def on_http_error(request, exc: HttpError):
    # The API layer wraps our body parser's ApiError (invalid JSON, content type).
    if isinstance(exc.__cause__, ApiError):
        return api_error_response(exc.__cause__)
    status = exc.status_code
    return error_response(CODE_FOR_STATUS.get(status, "bad_request"), str(exc), status=status)


def on_service_validation_error(request, exc: ServiceValidationError):
    """A safety net: services translate validators' refusals to ApiError themselves."""
    return api_error_response(validation_error_from(exc))


def on_integrity_error(request, exc: IntegrityError):
    # A unique or foreign key a concurrent request changed first: retrying may succeed.
    logger.warning("integrity conflict in %s %s: %s", request.method, request.path, exc)
    return error_response("conflict", "The request conflicted with a concurrent change; retry it.")


def on_authentication_error(request, exc: AuthenticationError):
    return error_response("unauthenticated", "A valid bearer token is required.")


def on_not_found(request, exc: Http404):
    return error_response("not_found", "Not found.")


def on_body_too_big(request, exc: RequestDataTooBig):
    return error_response("payload_too_large", "The request body is too large.")


def on_suspicious_request(request, exc: SuspiciousOperation):
    # Django answers these (e.g. more than DATA_UPLOAD_MAX_NUMBER_FIELDS parameters) with
    # a 400; raised inside an endpoint they would otherwise reach the catch-all 500.
    logger.warning("suspicious request: %s: %s", type(exc).__name__, exc)
    return error_response("bad_request", "The request has too many parameters or is malformed.")


def on_body_unreadable(request, exc: RawPostDataException):
    return error_response("bad_request", "The request body could not be read.")


def on_backend_unavailable(request, exc: Exception):
    logger.warning("backend unavailable: %s: %s", type(exc).__name__, exc)
    return error_response(
        "service_unavailable",
        "A backing service is unavailable; try again shortly.",
        headers={"Retry-After": SERVICE_RETRY_AFTER_SECONDS},
    )


def on_unexpected(request, exc: Exception):
    logger.exception("unhandled exception in %s %s", request.method, request.path)
    return error_response("internal_error", "An internal error occurred.")


def install_exception_handlers(api: NinjaAPI) -> None:
    handlers = {
        ApiError: on_api_error,
        ValidationError: on_validation_error,
        ServiceValidationError: on_service_validation_error,
        IntegrityError: on_integrity_error,
        AuthenticationError: on_authentication_error,
        HttpError: on_http_error,
        Http404: on_not_found,
        RequestDataTooBig: on_body_too_big,
        SuspiciousOperation: on_suspicious_request,
        RawPostDataException: on_body_unreadable,
        OperationalError: on_backend_unavailable,
        InterfaceError: on_backend_unavailable,
        redis.exceptions.ConnectionError: on_backend_unavailable,
        redis.exceptions.TimeoutError: on_backend_unavailable,
        # No pooled database connection came free in time.
        sqlalchemy.exc.TimeoutError: on_backend_unavailable,
        DatabaseError: on_unexpected,
        Exception: on_unexpected,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)
