"""Token-using calls with the token handled: fetched, and renewed once if WeChat rejects it."""

from collections.abc import Callable
from typing import TypeVar

from minihub.wechat.errors import WeChatTokenInvalid
from minihub.wechat.tokens import access_token_discard, access_token_get

T = TypeVar("T")


def with_access_token(appid: str, call: Callable[[str], T]) -> T:
    token = access_token_get(appid=appid)
    try:
        return call(token)
    except WeChatTokenInvalid:
        access_token_discard(appid=appid, failing_token=token)
        return call(access_token_get(appid=appid))
