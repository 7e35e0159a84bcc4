"""GET /ping, /health, /health/live."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema

from minihub.core.errors import error_body
from minihub.core.health import OK, run_health_checks
from minihub.core.renderers import json_response
from minihub.core.schemas import ErrorBody

router = Router(tags=["health"])
PONG = {"message": "pong"}


class PingOut(Schema):
    message: str


class LiveOut(Schema):
    message: str
    release: str


class HealthOut(Schema):
    status: str
    checks: dict[str, str]
    error: ErrorBody | None = None


@router.get("/ping", response=PingOut, auth=None)
def ping(request: HttpRequest):
    """Plain JSON with no tenant and no database: the "plain JSON" benchmark."""
    return json_response(PONG)


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None, exclude_none=True)
def health(request: HttpRequest):
    """Checks the database, Redis and the job queue; 503 names the failing one."""
    checks = run_health_checks()
    failing = [name for name, state in checks.items() if state != OK]
    if not failing:
        return {"status": "ok", "checks": checks}
    body = error_body("service_unavailable", f"unavailable: {', '.join(failing)}")
    response = JsonResponse({"status": "unavailable", "checks": checks, **body}, status=503)
    response["Retry-After"] = "5"
    response.is_error_envelope = True
    return response


@router.get("/health/live", response=LiveOut, auth=None)
def live(request: HttpRequest):
    """200 while the process can answer at all; touches nothing else. Names the release."""
    return {"message": "alive", "release": settings.RELEASE}
