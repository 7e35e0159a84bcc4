"""GET /albums, /albums/{id}; PUT, DELETE /albums/{id}/favorite; GET /me/favorites; seed_albums."""

import pytest
from django.db import connection

from minihub.albums.models import Album, Favorite, Track
from minihub.albums.schemas import cursor_encode
from tests.album_factory import TrackSpec, album_create
from tests.conftest import APPID_A, APPID_B
from tests.helpers import app_headers, log_in, manage
from tests.helpers import test_process_env as child_env

TITLE = "🎵 夜曲 3 👨‍👩‍👧"
ALBUM_KEYS = {"id", "title", "artist", "cover_url", "tracks", "plays", "favorited"}


def make_album(program, title="专辑", tracks=3) -> Album:
    return album_create(
        mini_program_id=program.id,
        title=title,
        artist="周杰伦",
        cover_url="https://example.com/c.jpg",
        tracks=[TrackSpec(title=f"第{n}首 🎶", duration_seconds=200 + n) for n in range(tracks)],
    )


@pytest.fixture
def album_a(tenants):
    return make_album(tenants.a, title=TITLE, tracks=5)


@pytest.fixture
def album_b(tenants):
    return make_album(tenants.b, title="B's album")


@pytest.fixture
def token_a(client, wechat, tenants):
    return log_in(client, wechat, APPID_A, "openid-a")["token"]


def get(client, path, appid=APPID_A, token=None, **query):
    return client.get("/api/v2" + path, query, **app_headers(appid, token))


def send(client, method, path, appid=APPID_A, token=None, **kwargs):
    return getattr(client, method)("/api/v2" + path, **app_headers(appid, token), **kwargs)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response["X-Request-ID"]
    return error


# --- one album ---------------------------------------------------------------------


