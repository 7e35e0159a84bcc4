"""Bearer authentication bound to the request's mini-program."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from minihub.accounts.tokens import Identity, token_authenticate
from minihub.tenants.request import request_tenant


class MiniProgramBearer(HttpBearer):
    """A token counts only with the mini-program it was issued for; otherwise 401."""

    def authenticate(self, request: HttpRequest, token: str) -> Identity | None:
        tenant = request_tenant(request)
        return token_authenticate(token=token, mini_program_id=tenant.id)


bearer = MiniProgramBearer()
