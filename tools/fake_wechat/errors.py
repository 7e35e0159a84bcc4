"""The two ways the fake says no: WeChat-level errors and malformed control requests."""

import secrets

# The errmsg texts the real server sends (up to the " rid: ..." suffix).
ERRMSGS = {
    -1: "system error",
    404: "not found",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    40164: "invalid ip, not in whitelist",
    40169: "invalid length for scene, or the data is not json string",
    40226: "high risk user",
    40243: "AppSecret has been frozen",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41030: "invalid page",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    87009: "invalid signature",
}


def new_rid() -> str:
    """A request id shaped like the real one: three groups of 8 hex digits."""
    return "-".join(secrets.token_hex(4) for _ in range(3))


def errmsg(errcode: int, text: str | None = None) -> str:
    """The errmsg of an error answer; the real server ends every one with a rid."""
    return f"{text or ERRMSGS.get(errcode, 'fake error')} rid: {new_rid()}"


class WeChatError(Exception):
    """A WeChat-level failure: HTTP 200 with {"errcode", "errmsg"}, like the real server."""

    def __init__(self, errcode: int, text: str | None = None):
        super().__init__(errcode, text)
        self.errcode = errcode
        self.text = text

    def body(self) -> dict:
        return {"errcode": self.errcode, "errmsg": errmsg(self.errcode, self.text)}


class ControlError(Exception):
    """A malformed /__fake__ request: answered with HTTP 400 and {"error": message}."""
