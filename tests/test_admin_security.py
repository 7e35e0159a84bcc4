"""The admin: staff only, throttled logins, an allow-list, and an unguessable URL in production."""

import pytest
from django.contrib.auth.models import User as StaffUser
from django.test import override_settings

from config.settings.env import ip_networks
from minihub.core.admin_site import WINDOW_SECONDS
from minihub.core.middleware import AdminAllowListMiddleware
from tests.conftest import APPID_A
from tests.helpers import MASTER_ENV, app_headers, clear_of_window_edge, log_in, manage

BOTH = ["default", "admin"]
PAGES = ["/admin/", "/admin/tenants/miniprogram/", "/admin/accounts/user/", "/admin/rq/"]


def assert_gets_nothing(response):
    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"]
    assert b"wxa0000000000000a1" not in response.content


@pytest.mark.django_db(databases=BOTH)
@pytest.mark.parametrize("page", PAGES)
def test_a_non_staff_user_gets_nothing(client, tenants, page):
    user = StaffUser.objects.create_user("visitor", password="pw-0123456789")
    client.force_login(user)
    assert_gets_nothing(client.get(page))


@pytest.mark.django_db(databases=BOTH)
@pytest.mark.parametrize("page", PAGES)
def test_a_mini_program_token_gets_nothing(client, tenants, wechat, page):
    token = log_in(client, wechat, APPID_A, "o1")["token"]
    client.logout()
    assert_gets_nothing(client.get(page, **app_headers(APPID_A, token)))


@pytest.mark.django_db(databases=BOTH)
def test_staff_get_in(client, tenants):
    staff = StaffUser.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    client.force_login(staff)
    assert client.get("/admin/tenants/miniprogram/").status_code == 200


@pytest.mark.django_db(databases=BOTH)
def test_login_attempts_are_throttled_per_user_name(client, redis_db, settings):
    clear_of_window_edge(WINDOW_SECONDS)
    StaffUser.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    statuses = [
        client.post("/admin/login/", {"username": "ops", "password": f"wrong-{n}"}).status_code
        for n in range(settings.ADMIN_LOGIN_ATTEMPTS_PER_USER + 2)
    ]
    assert statuses[: settings.ADMIN_LOGIN_ATTEMPTS_PER_USER] == [200] * 5  # the form again
    assert statuses[-1] == 429
    # Even the right password waits: the attacker must not learn it is right.
    limited = client.post("/admin/login/", {"username": "ops", "password": "pw-0123456789"})
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0


@pytest.mark.django_db(databases=BOTH)
def test_login_attempts_are_throttled_per_address(client, redis_db, settings):
    clear_of_window_edge(WINDOW_SECONDS)
    settings.ADMIN_LOGIN_ATTEMPTS_PER_IP = 3
    statuses = [
        client.post("/admin/login/", {"username": f"user{n}", "password": "x"}).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def allow_list_response(rf, allowed, remote_addr, real_ip=None, trusted=()):
    proxies = ip_networks("TRUSTED_PROXY_IPS", ",".join(trusted))
    with override_settings(ADMIN_ALLOWED_IPS=allowed, TRUSTED_PROXY_IPS=proxies):
        middleware = AdminAllowListMiddleware(lambda request: "admin page")
        headers = {"HTTP_X_REAL_IP": real_ip} if real_ip else {}
        request = rf.get("/admin/", REMOTE_ADDR=remote_addr, **headers)
        return middleware(request)


def test_the_allow_list_hides_the_admin_from_other_addresses(rf):
    from django.http import Http404

    assert allow_list_response(rf, ["10.0.0.0/8"], "10.1.2.3") == "admin page"
    with pytest.raises(Http404):
        allow_list_response(rf, ["10.0.0.0/8"], "192.0.2.1")
    # Behind nginx the client's own address counts, and only nginx may say what it is.
    assert allow_list_response(rf, ["10.0.0.0/8"], "127.0.0.1", "10.9.9.9", ["127.0.0.1"])
    with pytest.raises(Http404):
        allow_list_response(rf, ["10.0.0.0/8"], "192.0.2.1", "10.9.9.9", ["127.0.0.1"])
    assert allow_list_response(rf, [], "192.0.2.1") == "admin page"  # no list: open


@pytest.mark.slow
def test_production_admin_url_is_not_guessable_and_stable():
    first = manage("admin_url", env=MASTER_ENV)
    again = manage("admin_url", env=MASTER_ENV)
    other = manage("admin_url", env={**MASTER_ENV, "SECRET_KEY": MASTER_ENV["SECRET_KEY"] + "x"})
    assert first.returncode == 0, first.stderr
    path = first.stdout.strip()
    assert path.startswith("/admin-") and len(path) > 20
    assert path == again.stdout.strip()
    assert path != other.stdout.strip()
    chosen = manage("admin_url", env={**MASTER_ENV, "ADMIN_URL": "backstage-7f3a/"})
    assert chosen.stdout.strip() == "/backstage-7f3a/"


@pytest.mark.django_db(databases=BOTH)
def test_admin_pages_keep_csrf_sessions_and_frame_protection(tenants):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    StaffUser.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    form = browser.get("/admin/login/")
    assert form["X-Frame-Options"] == "DENY"
    assert "csrftoken" in form.cookies
    forged = browser.post("/admin/login/", {"username": "ops", "password": "pw-0123456789"})
    assert forged.status_code == 403  # no CSRF token
    token = form.cookies["csrftoken"].value
    fields = {"username": "ops", "password": "pw-0123456789", "csrfmiddlewaretoken": token}
    assert browser.post("/admin/login/", fields).status_code == 302
    assert browser.get("/admin/tenants/miniprogram/").status_code == 200  # the session holds


@pytest.mark.django_db(databases=BOTH)
def test_api_answers_carry_no_browser_machinery(client, tenants, wechat):
    token = log_in(client, wechat, APPID_A, "o1")["token"]
    response = client.get("/api/v2/me", **app_headers(APPID_A, token))
    assert response.status_code == 200
    assert not response.cookies
    assert "X-Frame-Options" not in response
    assert "Cookie" not in response.get("Vary", "")
    assert response["X-Content-Type-Options"] == "nosniff"  # security headers stay