def test_get_album_answers_the_documented_shape(client, album_a):
    response = get(client, f"/albums/{album_a.id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ALBUM_KEYS
    assert body == {
        "id": album_a.id,
        "title": TITLE,
        "artist": "周杰伦",
        "cover_url": "https://example.com/c.jpg",
        "tracks": 5,
        "plays": 0,
        "favorited": False,
    }
    assert body["title"].encode() == TITLE.encode()  # emoji and CJK kept exactly


def test_an_album_without_tracks_has_zero_tracks(client, tenants):
    album = make_album(tenants.a, tracks=0)
    assert get(client, f"/albums/{album.id}").json()["tracks"] == 0


def test_get_album_anonymously_costs_one_database_query(client, album_a, django_assert_num_queries):
    get(client, f"/albums/{album_a.id}")  # the mini-program lookup is cached from here on
    with django_assert_num_queries(1) as captured:
        response = get(client, f"/albums/{album_a.id}")
    assert response.status_code == 200
    assert "albums_album" in captured.captured_queries[0]["sql"]


def test_get_album_with_a_token_adds_only_the_favorite_query(
    client, album_a, token_a, django_assert_num_queries
):
    get(client, f"/albums/{album_a.id}", token=token_a)  # warms the tenant and token caches
    with django_assert_num_queries(2):
        response = get(client, f"/albums/{album_a.id}", token=token_a)
    assert response.json()["favorited"] is False


def test_unknown_and_other_mini_programs_albums_are_the_same_404(client, album_a, album_b):
    unknown = Album.objects.order_by("-id").first().id + 1000
    answers = [get(client, f"/albums/{album_id}") for album_id in (unknown, album_b.id)]
    errors = [assert_error(response, 404, "not_found") for response in answers]
    assert errors[0]["message"] == errors[1]["message"]
    assert set(errors[0]) == set(errors[1])
    # ...and B itself still sees its album.
    assert get(client, f"/albums/{album_b.id}", appid=APPID_B).status_code == 200


@pytest.mark.parametrize("album_id", ["0", "-1", "99999999999999999999999999"])
def test_impossible_album_ids_are_not_found(client, album_a, album_id):
    assert_error(get(client, f"/albums/{album_id}"), 404, "not_found")


@pytest.mark.parametrize("album_id", ["abc", "1.5", "1e3", "%F0%9F%8E%B5"])
def test_non_numeric_album_ids_are_422(client, album_a, album_id):
    error = assert_error(get(client, f"/albums/{album_id}"), 422, "validation_error")
    assert error["fields"][0]["loc"] == ["path", "album_id"]


def test_a_mini_program_is_required(client, album_a):
    response = client.get(f"/api/v2/albums/{album_a.id}")
    assert_error(response, 400, "miniprogram_required")
    assert_error(client.get("/api/v2/albums"), 400, "miniprogram_required")


def test_an_unknown_mini_program_is_404(client, album_a):
    response = get(client, f"/albums/{album_a.id}", appid="wx00000000000000ff")
    assert_error(response, 404, "miniprogram_unknown")


def test_the_wechat_referer_names_the_mini_program(client, album_a):
    referer = f"https://servicewechat.com/{APPID_A}/3/page-frame.html"
    response = client.get(f"/api/v2/albums/{album_a.id}", HTTP_REFERER=referer)
    assert response.status_code == 200
    assert response.json()["id"] == album_a.id


def test_a_bad_token_on_an_open_endpoint_is_401_not_anonymous(client, album_a):
    response = get(client, f"/albums/{album_a.id}", token="not-a-token")
    assert_error(response, 401, "unauthenticated")


def test_wrong_methods_are_405(client, album_a):
    assert_error(send(client, "delete", "/albums"), 405, "method_not_allowed")
    assert_error(send(client, "get", f"/albums/{album_a.id}/plays"), 405, "method_not_allowed")


# --- the list -------------------------------------------------------------------------


def test_the_list_pages_newest_first_with_an_opaque_cursor(client, tenants):
    ids = [make_album(tenants.a, title=f"A {n}", tracks=n % 4).id for n in range(25)]
    make_album(tenants.b, title="B only")
    first = get(client, "/albums").json()
    assert [item["id"] for item in first["items"]] == sorted(ids, reverse=True)[:20]
    assert set(first["items"][0]) == ALBUM_KEYS
    cursor = first["next_cursor"]
    assert cursor and not cursor.isdigit()
    second = get(client, "/albums", cursor=cursor).json()
    assert [item["id"] for item in second["items"]] == sorted(ids, reverse=True)[20:]
    assert second["next_cursor"] is None


def test_small_pages_cover_every_album_exactly_once(client, tenants):
    ids = {make_album(tenants.a, title=f"A {n}").id for n in range(10)}
    seen, cursor = [], ""
    for _ in range(10):
        page = get(client, "/albums", cursor=cursor, limit=3).json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(ids)


def test_the_list_shows_only_this_mini_programs_albums(client, album_a, album_b):
    assert [i["id"] for i in get(client, "/albums").json()["items"]] == [album_a.id]
    assert [i["id"] for i in get(client, "/albums", appid=APPID_B).json()["items"]] == [album_b.id]


def test_a_cursor_at_another_mini_programs_id_still_shows_only_ours(client, tenants):
    mine = make_album(tenants.a).id
    theirs = make_album(tenants.b).id
    page = get(client, "/albums", cursor=cursor_encode(theirs + 1)).json()
    assert [item["id"] for item in page["items"]] == [mine]


def test_an_empty_list(client, tenants):
    assert get(client, "/albums").json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "101", "-5", "x", "1.5", ""])
def test_bad_limits_are_422(client, album_a, limit):
    error = assert_error(get(client, "/albums", limit=limit), 422, "validation_error")
    assert error["fields"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "12",
        "djE6",  # "v1:" and no id
        "djE6LTE",  # "v1:-1"
        "djE6MA",  # "v1:0"
        "djE6YWJj",  # "v1:abc"
        "djI6MTI",  # "v2:12"
        "x" * 300,
        "🎵",
    ],
)
def test_garbage_cursors_are_422(client, album_a, cursor):
    error = assert_error(get(client, "/albums", cursor=cursor), 422, "validation_error")
    assert error["fields"][0]["loc"] == ["query", "cursor"]


def test_limit_bounds_are_accepted(client, tenants):
    for n in range(3):
        make_album(tenants.a, title=f"A {n}")
    assert len(get(client, "/albums", limit=1).json()["items"]) == 1
    assert len(get(client, "/albums", limit=100).json()["items"]) == 3


# --- favorites ---------------------------------------------------------------------------


def test_favorite_put_and_delete_are_idempotent(client, album_a, token_a):
    path = f"/albums/{album_a.id}/favorite"
    for _ in range(2):
        response = send(client, "put", path, token=token_a)
        assert response.status_code == 204, response.content
        assert response.content == b""
    assert Favorite.objects.count() == 1
    assert get(client, f"/albums/{album_a.id}", token=token_a).json()["favorited"] is True
    assert get(client, f"/albums/{album_a.id}").json()["favorited"] is False  # anonymous
    for _ in range(2):
        assert send(client, "delete", path, token=token_a).status_code == 204
    assert Favorite.objects.count() == 0
    assert get(client, f"/albums/{album_a.id}", token=token_a).json()["favorited"] is False


