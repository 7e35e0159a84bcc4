"""utf8mb4 everywhere on MariaDB, with either driver."""

import textwrap

import pytest
from django.db import connection

from tests.helpers import manage, test_process_env

NICKNAME = "🎵音乐🎧 👨‍👩‍👧"


@pytest.mark.django_db
def test_every_text_column_is_utf8mb4():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, character_set_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND character_set_name IS NOT NULL"
        )
        columns = cursor.fetchall()
    assert columns, "no text columns found"
    assert {charset for _, _, charset in columns} == {"utf8mb4"}


@pytest.mark.django_db
def test_connection_is_utf8mb4_and_strict():
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@character_set_connection, @@character_set_client, @@sql_mode")
        charset_connection, charset_client, sql_mode = cursor.fetchone()
    assert (charset_connection, charset_client) == ("utf8mb4", "utf8mb4")
    assert "STRICT_ALL_TABLES" in sql_mode


ROUND_TRIP = textwrap.dedent(
    """
    import django, sys
    from django.db import connection
    from minihub.tenants.models import MiniProgram
    from minihub.accounts.models import User
    nickname = sys.argv[-1]
    driver = connection.Database.__name__
    program, _ = MiniProgram.objects.get_or_create(
        appid="wxroundtrip0000001", defaults={"secret": "s"}
    )
    user = User.objects.create(mini_program=program, openid="o-" + driver, nickname=nickname)
    stored = User.objects.get(pk=user.pk).nickname
    with connection.cursor() as cursor:
        cursor.execute("SELECT HEX(nickname) FROM accounts_user WHERE id = %s", [user.pk])
        hex_in_db = cursor.fetchone()[0]
    user.delete(); program.delete()
    print(driver, stored.encode("utf-8").hex().upper() == hex_in_db, stored == nickname)
    """
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("driver", "module"), [("pymysql", "pymysql"), ("mysqlclient", "MySQLdb")])
def test_emoji_nickname_round_trips_byte_exactly_with_each_driver(driver, module):
    # A fresh process per driver: the driver is chosen when settings load.
    env = test_process_env(DATABASE_DRIVER=driver)
    result = manage(
        "shell", "--no-imports", "-c", ROUND_TRIP.replace("sys.argv[-1]", repr(NICKNAME)), env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [module, "True", "True"]
