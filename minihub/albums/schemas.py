import base64
import binascii
from typing import Annotated

from ninja import Schema
from pydantic import BeforeValidator, Field, WithJsonSchema

from minihub.albums.selectors import AlbumPage

PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100
CURSOR_PREFIX = "v1:"
CURSOR_MAX_LENGTH = 32
# Ids are BIGINT: a cursor past this was not made by us.
CURSOR_ID_MAX = 2**63 - 1


def cursor_encode(before: int) -> str:
    """An opaque position: clients pass it back, never build it."""
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{before}".encode()).decode().rstrip("=")


def _cursor_number(cursor: object) -> int | None:
    if not isinstance(cursor, str) or len(cursor) > CURSOR_MAX_LENGTH:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    number = text.removeprefix(CURSOR_PREFIX)
    return int(number) if text.startswith(CURSOR_PREFIX) and number.isdigit() else None


def cursor_decode(cursor: object) -> int | None:
    """The id a cursor stands for; ValueError (a 422) for anything we did not issue.

    An empty cursor (`?cursor=`) is the first page, as omitting it is.
    """
    if cursor is None or cursor == "":
        return None
    number = _cursor_number(cursor)
    if number is None or not 0 < number <= CURSOR_ID_MAX:
        raise ValueError("cursor is not one this API issued")
    return number


# Decoded to the id it stands for; documented as what clients see: a string.
Cursor = Annotated[int | None, BeforeValidator(cursor_decode), WithJsonSchema({"type": "string"})]


class PageIn(Schema):
    cursor: Cursor = Field(
        default=None, description="next_cursor of the previous page; omit for the first page"
    )
    limit: int = Field(default=PAGE_LIMIT_DEFAULT, ge=1, le=PAGE_LIMIT_MAX)


class AlbumOut(Schema):
    id: int
    title: str
    artist: str
    cover_url: str
    tracks: int = Field(description="number of tracks")
    plays: int | None = Field(description="null while the play counter (Redis) is unreachable")
    favorited: bool


class AlbumPageOut(Schema):
    items: list[AlbumOut]
    next_cursor: str | None

    @staticmethod
    def resolve_next_cursor(page: AlbumPage) -> str | None:
        return None if page.next_before is None else cursor_encode(page.next_before)


class PlaysOut(Schema):
    plays: int
