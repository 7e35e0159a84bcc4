"""What a handler gets (Request) and gives back (Reply, or Hold for a simulated timeout)."""

import json
from dataclasses import dataclass

from .errors import ControlError, WeChatError, errmsg

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes

    def wechat_json(self) -> dict:
        """The body of a WeChat POST; the real server answers 47001 to anything but an object."""
        try:
            data = json.loads(self.body or b"null")
        except ValueError:
            raise WeChatError(47001) from None
        if not isinstance(data, dict):
            raise WeChatError(47001)
        return data

    def control_json(self) -> dict:
        """The body of a /__fake__ POST; an empty body counts as {}."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ControlError("body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ControlError("body must be a JSON object")
        return data


@dataclass
class Reply:
    body: bytes
    content_type: str = JSON_CONTENT_TYPE
    status: int = 200


@dataclass
class Hold:
    """Answer nothing for `seconds`, then close the connection."""

    seconds: float


def json_reply(data: dict, status: int = 200) -> Reply:
    return Reply(json.dumps(data, ensure_ascii=False).encode(), status=status)


def not_found() -> Reply:
    return json_reply({"errcode": 404, "errmsg": errmsg(404)}, status=404)
