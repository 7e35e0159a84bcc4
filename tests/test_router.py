"""The database router on two real MariaDB databases: where tables land, where rows go."""

import pytest
from django.contrib.auth.models import User as StaffUser
from django.db import connections
from django.test import override_settings

from config.db_router import DatabaseAppsRouter
from minihub.accounts.models import User
from minihub.tenants.models import MiniProgram

router = DatabaseAppsRouter()
BOTH = ["default", "admin"]


def tables_of(alias: str) -> set[str]:
    with connections[alias].cursor() as cursor:
        return set(connections[alias].introspection.table_names(cursor))


@pytest.mark.django_db(databases=BOTH)
def test_admin_tables_only_on_admin_and_business_tables_only_on_default():
    default, admin = tables_of("default"), tables_of("admin")
    admin_tables = {
        "auth_user",
        "auth_permission",
        "django_admin_log",
        "django_session",
        "django_content_type",
    }
    business_tables = {"tenants_miniprogram", "accounts_user", "accounts_apitoken"}
    assert admin_tables <= admin
    assert not admin_tables & default
    assert business_tables <= default
    assert not business_tables & admin
    assert (
        connections["default"].settings_dict["NAME"] != connections["admin"].settings_dict["NAME"]
    )


@pytest.mark.django_db(databases=BOTH)
def test_rows_are_written_and_read_on_their_own_database():
    staff = StaffUser.objects.create_user("ops", password="x-long-password-1")
    program = MiniProgram.objects.create(appid="wx0123456789abcdef", secret="s")
    assert staff._state.db == "admin"
    assert program._state.db == "default"
    with connections["admin"].cursor() as cursor:
        cursor.execute("SELECT username FROM auth_user")
        assert [row[0] for row in cursor.fetchall()] == ["ops"]
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT appid FROM tenants_miniprogram")
        assert [row[0] for row in cursor.fetchall()] == ["wx0123456789abcdef"]


def test_allow_migrate_keeps_each_app_on_its_own_alias():
    assert router.allow_migrate("admin", "auth") is True
    assert router.allow_migrate("default", "auth") is False
    assert router.allow_migrate("default", "tenants") is True
    assert router.allow_migrate("admin", "tenants") is False
    assert router.allow_migrate("replica_0", "tenants") is False
    assert router.allow_migrate("replica_0", "auth") is False


def test_relations_within_a_database_are_allowed():
    program, user = MiniProgram(appid="wx1"), User(openid="o1")
    program._state.db = user._state.db = "default"
    user.mini_program = program  # no error
    assert router.allow_relation(program, user) is True


def test_relations_across_databases_are_refused():
    program, user = MiniProgram(appid="wx1"), User(openid="o1")
    program._state.db, user._state.db = "admin", "default"
    with override_settings(DATABASE_APPS_MAPPING={"tenants": "admin", "auth": "admin"}):
        assert router.allow_relation(program, StaffUser()) is True
        with pytest.raises(ValueError, match="router prevents this relation"):
            user.mini_program = program


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_business_reads_go_to_a_replica_when_configured_writes_never_do():
    # Replicas get reads once the background check has found them answering and in
    # step: here the primary's server, which is no replica at all.
    server = connections["default"].settings_dict
    replicas = {"default": {}, "admin": {}, "replica_0": server, "replica_1": server}
    with override_settings(DATABASES=replicas):
        reads = {router.db_for_read(User) for _ in range(200)}
        assert reads == {"replica_0", "replica_1"}
        assert router.db_for_write(User) == "default"
        assert router.db_for_read(StaffUser) == "admin"
        # Related objects are read where the instance came from.
        assert router.db_for_read(User, instance=User()) is None


def test_without_replicas_business_reads_use_default():
    assert router.db_for_read(User) == "default"
    assert router.db_for_read(StaffUser) == "admin"
