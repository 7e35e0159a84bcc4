"""Request ids, body size limits and the error envelope for every API answer."""

import ipaddress
import random
import re

import sentry_sdk
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from minihub.core import figures
from minihub.core.errors import CODE_FOR_STATUS, ApiError, api_error_response, error_response
from minihub.core.logging import bind_request_id, unbind_request_id
from minihub.core.net import client_ip
from minihub.core.throttle import rate_limit

REQUEST_ID_HEADER = "X-Request-ID"
# Read from META: request.headers copies every header into a new mapping first.
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Echo a client's id only when it is short and harmless in logs and headers.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id() -> str:
    """32 hex digits, unique per request across processes (the random module is seeded
    from the OS at start and again in each forked worker). Not a secret: uuid4 asked the
    kernel for 16 bytes per request, 3 % of /ping's CPU under load."""
    return f"{random.getrandbits(128):032x}"


def is_api_path(path: str) -> bool:
    return path.startswith("/" + settings.API_PREFIX)


class RequestIdMiddleware:
    """Outermost: gives every request an id, and every API error the envelope.

    Errors produced outside our own handlers (Django's 404/405/500, the API
    layer's plain-text answers) are rewritten here, so clients always get the
    documented body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.META.get(REQUEST_ID_META, "")
        request_id = offered if SANE_REQUEST_ID.match(offered) else new_request_id()
        request.request_id = request_id
        token = bind_request_id(request_id)
        # A scope of the request's own, whatever server runs us: tags set while
        # handling it (request id, mini-program) never leak into the next one.
        with sentry_sdk.isolation_scope() as scope:
            scope.set_tag("request_id", request_id)
            response = self._respond(request, token)
        response[REQUEST_ID_HEADER] = request_id
        return response

    def _respond(self, request: HttpRequest, token) -> HttpResponse:
        try:
            response = self.get_response(request)
            if (
                response.status_code >= 400
                and is_api_path(request.path)
                and not getattr(response, "is_error_envelope", False)
            ):
                response = self._as_envelope(response)
        finally:
            unbind_request_id(token)
        return response

    @staticmethod
    def _as_envelope(response: HttpResponse) -> HttpResponse:
        status = response.status_code
        code = CODE_FOR_STATUS.get(status, "bad_request" if status < 500 else "internal_error")
        message = getattr(response, "reason_phrase", "") or code.replace("_", " ")
        headers = {name: response[name] for name in ("Allow", "Retry-After") if name in response}
        return error_response(code, message, status=status, headers=headers)


class FiguresMiddleware:
    """The dashboard's figures of an API request: its mini-program, status and user, and
    whatever the request counted on the way, kept in this process's sums (written to
    Redis once a second, minihub/core/figures.py)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = "/" + settings.API_PREFIX

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(self.prefix):
            return self.get_response(request)
        token = figures.request_batch_start()
        try:
            response = self.get_response(request)
            # Set by minihub.tenants.request_tenant once the mini-program is known.
            tenant = getattr(request, "minihub_tenant", None)
            if tenant is not None:
                self._count(request, response, tenant.id)
        finally:
            figures.request_batch_end(token)
        return response

    @staticmethod
    def _count(request: HttpRequest, response: HttpResponse, mini_program_id: int) -> None:
        figures.figure_add(mini_program_id=mini_program_id, name=figures.API_REQUESTS)
        if response.status_code >= 400:
            name = f"{figures.API_ERRORS}{response.status_code}"
            figures.figure_add(mini_program_id=mini_program_id, name=name)
        user_id = getattr(getattr(request, "auth", None), "user_id", None)
        if user_id is not None:
            figures.figure_user_active(mini_program_id=mini_program_id, user_id=user_id)


class BodySizeLimitMiddleware:
    """413 before reading a body whose declared length is over API_MAX_BODY_BYTES."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.limit = settings.API_MAX_BODY_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return error_response("bad_request", "Content-Length is not a number.")
        if length > self.limit:
            return error_response(
                "payload_too_large", f"The request body is over {self.limit} bytes."
            )
        return self.get_response(request)


class AdminAllowListMiddleware:
    """The admin (and its job dashboard) answers only ADMIN_ALLOWED_IPS, when set: 404 to others."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = "/" + settings.ADMIN_URL
        self.networks = [ipaddress.ip_network(n, strict=False) for n in settings.ADMIN_ALLOWED_IPS]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.networks and request.path.startswith(self.prefix) and not self._allowed(request):
            raise Http404("not found")
        return self.get_response(request)

    def _allowed(self, request: HttpRequest) -> bool:
        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class WriteRateLimitMiddleware:
    """Writes to the API per client address per minute, shared by every process (Redis).

    WeChat's own push servers are exempt: they are few addresses sending for
    every user, and their requests are signature-checked.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt = "/" + settings.API_PREFIX + "wechat/push/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method in WRITE_METHODS
            and is_api_path(request.path)
            and not request.path.startswith(self.exempt)
        ):
            try:
                rate_limit(
                    scope="writes-ip",
                    key=client_ip(request),
                    limit=settings.API_WRITES_PER_IP_PER_MINUTE,
                )
            except ApiError as exc:
                return api_error_response(exc)
        return self.get_response(request)


class BrowserOnlyMiddleware:
    """Django's middleware for browsers (settings.BROWSER_MIDDLEWARE), run for the admin
    and its pages only.

    The API sends no cookies or forms: sessions, CSRF, the logged-in user, messages and
    frame options mean nothing to it, and skipping them takes a third off the time of a
    small API request. They run here in their listed order, view hooks included.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        handler = get_response
        instances = []
        for path in reversed(settings.BROWSER_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_exception") or hasattr(
                middleware, "process_template_response"
            ):
                raise ImproperlyConfigured(f"{path}: only process_view hooks are supported here")
            instances.insert(0, middleware)
            handler = convert_exception_to_response(middleware)
        self.browser_chain = handler
        self.view_hooks = [m.process_view for m in instances if hasattr(m, "process_view")]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request.path):
            return self.get_response(request)
        return self.browser_chain(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_api_path(request.path):
            return None
        for hook in self.view_hooks:
            response = hook(request, view_func, view_args, view_kwargs)
            if response is not None:
                return response
        return None
