import re
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictStr, field_validator

from minihub.wechat.services import CONTENT_MAX_CHARS

# What getUnlimited accepts in `scene` (WeChat's docs).
SCENE_PATTERN = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
PAGE_PATTERN = re.compile(r"[0-9A-Za-z_\-.][0-9A-Za-z_\-./]{0,127}")


class ContentCheckIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(min_length=1, max_length=CONTENT_MAX_CHARS)

    @field_validator("text")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class ContentCheckOut(Schema):
    suggest: Literal["pass", "review", "risky"]
    label: int


class QrCodeQuery(Schema):
    scene: str = Field(
        min_length=1,
        max_length=32,
        description="1-32 characters of 0-9 A-Z a-z !#$&'()*+,/:;=?@-._~ "
        "(read it back from the page's options.scene)",
    )
    page: str | None = Field(
        default=None,
        max_length=128,
        description='e.g. "pages/index/index", without a leading "/"; default: the home page',
    )
    env_version: Literal["release", "trial", "develop"] = "release"
    width: int = Field(default=430, ge=280, le=1280, description="pixels")

    @field_validator("scene")
    @classmethod
    def scene_characters(cls, value: str) -> str:
        if not SCENE_PATTERN.fullmatch(value):
            raise ValueError("scene may only contain 0-9 A-Z a-z !#$&'()*+,/:;=?@-._~")
        return value

    @field_validator("page")
    @classmethod
    def page_path(cls, value: str | None) -> str | None:
        if value and not PAGE_PATTERN.fullmatch(value):
            raise ValueError('page is a path such as "pages/index/index", without a leading "/"')
        return value or None


class PushSignedQuery(Schema):
    """WeChat's query parameters; missing ones fail the signature check (403), not validation."""

    signature: str = ""
    timestamp: str = ""
    nonce: str = ""


class PushVerifyQuery(PushSignedQuery):
    echostr: str = ""


class PushMessageQuery(PushSignedQuery):
    encrypt_type: str = Field(default="", description='"aes" in safe mode')
    msg_signature: str = Field(default="", description="safe mode: signature over Encrypt")
