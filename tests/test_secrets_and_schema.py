"""Secrets stay secret; the OpenAPI schema documents every endpoint with its errors."""

import logging

import pytest
from django.contrib.auth.models import User as StaffUser
from django.db import connection

from minihub.accounts.models import User
from tests.conftest import APPID_A, SECRET_A
from tests.helpers import app_headers, log_in, manage, test_process_env

SESSION_KEY = "c2Vzc2lvbi1rZXktMTIzNA=="  # base64 of 16 bytes


@pytest.mark.django_db(databases=["default", "admin"])
def test_secret_session_key_and_token_appear_in_no_response_log_or_admin_page(
    client, tenants, wechat, caplog
):
    caplog.set_level(logging.DEBUG)
    body = log_in(client, wechat, APPID_A, "o-secret", session_key=SESSION_KEY)
    token = body["token"]
    login_answer = str(body)  # the one place the token is meant to appear
    bodies = []
    for path in ("/me", "/no-such"):
        bodies.append(client.get("/api/v2" + path, **app_headers(APPID_A, token)).content.decode())
    wechat.fault("/sns/jscode2session", 40125, times=3)  # "wrong secret": logged as an error
    bodies.append(
        client.post(
            "/api/v2/auth/login",
            data={"code": wechat.login_code(APPID_A, "o2")},
            content_type="application/json",
            HTTP_X_MINI_PROGRAM=APPID_A,
        ).content.decode()
    )
    staff = StaffUser.objects.create_superuser("root", "r@example.com", "pw-0123456789")
    client.force_login(staff)
    user = User.objects.get(openid="o-secret")
    bodies.append(client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode())
    bodies.append(client.get("/admin/accounts/user/").content.decode())
    everything = "\n".join(bodies) + caplog.text
    assert "o-secret" in everything  # the capture did see the traffic
    for secret in (SECRET_A, SESSION_KEY, token):
        assert secret not in everything
    for secret in (SECRET_A, SESSION_KEY):
        assert secret not in login_answer


@pytest.mark.django_db
def test_the_session_key_is_only_ciphertext_in_the_database(client, tenants, wechat):
    log_in(client, wechat, APPID_A, "o1", session_key=SESSION_KEY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_key FROM accounts_user")
        (stored,) = cursor.fetchone()
    assert stored.startswith("fernet:")
    assert SESSION_KEY not in stored


@pytest.mark.django_db(transaction=True)
def test_logout_stops_the_token_in_another_process_too(client, tenants, wechat):
    token = log_in(client, wechat, APPID_A, "o1")["token"]
    env = test_process_env()
    check = (
        "from minihub.accounts.tokens import token_authenticate;"
        f"print(token_authenticate(token={token!r}, mini_program_id={tenants.a.id}) is not None)"
    )
    assert manage("shell", "--no-imports", "-c", check, env=env).stdout.strip() == "True"
    assert client.post("/api/v2/auth/logout", **app_headers(APPID_A, token)).status_code == 204
    assert manage("shell", "--no-imports", "-c", check, env=env).stdout.strip() == "False"


def test_openapi_documents_every_endpoint_with_its_errors(client):
    schema = client.get("/api/v2/openapi.json").json()
    paths = schema["paths"]
    expected = {
        ("/api/v2/auth/login", "post"): {"200", "400", "403", "422", "429", "503"},
        ("/api/v2/auth/logout", "post"): {"204", "401"},
        ("/api/v2/me", "get"): {"200", "401"},
        ("/api/v2/me", "patch"): {"200", "401", "422"},
        ("/api/v2/me/phone", "post"): {"200", "400", "401", "503"},
        ("/api/v2/me/userinfo", "post"): {"200", "400", "401", "422"},
    }
    for (path, method), statuses in expected.items():
        documented = set(paths[path][method]["responses"])
        assert statuses <= documented, (path, method, documented)
    error_schema = schema["components"]["schemas"]["ErrorOut"]
    assert "error" in error_schema["properties"]
