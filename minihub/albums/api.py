"""GET /albums, /albums/{id}; POST /albums/{id}/plays; PUT, DELETE /albums/{id}/favorite;
GET /me/favorites."""

from dataclasses import asdict

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from minihub.accounts.auth import bearer, optional_identity
from minihub.albums import selectors, services
from minihub.albums.schemas import AlbumOut, AlbumPageOut, PageIn, PlaysOut
from minihub.core.renderers import json_response
from minihub.core.schemas import error_responses
from minihub.tenants.request import request_tenant

router = Router(tags=["albums"])

READ_ERRORS = (
    "miniprogram_required",
    "miniprogram_unknown",
    "unauthenticated",
    "validation_error",
    "service_unavailable",
)
WRITE_ERRORS = (*READ_ERRORS, "not_found", "payload_too_large")


def _user_id(request: HttpRequest) -> int | None:
    identity = optional_identity(request)
    return identity.user_id if identity else None


@router.get("/albums", auth=None, response={200: AlbumPageOut, **error_responses(*READ_ERRORS)})
def list_albums(request: HttpRequest, page: Query[PageIn]):
    """This mini-program's albums, newest first; pass `next_cursor` back as `cursor`.

    A bearer token is optional: with one, `favorited` is that user's.
    """
    tenant = request_tenant(request)
    return selectors.album_page(
        mini_program_id=tenant.id,
        user_id=_user_id(request),
        before=page.cursor,
        limit=page.limit,
    )


@router.get(
    "/albums/{album_id}",
    auth=None,
    response={200: AlbumOut, **error_responses(*READ_ERRORS, "not_found")},
)
def get_album(request: HttpRequest, album_id: int):
    """One album: one database row plus its play count from Redis (the "DB + Redis"
    benchmark). `plays` is null while Redis is unreachable."""
    tenant = request_tenant(request)
    card = selectors.album_detail(
        album_id=album_id, mini_program_id=tenant.id, user_id=_user_id(request)
    )
    return json_response(asdict(card))


@router.post(
    "/albums/{album_id}/plays",
    auth=None,
    response={202: PlaysOut, **error_responses(*WRITE_ERRORS)},
)
def play_album(request: HttpRequest, album_id: int):
    """Count one play: kept in Redis, written to the database every minute; the new total."""
    tenant = request_tenant(request)
    return Status(202, {"plays": services.album_play(album_id=album_id, mini_program_id=tenant.id)})


@router.put(
    "/albums/{album_id}/favorite",
    auth=bearer,
    response={204: None, **error_responses(*WRITE_ERRORS)},
)
def favorite_album(request: HttpRequest, album_id: int):
    """Add to the user's favorites; idempotent."""
    services.album_favorite(
        user_id=request.auth.user_id,
        mini_program_id=request.auth.mini_program_id,
        album_id=album_id,
    )
    return HttpResponse(status=204)


@router.delete(
    "/albums/{album_id}/favorite",
    auth=bearer,
    response={204: None, **error_responses(*WRITE_ERRORS)},
)
def unfavorite_album(request: HttpRequest, album_id: int):
    """Remove from the user's favorites; idempotent."""
    services.album_unfavorite(
        user_id=request.auth.user_id,
        mini_program_id=request.auth.mini_program_id,
        album_id=album_id,
    )
    return HttpResponse(status=204)


@router.get(
    "/me/favorites",
    auth=bearer,
    response={200: AlbumPageOut, **error_responses(*READ_ERRORS)},
)
def my_favorites(request: HttpRequest, page: Query[PageIn]):
    """The user's favorite albums, most recently added first."""
    return selectors.favorite_album_page(
        mini_program_id=request.auth.mini_program_id,
        user_id=request.auth.user_id,
        before=page.cursor,
        limit=page.limit,
    )
