"""Mini-program codes (getUnlimited), cached in Redis so that a repeat costs no WeChat call."""

import hashlib
import json

from minihub.core.errors import ApiError
from minihub.core.redis import get_redis
from minihub.core.throttle import rate_limit
from minihub.tenants.selectors import TenantInfo
from minihub.wechat.calls import with_access_token
from minihub.wechat.client import wechat_client
from minihub.wechat.errors import NETWORK_ERRCODE, WeChatInvalidArgument, WeChatUnavailable

WXACODE_PATH = "/wxa/getwxacodeunlimit"
CACHE_KEY = "wechat:wxacode:{appid}:{digest}"
CACHE_SECONDS = 24 * 3600
CODES_PER_USER_PER_MINUTE = 20
# The query parameter a refusal of WeChat's is about (40169 invalid scene, 41030 invalid page).
FIELD_OF_ERRCODE = {40169: "scene", 41030: "page"}


def qrcode_get(
    *, tenant: TenantInfo, user_id: int, scene: str, page: str | None, env_version: str, width: int
) -> bytes:
    """The JPEG of a mini-program code for these parameters, from the cache or from WeChat."""
    rate_limit(scope="qrcode", key=f"{tenant.id}:{user_id}", limit=CODES_PER_USER_PER_MINUTE)
    request = {
        "scene": scene,
        "env_version": env_version,
        "width": width,
        # Pages of trial and develop versions need not exist in the released version.
        "check_path": env_version == "release",
    }
    if page:
        request["page"] = page
    key = _cache_key(tenant.appid, request)
    cached = get_redis().get(key)
    if cached is not None:
        return cached
    image = _wxacode_fetch(tenant.appid, request)
    get_redis().set(key, image, ex=CACHE_SECONDS)
    return image


def _cache_key(appid: str, request: dict) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return CACHE_KEY.format(appid=appid, digest=hashlib.sha256(canonical.encode()).hexdigest())


def _wxacode_fetch(appid: str, request: dict) -> bytes:
    try:
        answer = with_access_token(
            appid,
            lambda token: wechat_client().call_with_token(
                "POST", WXACODE_PATH, access_token=token, json=request
            ),
        )
    except WeChatInvalidArgument as exc:
        field = FIELD_OF_ERRCODE.get(exc.errcode)
        loc = ["query", field] if field else ["query"]
        message = f"WeChat refused these parameters (errcode {exc.errcode})."
        raise ApiError("validation_error", message, fields=[{"loc": loc, "msg": message}]) from exc
    if not isinstance(answer, bytes) or not answer:
        raise WeChatUnavailable(NETWORK_ERRCODE, "answer is not an image", path=WXACODE_PATH)
    return answer
