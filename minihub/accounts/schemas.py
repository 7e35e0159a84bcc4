import unicodedata
from datetime import datetime
from urllib.parse import urlsplit

from ninja import Schema
from pydantic import ConfigDict, Field, StrictStr, field_validator

from minihub.accounts.models import User

NICKNAME_MAX = 64
URL_MAX = 512


class UserOut(Schema):
    id: int
    openid: str
    unionid: str | None
    nickname: str
    avatar_url: str
    phone: str | None
    created_at: datetime

    @staticmethod
    def resolve_unionid(user: User) -> str | None:
        return user.unionid or None

    @staticmethod
    def resolve_phone(user: User) -> str | None:
        return user.phone or None


class LoginIn(Schema):
    code: StrictStr = Field(min_length=1, max_length=128, description="the code of wx.login()")


class LoginOut(Schema):
    token: str
    expires_in: int
    created: bool
    user: UserOut


class ProfileIn(Schema):
    """Only these two fields can be changed; anything else is refused."""

    model_config = ConfigDict(extra="forbid")

    nickname: StrictStr | None = Field(default=None, max_length=NICKNAME_MAX)
    avatar_url: StrictStr | None = Field(default=None, max_length=URL_MAX)

    @field_validator("nickname")
    @classmethod
    def no_control_characters(cls, value: str | None) -> str | None:
        if value is not None and any(unicodedata.category(c) == "Cc" for c in value):
            raise ValueError("nickname must not contain control characters")
        return value

    @field_validator("avatar_url")
    @classmethod
    def http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return value
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or any(c.isspace() for c in value)
        ):
            raise ValueError("avatar_url must be an http(s) URL")
        return value


class PhoneIn(Schema):
    code: StrictStr = Field(min_length=1, max_length=128, description="the code of getPhoneNumber")


class UserInfoIn(Schema):
    encrypted_data: StrictStr = Field(min_length=1, max_length=16 * 1024)
    iv: StrictStr = Field(min_length=1, max_length=64)
    raw_data: StrictStr | None = Field(default=None, max_length=16 * 1024)
    signature: StrictStr | None = Field(default=None, max_length=128)
