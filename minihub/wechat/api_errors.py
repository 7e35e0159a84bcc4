"""How WeChat's failures reach a mini-program client: the error envelope."""

import logging

from minihub.core.errors import error_response
from minihub.integrations.wechat.errors import (
    WeChatCodeInvalid,
    WeChatError,
    WeChatUnavailable,
    WeChatUserBlocked,
)

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "5"


def on_wechat_error(request, exc: WeChatError):
    if isinstance(exc, WeChatCodeInvalid):
        return error_response(
            "wechat_code_invalid",
            "The login code is invalid, used or expired: call wx.login again.",
        )
    if isinstance(exc, WeChatUserBlocked):
        return error_response("wechat_user_blocked", "WeChat refuses this user (high risk).")
    level = logging.WARNING if isinstance(exc, WeChatUnavailable) else logging.ERROR
    # errmsg carries WeChat's rid, which WeChat support asks for.
    logger.log(level, "WeChat call failed: %s %s %s", exc.path, exc.errcode, exc.errmsg)
    return error_response(
        "wechat_unavailable",
        "WeChat is unavailable; try again shortly.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )
