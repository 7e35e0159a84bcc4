"""Operators revoke tokens: block a user, revoke a user's tokens, delete a user."""

import pytest
from django.contrib.auth.models import User as StaffUser
from django.test import Client

from minihub.accounts.models import ApiToken, User
from minihub.accounts.services import user_block
from minihub.accounts.tokens import token_authenticate, user_tokens_revoke
from tests.conftest import APPID_A
from tests.helpers import app_headers, json_post, log_in

ADMIN_USERS = "/admin/accounts/user/"
BOTH = ["default", "admin"]


def get(client, path, token, appid=APPID_A):
    return client.get("/api/v2" + path, **app_headers(appid, token))


@pytest.fixture
def two_sessions(client, tenants, wechat):
    """The same user logged in twice (two phones), and another user."""
    first = log_in(client, wechat, APPID_A, "openid-one")
    second = log_in(client, wechat, APPID_A, "openid-one")
    other = log_in(client, wechat, APPID_A, "openid-other")
    return {
        "user_id": first["user"]["id"],
        "tokens": [first["token"], second["token"]],
        "other": other["token"],
    }


@pytest.fixture
def staff_client(tenants):
    staff = StaffUser.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    client = Client()
    client.force_login(staff)
    return client


def assert_dead(client, token):
    response = get(client, "/me/favorites", token)  # an endpoint that loads no user row
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "unauthenticated"


def test_revoking_a_users_tokens_stops_every_one_at_once(client, two_sessions):
    assert user_tokens_revoke(user_id=two_sessions["user_id"]) == 2
    for token in two_sessions["tokens"]:
        assert_dead(client, token)
    assert get(client, "/me", two_sessions["other"]).status_code == 200
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 2


def test_revoked_tokens_stay_dead_when_redis_forgets_its_copies(client, two_sessions, redis_db):
    user_tokens_revoke(user_id=two_sessions["user_id"])
    for key in redis_db.scan_iter("auth:token:*"):
        redis_db.delete(key)
    for token in two_sessions["tokens"]:
        assert_dead(client, token)


@pytest.mark.django_db(databases=BOTH)
def test_the_block_action_revokes_tokens_and_refuses_logins(
    client, staff_client, two_sessions, wechat
):
    form = {"action": "block_users", "_selected_action": [two_sessions["user_id"]]}
    response = staff_client.post(ADMIN_USERS, form, follow=True)
    assert "2 token(s) revoked" in response.content.decode()
    for token in two_sessions["tokens"]:
        assert_dead(client, token)
    code = wechat.login_code(APPID_A, "openid-one")
    refused = json_post(client, "/auth/login", {"code": code}, **app_headers(APPID_A))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert ApiToken.objects.filter(user_id=two_sessions["user_id"]).count() == 2  # none issued

    staff_client.post(ADMIN_USERS, {**form, "action": "unblock_users"})
    assert log_in(client, wechat, APPID_A, "openid-one")["created"] is False


@pytest.mark.django_db(databases=BOTH)
def test_the_revoke_action_leaves_logins_open(client, staff_client, two_sessions, wechat):
    form = {"action": "revoke_tokens", "_selected_action": [two_sessions["user_id"]]}
    response = staff_client.post(ADMIN_USERS, form, follow=True)
    assert "2 token(s) revoked" in response.content.decode()
    for token in two_sessions["tokens"]:
        assert_dead(client, token)
    assert log_in(client, wechat, APPID_A, "openid-one")["token"]


@pytest.mark.django_db(databases=BOTH)
def test_deleting_a_user_in_the_admin_kills_its_tokens(client, staff_client, two_sessions):
    user_id = two_sessions["user_id"]
    program_id = User.objects.get(id=user_id).mini_program_id
    response = staff_client.post(f"{ADMIN_USERS}{user_id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(id=user_id).exists()
    for token in two_sessions["tokens"]:
        assert token_authenticate(token=token, mini_program_id=program_id) is None
        assert_dead(client, token)


def test_deleting_a_user_in_code_kills_its_tokens(client, two_sessions):
    User.objects.filter(id=two_sessions["user_id"]).delete()
    for token in two_sessions["tokens"]:
        assert_dead(client, token)


@pytest.mark.django_db(databases=BOTH)
def test_the_admin_shows_token_hash_prefixes_never_tokens(staff_client, two_sessions):
    page = staff_client.get(f"{ADMIN_USERS}{two_sessions['user_id']}/change/").content.decode()
    hashes = ApiToken.objects.filter(user_id=two_sessions["user_id"]).values_list(
        "key_hash", flat=True
    )
    for key_hash in hashes:
        assert f"{key_hash[:12]}…" in page
        assert key_hash not in page
    for token in two_sessions["tokens"]:
        assert token not in page


def test_blocking_an_unknown_user_revokes_nothing(tenants):
    assert user_block(user_id=987654) == 0
