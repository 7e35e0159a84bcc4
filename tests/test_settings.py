"""The four environments: master fails closed, debug needs no server."""

import os
import subprocess
import sys

import pytest

from tests.helpers import MASTER_ENV, PROJECT_DIR, manage

# Each test starts manage.py in a fresh process.
pytestmark = pytest.mark.slow

REQUIRED_IN_MASTER = [
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "FIELD_ENCRYPTION_KEYS",
    "ALLOWED_HOSTS",
    "TRUSTED_PROXY_IPS",
]


@pytest.mark.parametrize("missing", REQUIRED_IN_MASTER)
def test_master_refuses_to_start_without_a_required_variable(missing):
    env = {name: value for name, value in MASTER_ENV.items() if name != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"The environment variable {missing} is required" in result.stderr


@pytest.mark.parametrize("bad_entry", ["10.0.0.0/33", "10.0.0.5/8", "nginx.internal", "none"])
def test_master_refuses_a_trusted_proxy_that_is_not_an_address_or_network(bad_entry):
    # "10.0.0.5/8" would silently widen to 10.0.0.0/8; "none" is only valid alone.
    env = {**MASTER_ENV, "TRUSTED_PROXY_IPS": f"127.0.0.1,{bad_entry}"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"TRUSTED_PROXY_IPS: {bad_entry!r} is" in result.stderr


@pytest.mark.parametrize(
    ("value", "networks"),
    [
        ("none", []),  # clients connect directly: no address is trusted to speak for them
        ("None", []),
        (" 127.0.0.1 , 10.0.0.0/8,::1", ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]),
    ],
)
def test_master_reads_trusted_proxies_as_networks_or_none(value, networks):
    script = "from django.conf import settings; print([str(n) for n in settings.TRUSTED_PROXY_IPS])"
    result = manage(
        "shell", "--no-imports", "-c", script, env={**MASTER_ENV, "TRUSTED_PROXY_IPS": value}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(networks)


def test_master_passes_the_deployment_checklist():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=MASTER_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_master_refuses_to_migrate_and_names_the_sql_command():
    result = manage("migrate", "--noinput", env=MASTER_ENV)
    assert result.returncode != 0
    assert "Migrations do not run in this environment (master)" in result.stderr
    assert "schema_sql" in result.stderr


def test_debug_runs_with_no_server_and_no_variable(tmp_path):
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.debug", "MINIHUB_VAR_DIR": str(tmp_path)}
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    assert manage("migrate", "--database", "admin", "--noinput", "-v0", env=env).returncode == 0
    assert (tmp_path / "db" / "default.sqlite3").exists()
    assert (tmp_path / "db" / "admin.sqlite3").exists()
    script = (
        "from django.test import Client; c = Client(HTTP_HOST='localhost');"
        "print(c.get('/api/v2/ping').status_code, c.get('/api/v2/health').json()['status'])"
    )
    result = manage("shell", "--no-imports", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "ok"]


def test_wsgi_refuses_to_guess_the_environment():
    result = manage(
        "shell",
        "-c",
        "import os; os.environ.pop('DJANGO_SETTINGS_MODULE'); import config.wsgi",
        env={"DJANGO_SETTINGS_MODULE": "config.settings.debug"},
    )
    assert result.returncode != 0
    assert "DJANGO_SETTINGS_MODULE is required" in result.stderr


def test_the_wsgi_application_has_its_url_modules_loaded_before_any_request(tmp_path):
    """A new worker must not spend its first requests importing the API (most of a
    second, while other requests queue and health checks time out)."""
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.debug", "MINIHUB_VAR_DIR": str(tmp_path)}
    script = (
        "import sys; before = 'config.api' in sys.modules; import config.wsgi;"
        "print(before, 'config.api' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.parametrize(
    "browser_middleware",
    [
        [],  # none at all
        ["django.contrib.sessions.middleware.SessionMiddleware"],  # CSRF and the rest missing
        [  # all there, CSRF after the user
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
    ],
)
def test_the_admin_middleware_check_fails_closed(settings, browser_middleware):
    from minihub.core.checks import admin_middleware_check

    settings.BROWSER_MIDDLEWARE = browser_middleware
    assert [error.id for error in admin_middleware_check()] in (["core.E002"], ["core.E003"])


def test_the_admin_middleware_check_passes_as_shipped():
    from minihub.core.checks import admin_middleware_check

    assert admin_middleware_check() == []


@pytest.mark.parametrize("settings_module", ["config.settings.master", "config.settings.test"])
@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "redis://minihub@127.0.0.1:6379/0", "rediss://host/0"]
)
def test_deployed_settings_refuse_a_redis_url_without_a_password(settings_module, url):
    env = {**MASTER_ENV, "DJANGO_SETTINGS_MODULE": settings_module, "REDIS_URL": url}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "REDIS_URL must carry credentials" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "redis://:a-password@127.0.0.1:6379/0",
        "redis://minihub:a-password@127.0.0.1:6379/0",
        "rediss://minihub:a-password@redis.internal:6380/0",
    ],
)
def test_deployed_settings_take_a_password_or_an_acl_user(url):
    script = "from django.conf import settings; print(settings.REDIS_URL)"
    result = manage("shell", "--no-imports", "-c", script, env={**MASTER_ENV, "REDIS_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == url
