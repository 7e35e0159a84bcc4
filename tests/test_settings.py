"""The four environments: master fails closed, debug needs no server."""

import pytest

from tests.helpers import MASTER_ENV, manage

REQUIRED_IN_MASTER = [
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "FIELD_ENCRYPTION_KEYS",
    "ALLOWED_HOSTS",
]


@pytest.mark.parametrize("missing", REQUIRED_IN_MASTER)
def test_master_refuses_to_start_without_a_required_variable(missing):
    env = {name: value for name, value in MASTER_ENV.items() if name != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"The environment variable {missing} is required" in result.stderr


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
