"""POST /content/check; GET /qrcode; GET, POST /wechat/push/{appid}."""

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from minihub.accounts.auth import bearer
from minihub.core.schemas import error_responses
from minihub.tenants.request import request_tenant
from minihub.wechat import services
from minihub.wechat.schemas import (
    ContentCheckIn,
    ContentCheckOut,
    PushMessageQuery,
    PushVerifyQuery,
    QrCodeQuery,
)

router = Router(tags=["wechat"])

TOKEN_ERRORS = (
    "miniprogram_required",
    "miniprogram_unknown",
    "unauthenticated",
    "validation_error",
    "rate_limited",
    "wechat_unavailable",
)
# bad_request: a malformed request (e.g. too many query parameters) on either method.
PUSH_ERRORS = ("miniprogram_unknown", "forbidden", "bad_request")
QRCODE_CACHE_CONTROL = f"private, max-age={services.QRCODE_CACHE_SECONDS}"


def _plain_text_answer(description: str, example: str) -> dict:
    """OpenAPI for a text/plain 200, which the API layer cannot infer from a schema."""
    content_type = {"text/plain": {"schema": {"type": "string", "example": example}}}
    return {"responses": {200: {"description": description, "content": content_type}}}


@router.post(
    "/content/check",
    auth=bearer,
    response={
        200: ContentCheckOut,
        **error_responses(
            *TOKEN_ERRORS, "invalid_json", "payload_too_large", "unsupported_media_type"
        ),
    },
)
def content_check(request: HttpRequest, payload: ContentCheckIn):
    """WeChat's msgSecCheck v2 (scene: comment) of a text by this user; 30 a minute per user."""
    return services.content_check_for_user(
        tenant=request_tenant(request), user_id=request.auth.user_id, text=payload.text
    )


@router.get(
    "/qrcode",
    auth=bearer,
    response=error_responses(*TOKEN_ERRORS),
    openapi_extra={
        "responses": {
            200: {
                "description": "the mini-program code",
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def qrcode_image(request: HttpRequest, query: Query[QrCodeQuery]):
    """A mini-program code (getUnlimited) opening `page` with `scene`; cached for a day."""
    image = services.qrcode_get(
        tenant=request_tenant(request),
        user_id=request.auth.user_id,
        scene=query.scene,
        page=query.page,
        env_version=query.env_version,
        width=query.width,
    )
    response = HttpResponse(image, content_type="image/jpeg")
    response["Cache-Control"] = QRCODE_CACHE_CONTROL
    return response


@router.get(
    "/wechat/push/{appid}",
    response=error_responses(*PUSH_ERRORS),
    openapi_extra=_plain_text_answer("echostr, unchanged", "4913385117396483207"),
)
def push_verify(request: HttpRequest, appid: str, query: Query[PushVerifyQuery]):
    """WeChat's check of the message push URL: echostr back if the signature matches."""
    echostr = services.push_url_verify(
        appid=appid,
        signature=query.signature,
        timestamp=query.timestamp,
        nonce=query.nonce,
        echostr=query.echostr,
    )
    return HttpResponse(echostr, content_type="text/plain; charset=utf-8")


@router.post(
    "/wechat/push/{appid}",
    response=error_responses(*PUSH_ERRORS, "decrypt_failed", "payload_too_large"),
    openapi_extra=_plain_text_answer("received (or a repeat, ignored)", "success"),
)
def push_receive(request: HttpRequest, appid: str, query: Query[PushMessageQuery]):
    """A pushed message or event, XML or JSON, plain or safe mode; a job handles it."""
    services.push_message_receive(
        appid=appid,
        signature=query.signature,
        timestamp=query.timestamp,
        nonce=query.nonce,
        encrypt_type=query.encrypt_type,
        msg_signature=query.msg_signature,
        body=request.body,
    )
    return HttpResponse("success", content_type="text/plain; charset=utf-8")
