"""Mini-programs: encrypted secrets, cached resolution, the command and the admin."""

import io

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User as StaffUser
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from minihub.core.errors import ApiError
from minihub.tenants import selectors
from minihub.tenants.models import MiniProgram
from minihub.tenants.selectors import enabled_tenant_get
from minihub.tenants.services import miniprogram_create, miniprogram_set_enabled
from tests.conftest import APPID_A, SECRET_A

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def stored(column: str, appid: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM tenants_miniprogram WHERE appid = %s", [appid])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_secrets_are_only_ciphertext_in_the_database():
    miniprogram_create(appid=APPID_A, secret=SECRET_A, push_token="push-tok", aes_key=AES_KEY)
    for column, plain in (("secret", SECRET_A), ("push_token", "push-tok"), ("aes_key", AES_KEY)):
        value = stored(column, APPID_A)
        assert value.startswith("fernet:")
        assert plain not in value
    program = MiniProgram.objects.get()
    assert (program.secret, program.push_token, program.aes_key) == (SECRET_A, "push-tok", AES_KEY)


@pytest.mark.django_db
def test_key_rotation_reencrypts_under_the_new_first_key(settings):
    miniprogram_create(appid=APPID_A, secret=SECRET_A)
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    before = stored("secret", APPID_A)
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "tenants.MiniProgram: 1 rows" in out.getvalue()
    after = stored("secret", APPID_A)
    assert after != before
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone: still readable
    assert MiniProgram.objects.get().secret == SECRET_A


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("appid", "aes_key"),
    [("wx123", ""), ("WX0123456789ABCDEF", ""), ("wx0123456789abcdef", "short")],
)
def test_invalid_appid_or_aes_key_is_refused(appid, aes_key):
    with pytest.raises(ApiError) as refused:
        miniprogram_create(appid=appid, secret="s", aes_key=aes_key)
    assert (refused.value.code, refused.value.status) == ("validation_error", 422)
    assert MiniProgram.objects.count() == 0


@pytest.mark.django_db
def test_resolution_costs_no_database_query_once_cached(
    redis_db, settings, django_assert_num_queries
):
    settings.TENANT_LOCAL_CACHE_SECONDS = 0
    selectors._local.clear()
    miniprogram_create(appid=APPID_A, secret=SECRET_A)
    with django_assert_num_queries(1):
        assert enabled_tenant_get(appid=APPID_A).appid == APPID_A
    with django_assert_num_queries(0):
        assert enabled_tenant_get(appid=APPID_A).appid == APPID_A
        assert enabled_tenant_get(appid=APPID_A).appid == APPID_A


@pytest.mark.django_db
def test_unknown_appids_are_cached_too(redis_db, settings, django_assert_num_queries):
    settings.TENANT_LOCAL_CACHE_SECONDS = 0
    with django_assert_num_queries(1):
        assert enabled_tenant_get(appid="wx0000000000000000") is None
        assert enabled_tenant_get(appid="wx0000000000000000") is None
    miniprogram_create(appid="wx0000000000000000", secret="s")  # creation invalidates
    assert enabled_tenant_get(appid="wx0000000000000000") is not None


@pytest.mark.django_db
def test_disabling_invalidates_the_shared_cache_at_once(redis_db, settings):
    settings.TENANT_LOCAL_CACHE_SECONDS = 0
    miniprogram_create(appid=APPID_A, secret=SECRET_A)
    assert enabled_tenant_get(appid=APPID_A) is not None
    miniprogram_set_enabled(appid=APPID_A, enabled=False)
    assert enabled_tenant_get(appid=APPID_A) is None


@pytest.mark.django_db
def test_the_cached_tenant_holds_no_secret(redis_db):
    miniprogram_create(appid=APPID_A, secret=SECRET_A)
    enabled_tenant_get(appid=APPID_A)
    for key in redis_db.keys("*"):
        value = redis_db.get(key) or b""
        assert SECRET_A.encode() not in value


@pytest.mark.django_db
def test_command_add_list_disable(redis_db):
    out = io.StringIO()
    call_command(
        "miniprogram", "add", "--appid", APPID_A, "--secret", SECRET_A, "--name", "音乐", stdout=out
    )
    call_command("miniprogram", "list", stdout=out)
    call_command("miniprogram", "disable", "--appid", APPID_A, stdout=out)
    text = out.getvalue()
    assert f"added {APPID_A}" in text
    assert "音乐" in text
    assert SECRET_A not in text
    assert f"{APPID_A} disabled" in text
    assert MiniProgram.objects.get().enabled is False


