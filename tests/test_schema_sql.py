"""`schema_sql`: the SQL a DBA runs, per database, following the router."""

import pytest

from tests.helpers import MASTER_ENV, manage


@pytest.fixture(scope="module")
def empty_databases_env():
    # Point master at two databases that have no tables: everything is pending.
    base = MASTER_ENV["DATABASE_URL"].rsplit("/", 1)[0]
    return {
        **MASTER_ENV,
        "DATABASE_URL": base + "/minihub_sqlprint",
        "ADMIN_DATABASE_URL": base + "/minihub_sqlprint_admin",
    }


@pytest.fixture(scope="module", autouse=True)
def _create_empty_databases(django_db_blocker):
    from django.db import connection

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            for name in ("minihub_sqlprint", "minihub_sqlprint_admin"):
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4")
        yield
        with connection.cursor() as cursor:
            for name in ("minihub_sqlprint", "minihub_sqlprint_admin"):
                cursor.execute(f"DROP DATABASE IF EXISTS {name}")


def test_schema_sql_for_default_has_business_tables_only(empty_databases_env):
    result = manage("schema_sql", "--database", "default", env=empty_databases_env)
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE `tenants_miniprogram`" in result.stdout
    assert "CREATE TABLE `accounts_user`" in result.stdout
    assert "utf8mb4_bin" in result.stdout  # openid and appid compare case-sensitively
    assert "CREATE TABLE `auth_user`" not in result.stdout
    assert "INSERT INTO `django_migrations`" in result.stdout


def test_schema_sql_for_admin_has_admin_tables_only(empty_databases_env):
    result = manage("schema_sql", "--database", "admin", env=empty_databases_env)
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE `auth_user`" in result.stdout
    assert "CREATE TABLE `django_session`" in result.stdout
    assert "CREATE TABLE `tenants_miniprogram`" not in result.stdout


@pytest.mark.slow
def test_schema_sql_creates_nothing(empty_databases_env):
    manage("schema_sql", "--database", "default", env=empty_databases_env)
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.db import connection; print(connection.introspection.table_names())",
        env=empty_databases_env,
    )
    assert result.stdout.strip() == "[]"
