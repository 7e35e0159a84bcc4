"""One exception per family of WeChat error codes (docs/wechat.md lists what each means)."""


class WeChatError(Exception):
    """WeChat answered with a non-zero errcode, or could not be reached."""

    def __init__(self, errcode: int, errmsg: str, *, path: str = ""):
        super().__init__(f"{path}: {errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


class WeChatUnavailable(WeChatError):
    """-1 (busy), 45011 (minute quota) or network failures, still failing after retries."""


class WeChatCodeInvalid(WeChatError):
    """40029 invalid code, 40163 code already used: the user must call wx.login again."""


class WeChatUserBlocked(WeChatError):
    """40226: WeChat flags the user as high-risk."""


class WeChatTokenInvalid(WeChatError):
    """40001 invalid or not latest, 42001 expired, 41001 missing access_token."""


class WeChatCredentialsRejected(WeChatError):
    """40013 appid, 40125 secret, 40164 IP whitelist, 40243 frozen, 41002: our configuration."""


class WeChatQuotaExceeded(WeChatError):
    """45009: the daily quota of this API is spent."""


class WeChatSubscriptionRefused(WeChatError):
    """43101: the user refused, or the one-time subscription is used up."""


class WeChatInvalidArgument(WeChatError):
    """47001/47003/40003/40169/41030 and friends: the request itself is wrong."""


class WeChatUnauthorized(WeChatError):
    """48001: this mini-program may not call the API."""


ERRCODE_CLASSES: dict[int, type[WeChatError]] = {
    -1: WeChatUnavailable,
    45011: WeChatUnavailable,
    40029: WeChatCodeInvalid,
    40163: WeChatCodeInvalid,
    40226: WeChatUserBlocked,
    40001: WeChatTokenInvalid,
    42001: WeChatTokenInvalid,
    41001: WeChatTokenInvalid,
    40013: WeChatCredentialsRejected,
    40125: WeChatCredentialsRejected,
    40164: WeChatCredentialsRejected,
    40243: WeChatCredentialsRejected,
    41002: WeChatCredentialsRejected,
    45009: WeChatQuotaExceeded,
    43101: WeChatSubscriptionRefused,
    40003: WeChatInvalidArgument,
    40169: WeChatInvalidArgument,
    41030: WeChatInvalidArgument,
    47001: WeChatInvalidArgument,
    47003: WeChatInvalidArgument,
    48001: WeChatUnauthorized,
    87009: WeChatInvalidArgument,
}

# Worth another try after a pause: the platform is busy, not refusing us.
RETRYABLE_ERRCODES = frozenset({-1, 45011})
NETWORK_ERRCODE = -2  # our own marker: no answer at all (timeout, refused connection)


def error_for(errcode: int, errmsg: str, *, path: str) -> WeChatError:
    return ERRCODE_CLASSES.get(errcode, WeChatError)(errcode, errmsg, path=path)
