"""Bearer authentication bound to the request's mini-program."""

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from minihub.accounts.models import User
from minihub.accounts.selectors import user_get
from minihub.accounts.tokens import Identity, token_authenticate
from minihub.core.errors import ApiError
from minihub.core.middleware import WRITE_METHODS
from minihub.core.throttle import rate_limit
from minihub.tenants.request import request_tenant


class MiniProgramBearer(HttpBearer):
    """A token counts only with the mini-program it was issued for; otherwise 401."""

    def authenticate(self, request: HttpRequest, token: str) -> Identity | None:
        tenant = request_tenant(request)
        identity = token_authenticate(token=token, mini_program_id=tenant.id)
        if identity is not None and request.method in WRITE_METHODS:
            rate_limit(
                scope="writes-user",
                key=str(identity.user_id),
                limit=settings.API_WRITES_PER_USER_PER_MINUTE,
            )
        return identity


bearer = MiniProgramBearer()


def token_user_gone() -> ApiError:
    """A valid token whose user was deleted since: the token is worth nothing now."""
    return ApiError("unauthenticated", "This token's user no longer exists.")


def token_user_get(*, user_id: int, mini_program_id: int) -> User:
    """The user an authenticated token names (request.auth's ids); unauthenticated if gone."""
    user = user_get(user_id=user_id, mini_program_id=mini_program_id)
    if user is None:
        raise token_user_gone()
    return user


def optional_identity(request: HttpRequest) -> Identity | None:
    """For endpoints that also serve anonymous users: None without a token.

    A token that is sent but not valid is still a 401: silently treating the
    client as anonymous would hide its bug.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")  # Authorization
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    identity = None
    if scheme.lower() == "bearer":
        tenant = request_tenant(request)
        identity = token_authenticate(token=token.strip(), mini_program_id=tenant.id)
    if identity is None:
        raise ApiError("unauthenticated", "The bearer token is not valid.")
    request.auth = identity  # as ninja does for required auth: the dashboard counts the user
    return identity
