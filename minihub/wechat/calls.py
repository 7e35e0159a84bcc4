"""Token-using calls with the token handled: fetched, and replaced once if WeChat rejects it."""

from collections.abc import Callable
from typing import TypeVar

from minihub.wechat.errors import WeChatTokenInvalid
from minihub.wechat.tokens import access_token_get, access_token_replace

T = TypeVar("T")


def with_access_token(appid: str, call: Callable[[str], T]) -> T:
    token = access_token_get(appid=appid)
    try:
        return call(token)
    except WeChatTokenInvalid:
        return call(access_token_replace(appid=appid, failing_token=token))
