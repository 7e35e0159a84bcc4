"""POST /auth/login, /auth/logout; GET, PATCH /me; POST /me/phone, /me/userinfo."""

from django.http import HttpRequest, HttpResponse
from ninja import Router

from minihub.accounts import services
from minihub.accounts.auth import bearer, token_user_get
from minihub.accounts.schemas import LoginIn, LoginOut, PhoneIn, ProfileIn, UserInfoIn, UserOut
from minihub.core.net import client_ip
from minihub.core.schemas import AUTHENTICATED_BODY_ERRORS, error_responses
from minihub.tenants.request import request_tenant

router = Router(tags=["accounts"])

COMMON_ERRORS = AUTHENTICATED_BODY_ERRORS


def _current_user(request: HttpRequest):
    return token_user_get(
        user_id=request.auth.user_id, mini_program_id=request.auth.mini_program_id
    )


@router.post(
    "/auth/login",
    auth=None,
    response={
        200: LoginOut,
        **error_responses(
            *COMMON_ERRORS,
            "wechat_code_invalid",
            "wechat_user_blocked",
            "rate_limited",
            "wechat_unavailable",
        ),
    },
)
def login(request: HttpRequest, payload: LoginIn):
    """Log in with the code of wx.login(); creates the user on first login."""
    tenant = request_tenant(request)
    result = services.user_login(tenant=tenant, code=payload.code, client_ip=client_ip(request))
    return {
        "token": result.token.token,
        "expires_in": result.token.expires_in,
        "created": result.created,
        "user": result.user,
    }


@router.post("/auth/logout", auth=bearer, response={204: None, **error_responses(*COMMON_ERRORS)})
def logout(request: HttpRequest):
    """Revoke this token at once, on every server."""
    services.user_logout(token_digest=request.auth.token_digest)
    return HttpResponse(status=204)


@router.get("/me", auth=bearer, response={200: UserOut, **error_responses(*COMMON_ERRORS)})
def me(request: HttpRequest):
    return _current_user(request)


# POST too: wx.request, the mini-program's only HTTP client, cannot send PATCH.
@router.api_operation(
    ["PATCH", "POST"],
    "/me",
    auth=bearer,
    response={
        200: UserOut,
        **error_responses(*COMMON_ERRORS, "content_risky", "wechat_unavailable"),
    },
)
def update_me(request: HttpRequest, payload: ProfileIn):
    """Change nickname (≤ 64 characters, emoji kept exactly) and/or avatar_url.

    With content checks on for the mini-program, a risky nickname is 422 content_risky.
    """
    return services.user_update_profile(
        user=_current_user(request),
        tenant=request_tenant(request),
        nickname=payload.nickname,
        avatar_url=payload.avatar_url,
    )


@router.post(
    "/me/phone",
    auth=bearer,
    response={
        200: UserOut,
        **error_responses(*COMMON_ERRORS, "wechat_code_invalid", "wechat_unavailable"),
    },
)
def bind_phone(request: HttpRequest, payload: PhoneIn):
    """Store the phone number behind a getPhoneNumber code."""
    return services.user_bind_phone(
        user=_current_user(request), tenant=request_tenant(request), code=payload.code
    )


@router.post(
    "/me/userinfo",
    auth=bearer,
    response={200: UserOut, **error_responses(*COMMON_ERRORS, "decrypt_failed", "session_expired")},
)
def update_from_userinfo(request: HttpRequest, payload: UserInfoIn):
    """Apply wx.getUserInfo's encryptedData, decrypted with this user's session key."""
    return services.user_update_from_userinfo(
        user=_current_user(request),
        tenant=request_tenant(request),
        encrypted_data=payload.encrypted_data,
        iv=payload.iv,
        raw_data=payload.raw_data,
        signature=payload.signature,
    )
