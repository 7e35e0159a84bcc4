"""Content checks with msgSecCheck v2: for POST /content/check and for nickname changes."""

from dataclasses import dataclass

from minihub.accounts.selectors import user_get
from minihub.core.errors import ApiError
from minihub.core.throttle import rate_limit
from minihub.tenants.selectors import TenantInfo
from minihub.wechat.calls import with_access_token
from minihub.wechat.client import wechat_client
from minihub.wechat.errors import NETWORK_ERRCODE, WeChatUnavailable

MSG_SEC_CHECK_PATH = "/wxa/msg_sec_check"
CONTENT_MAX_CHARS = 2500
# msgSecCheck's scenes: 1 profile, 2 comment, 3 forum, 4 social log.
SCENE_PROFILE = 1
SCENE_COMMENT = 2
SUGGESTIONS = ("pass", "review", "risky")
CHECKS_PER_USER_PER_MINUTE = 30


@dataclass(frozen=True)
class CheckResult:
    suggest: str  # "pass", "review" or "risky"
    label: int  # 100 normal; otherwise the category WeChat found (see its docs)


def content_check_text(
    *, tenant: TenantInfo, openid: str, text: str, scene: int = SCENE_COMMENT
) -> CheckResult:
    """WeChat's verdict on `text` written by the user `openid` of this mini-program."""
    answer = with_access_token(
        tenant.appid,
        lambda token: wechat_client().call_with_token(
            "POST",
            MSG_SEC_CHECK_PATH,
            access_token=token,
            json={"version": 2, "openid": openid, "scene": scene, "content": text},
        ),
    )
    return _verdict(answer)


def _verdict(answer: dict | bytes) -> CheckResult:
    """errcode 0 only says the check ran; the verdict is result.suggest."""
    result = answer.get("result") if isinstance(answer, dict) else None
    suggest = result.get("suggest") if isinstance(result, dict) else None
    label = result.get("label") if isinstance(result, dict) else None
    if isinstance(label, str) and label.isascii() and label.isdigit():
        label = int(label)
    if suggest not in SUGGESTIONS or not isinstance(label, int) or isinstance(label, bool):
        # No verdict is no answer: never guess "pass".
        raise WeChatUnavailable(
            NETWORK_ERRCODE, "msg_sec_check answered without a verdict", path=MSG_SEC_CHECK_PATH
        )
    return CheckResult(suggest=suggest, label=label)


def content_check_for_user(*, tenant: TenantInfo, user_id: int, text: str) -> CheckResult:
    """POST /content/check: throttled per user, since every check spends WeChat quota."""
    rate_limit(
        scope="content-check", key=f"{tenant.id}:{user_id}", limit=CHECKS_PER_USER_PER_MINUTE
    )
    user = user_get(user_id=user_id, mini_program_id=tenant.id)
    return content_check_text(tenant=tenant, openid=user.openid, text=text)


def nickname_check(*, tenant: TenantInfo, openid: str, nickname: str) -> None:
    """Raise content_risky (422) when WeChat calls the nickname risky; "review" passes.

    Clearing a nickname needs no check. WeChat being unreachable is a 503:
    with checks switched on, an unchecked nickname is not stored.
    """
    if not nickname.strip():
        return
    result = content_check_text(tenant=tenant, openid=openid, text=nickname, scene=SCENE_PROFILE)
    if result.suggest == "risky":
        raise ApiError("content_risky", "WeChat's content check refuses this nickname.")