def test_favorited_is_per_user(client, wechat, album_a, token_a):
    other = log_in(client, wechat, APPID_A, "openid-other")["token"]
    send(client, "put", f"/albums/{album_a.id}/favorite", token=token_a)
    assert get(client, f"/albums/{album_a.id}", token=other).json()["favorited"] is False
    listed = get(client, "/albums", token=token_a).json()["items"]
    assert [(i["id"], i["favorited"]) for i in listed] == [(album_a.id, True)]
    listed = get(client, "/albums", token=other).json()["items"]
    assert [(i["id"], i["favorited"]) for i in listed] == [(album_a.id, False)]


def test_favorite_needs_a_token(client, album_a):
    for method in ("put", "delete"):
        response = send(client, method, f"/albums/{album_a.id}/favorite")
        assert_error(response, 401, "unauthenticated")
    assert_error(get(client, "/me/favorites"), 401, "unauthenticated")
    assert Favorite.objects.count() == 0


def test_favorite_of_unknown_or_another_mini_programs_album_is_404(
    client, album_a, album_b, token_a
):
    unknown = album_b.id + 1000
    for method in ("put", "delete"):
        errors = [
            assert_error(
                send(client, method, f"/albums/{i}/favorite", token=token_a), 404, "not_found"
            )
            for i in (unknown, album_b.id)
        ]
        assert errors[0]["message"] == errors[1]["message"]
    assert Favorite.objects.count() == 0


def test_a_token_is_bound_to_its_mini_program(client, wechat, album_a, album_b, token_a):
    # A's token with B's header: unauthenticated, even on B's own album.
    response = send(client, "put", f"/albums/{album_b.id}/favorite", appid=APPID_B, token=token_a)
    assert_error(response, 401, "unauthenticated")
    assert_error(get(client, "/albums", appid=APPID_B, token=token_a), 401, "unauthenticated")
    assert Favorite.objects.count() == 0


def test_my_favorites_newest_first_and_paged(client, tenants, token_a):
    albums = [make_album(tenants.a, title=f"A {n}") for n in range(5)]
    make_album(tenants.a, title="not a favorite")
    order = [albums[3], albums[0], albums[4], albums[1]]
    for album in order:
        send(client, "put", f"/albums/{album.id}/favorite", token=token_a)
    first = get(client, "/me/favorites", token=token_a, limit=3).json()
    assert [i["id"] for i in first["items"]] == [a.id for a in reversed(order)][:3]
    assert all(i["favorited"] for i in first["items"])
    assert set(first["items"][0]) == ALBUM_KEYS
    second = get(client, "/me/favorites", token=token_a, limit=3, cursor=first["next_cursor"])
    assert [i["id"] for i in second.json()["items"]] == [order[0].id]
    assert second.json()["next_cursor"] is None


def test_my_favorites_are_mine_only(client, wechat, tenants, album_a, token_a):
    send(client, "put", f"/albums/{album_a.id}/favorite", token=token_a)
    other = log_in(client, wechat, APPID_A, "openid-other")["token"]
    token_b = log_in(client, wechat, APPID_B, "openid-a")["token"]  # same person, B
    assert get(client, "/me/favorites", token=other).json()["items"] == []
    assert get(client, "/me/favorites", appid=APPID_B, token=token_b).json()["items"] == []
    assert [i["id"] for i in get(client, "/me/favorites", token=token_a).json()["items"]] == [
        album_a.id
    ]


@pytest.mark.parametrize(("limit", "cursor"), [("0", None), ("x", None), ("20", "nope")])
def test_my_favorites_bad_query_is_422(client, album_a, token_a, limit, cursor):
    query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    assert_error(get(client, "/me/favorites", token=token_a, **query), 422, "validation_error")


# --- seed_albums ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_seed_albums_creates_albums_once_with_cjk_and_emoji(tenants):
    env = child_env()
    result = manage("seed_albums", "--appid", APPID_A, "--count", "1000", env=env)
    assert result.returncode == 0, result.stderr
    albums = Album.objects.filter(mini_program=tenants.a)
    assert albums.count() == 1000
    counts = {album.tracks.count() for album in albums.order_by("id")[:50]}
    assert min(counts) >= 3 and max(counts) <= 12
    assert Track.objects.filter(album__mini_program=tenants.a).count() >= 3000
    title = albums.order_by("id").first().title
    assert any("\u4e00" <= c <= "\u9fff" for c in title)  # CJK
    assert any(ord(c) > 0xFFFF for c in title)  # emoji, outside the BMP
    with connection.cursor() as cursor:
        cursor.execute("SELECT title FROM albums_album WHERE id = %s", [albums.first().id])
        assert cursor.fetchone()[0] == albums.first().title  # stored as utf8mb4, not mangled
    again = manage("seed_albums", "--appid", APPID_A, "--count", "1000", env=env)
    assert again.returncode == 0, again.stderr
    assert albums.count() == 1000
    assert not Album.objects.filter(mini_program=tenants.b).exists()


@pytest.mark.django_db(transaction=True)
def test_seed_albums_refuses_an_unknown_appid(tenants):
    result = manage("seed_albums", "--appid", "wx00000000000000ff", "--count", "3", env=child_env())
    assert result.returncode != 0
    assert "wx00000000000000ff" in result.stderr
    assert Album.objects.count() == 0


def test_a_full_last_page_has_no_next_cursor(client, tenants):
    for n in range(6):
        make_album(tenants.a, title=f"A {n}")
    first = get(client, "/albums", limit=3).json()
    second = get(client, "/albums", limit=3, cursor=first["next_cursor"]).json()
    assert len(second["items"]) == 3
    assert second["next_cursor"] is None


# --- schema and admin ---------------------------------------------------------------------


def test_the_openapi_schema_documents_the_album_endpoints(client, tenants):
    schema = client.get("/api/v2/openapi.json").json()
    paths = schema["paths"]
    assert "200" in paths["/api/v2/albums/{album_id}"]["get"]["responses"]
    assert "404" in paths["/api/v2/albums/{album_id}"]["get"]["responses"]
    assert "202" in paths["/api/v2/albums/{album_id}/plays"]["post"]["responses"]
    assert "204" in paths["/api/v2/albums/{album_id}/favorite"]["put"]["responses"]
    assert "204" in paths["/api/v2/albums/{album_id}/favorite"]["delete"]["responses"]
    assert "200" in paths["/api/v2/me/favorites"]["get"]["responses"]
    cursor = next(p for p in paths["/api/v2/albums"]["get"]["parameters"] if p["name"] == "cursor")
    assert cursor["schema"]["type"] == "string"  # opaque to clients


@pytest.mark.django_db(databases=["default", "admin"])
def test_the_admin_edits_albums_with_their_tracks_and_only_lists_favorites(
    client, album_a, token_a
):
    from django.contrib.auth.models import User as StaffUser

    send(client, "put", f"/albums/{album_a.id}/favorite", token=token_a)
    staff = StaffUser.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    client.force_login(staff)
    assert client.get("/admin/albums/album/").status_code == 200
    page = client.get(f"/admin/albums/album/{album_a.id}/change/")
    assert page.status_code == 200
    assert "第0首 🎶" in page.content.decode()  # the track inline
    favorites = client.get("/admin/albums/favorite/")
    assert favorites.status_code == 200
    assert TITLE in favorites.content.decode()
    assert client.get("/admin/albums/favorite/add/").status_code == 403
    favorite = Favorite.objects.get()
    assert client.post(f"/admin/albums/favorite/{favorite.id}/delete/").status_code == 403
    assert Favorite.objects.count() == 1


# --- every endpoint ----------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/albums"),
    ("get", "/albums/{id}"),
    ("post", "/albums/{id}/plays"),
    ("put", "/albums/{id}/favorite"),
    ("delete", "/albums/{id}/favorite"),
    ("get", "/me/favorites"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_the_mini_program(client, album_a, token_a, method, path):
    response = getattr(client, method)(
        "/api/v2" + path.format(id=album_a.id), HTTP_AUTHORIZATION=f"Bearer {token_a}"
    )
    assert_error(response, 400, "miniprogram_required")
    assert Favorite.objects.count() == 0


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_an_oversized_body(
    client, album_a, token_a, settings, redis_db, method, path
):
    body = b"[" + b"1," * (settings.API_MAX_BODY_BYTES // 2) + b"1]"
    response = client.generic(
        method.upper(),
        "/api/v2" + path.format(id=album_a.id),
        body,
        content_type="application/json",
        **app_headers(APPID_A, token_a),
    )
    assert_error(response, 413, "payload_too_large")
    assert Favorite.objects.count() == 0
    assert redis_db.keys("albums:plays:*") == []