@pytest.mark.django_db
def test_command_errors_are_clear(redis_db):
    with pytest.raises(CommandError, match="appid must be"):
        call_command("miniprogram", "add", "--appid", "bad", "--secret", "s")
    with pytest.raises(CommandError, match="No mini-program"):
        call_command("miniprogram", "disable", "--appid", APPID_A)
    call_command("miniprogram", "add", "--appid", APPID_A, "--secret", "s", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("miniprogram", "add", "--appid", APPID_A, "--secret", "s")


@pytest.mark.django_db
def test_command_reads_every_secret_from_stdin(redis_db, monkeypatch):
    # Three lines, in the order the options are documented: none of it on the command line.
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{SECRET_A}\npush-tok\n{AES_KEY}\n"))
    argv = ["--appid", APPID_A, "--secret", "-", "--push-token", "-", "--aes-key", "-"]
    call_command("miniprogram", "add", *argv, stdout=io.StringIO())
    program = MiniProgram.objects.get()
    assert (program.secret, program.push_token, program.aes_key) == (SECRET_A, "push-tok", AES_KEY)
    assert program.push_mode == "safe"


@pytest.mark.django_db
def test_command_reads_secrets_from_files(redis_db, tmp_path):
    (tmp_path / "token").write_text("push-tok\n")
    (tmp_path / "key").write_text(AES_KEY)
    call_command(
        "miniprogram",
        "add",
        *("--appid", APPID_A, "--secret", SECRET_A, "--push-mode", "compatible"),
        *("--push-token", f"@{tmp_path / 'token'}", "--aes-key", f"@{tmp_path / 'key'}"),
        stdout=io.StringIO(),
    )
    program = MiniProgram.objects.get()
    assert (program.push_token, program.aes_key, program.push_mode) == (
        "push-tok",
        AES_KEY,
        "compatible",
    )
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("miniprogram", "add", "--appid", APPID_A, "--secret", "@/no/such/file")


@pytest.mark.django_db
def test_command_lists_rows_whose_key_was_dropped(redis_db, settings):
    miniprogram_create(appid=APPID_A, secret=SECRET_A, name="old key")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the row's key is gone
    out = io.StringIO()
    call_command("miniprogram", "list", stdout=out)
    assert APPID_A in out.getvalue()
    assert "old key" in out.getvalue()


def admin_form(**fields) -> dict:
    """The admin's mini-program form as a browser posts it: the limits at their defaults."""
    return {"enabled": "on", "login_limit_per_openid": "30", "login_limit_per_ip": "120", **fields}


@pytest.fixture
def staff_client(client):
    staff = StaffUser.objects.create_superuser("root", "root@example.com", "pw-0123456789")
    client.force_login(staff)
    return client


@pytest.mark.django_db(databases=["default", "admin"])
def test_admin_never_shows_secrets_and_keeps_them_when_left_empty(staff_client, redis_db):
    program = miniprogram_create(
        appid=APPID_A, secret=SECRET_A, push_token="push-tok", aes_key=AES_KEY
    )
    url = f"/admin/tenants/miniprogram/{program.pk}/change/"
    page = staff_client.get(url).content.decode()
    for secret in (SECRET_A, "push-tok", AES_KEY, "fernet:"):
        assert secret not in page
    form = admin_form(
        name="renamed", push_mode="safe", new_secret="", new_push_token="", new_aes_key=""
    )
    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    program.refresh_from_db()
    assert (program.name, program.secret, program.push_token) == ("renamed", SECRET_A, "push-tok")
    staff_client.post(url, {**form, "new_secret": "rotated-secret"})
    program.refresh_from_db()
    assert program.secret == "rotated-secret"


@pytest.mark.django_db(databases=["default", "admin"])
def test_admin_add_requires_the_secret(staff_client, redis_db):
    form = admin_form(appid=APPID_A)
    response = staff_client.post("/admin/tenants/miniprogram/add/", form)
    assert response.status_code == 200  # the form again, with the error
    assert not MiniProgram.objects.exists()
    staff_client.post("/admin/tenants/miniprogram/add/", {**form, "new_secret": SECRET_A})
    assert MiniProgram.objects.get().secret == SECRET_A


@pytest.mark.django_db(databases=["default", "admin"])
def test_admin_add_chooses_safe_push_mode_with_a_key(staff_client, redis_db):
    form = admin_form(
        appid=APPID_A,
        push_mode="",
        new_secret=SECRET_A,
        new_push_token="push-tok",
        new_aes_key=AES_KEY,
    )
    response = staff_client.post("/admin/tenants/miniprogram/add/", form)
    assert response.status_code == 302, response.content[:2000]
    assert MiniProgram.objects.get().push_mode == "safe"


@pytest.mark.django_db(databases=["default", "admin"])
def test_admin_refuses_an_encrypted_push_mode_without_a_key(staff_client, redis_db):
    program = miniprogram_create(appid=APPID_A, secret=SECRET_A, push_token="push-tok")
    form = admin_form(name="", push_mode="safe")
    url = f"/admin/tenants/miniprogram/{program.pk}/change/"
    response = staff_client.post(url, form)
    assert response.status_code == 200
    assert "needs the EncodingAESKey" in response.content.decode()
    program.refresh_from_db()
    assert program.push_mode == "plain"


@pytest.mark.django_db(transaction=True)
def test_the_push_mode_migration_puts_mini_programs_with_a_key_in_safe_mode():
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("tenants", "0001_initial")], [("tenants", "0002_miniprogram_push_mode")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("tenants", "MiniProgram")
        old.objects.create(appid=APPID_A, secret="s", aes_key=AES_KEY)
        old.objects.create(appid="wxb0000000000000b2", secret="s")
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
    modes = dict(MiniProgram.objects.values_list("appid", "push_mode"))
    assert modes == {APPID_A: "safe", "wxb0000000000000b2": "plain"}
