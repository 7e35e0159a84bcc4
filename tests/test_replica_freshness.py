"""Reads that decide access or follow a write go to the primary, whatever a replica holds.

MiniHub runs as deployed (the shipped web server, DATABASE_REPLICA_URLS) with a "replica"
that is a second MariaDB database holding a stale copy of the primary's rows:
a replica far behind. The test writes to the primary through the services,
then asks the server.
"""

import base64
import os
import subprocess

import pytest
import requests
from django.db import connections

from minihub.tenants.services import miniprogram_create, miniprogram_set_enabled, miniprogram_update
from tests.conftest import APPID_A
from tests.helpers import PROJECT_DIR, test_process_env
from tests.system.stack import free_port, wait_until
from tests.test_albums import make_album
from tests.wechat_side import encrypt_user_data

APPID_NEW = "wxc0000000000000c3"
WEB = str(PROJECT_DIR / "deploy" / "web")  # the shipped web server, as deployed


class StaleReplicaServer:
    def __init__(self, base_url: str, replica_name: str):
        self.base_url = base_url
        self.replica_name = replica_name

    def freeze(self) -> None:
        """The replica holds the primary's rows as they are now; later writes lag behind."""
        stale = self.replica_name
        with connections["default"].cursor() as cursor:
            for table in connections["default"].introspection.table_names(cursor):
                cursor.execute(f"CREATE TABLE IF NOT EXISTS `{stale}`.`{table}` LIKE `{table}`")
                cursor.execute(f"DELETE FROM `{stale}`.`{table}`")  # noqa: S608
                cursor.execute(f"INSERT INTO `{stale}`.`{table}` SELECT * FROM `{table}`")  # noqa: S608

    def call(self, method: str, path: str, *, appid=APPID_A, token=None, json=None):
        headers = {"X-Mini-Program": appid}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(
            method, self.base_url + path, headers=headers, json=json, timeout=10
        )

    def log_in(self, wechat, openid: str, appid=APPID_A, **code_options) -> dict:
        code = wechat.login_code(appid, openid, **code_options)
        response = self.call("POST", "/auth/login", appid=appid, json={"code": code})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def server(transactional_db, tenants, tmp_path):
    primary = connections["default"].settings_dict["NAME"]
    replica = f"{primary}_stale"
    with connections["default"].cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{replica}`")
        cursor.execute(
            f"CREATE DATABASE `{replica}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    port = free_port()
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        **test_process_env(
            DATABASE_REPLICA_URLS=f"{base}/{replica}",
            MINIHUB_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS="1",
            GRANIAN_WORKERS="1",
            MINIHUB_RUN_DIR=str(tmp_path),
        ),
    }
    log = (tmp_path / "web.log").open("w")
    process = subprocess.Popen(
        [WEB],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    stale = StaleReplicaServer(f"http://127.0.0.1:{port}/api/v2", replica)
    try:
        wait_until(
            lambda: requests.get(stale.base_url + "/health/live", timeout=2).ok,
            timeout=30,
            what="the web server up",
        )
        yield stale
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        with connections["default"].cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{replica}`")


def test_listings_still_read_the_replica(server, tenants):
    server.freeze()
    make_album(tenants.a, title="after the copy")
    assert server.call("GET", "/albums").json()["items"] == []  # stale, and allowed to be


def test_a_disabled_mini_program_is_refused_at_once(server):
    server.freeze()
    miniprogram_set_enabled(appid=APPID_A, enabled=False)
    response = server.call("GET", "/albums")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "miniprogram_unknown"


def test_a_new_mini_program_is_served_at_once(server, wechat):
    server.freeze()
    miniprogram_create(appid=APPID_NEW, secret="secret-of-new")
    wechat.register_app(APPID_NEW, "secret-of-new")
    assert server.call("GET", "/albums", appid=APPID_NEW).status_code == 200
    assert server.log_in(wechat, "openid-new", appid=APPID_NEW)["created"] is True


def test_a_rotated_secret_is_used_at_once(server, tenants, wechat):
    server.freeze()
    miniprogram_update(program=tenants.a, secret="rotated-secret-of-a")
    wechat.register_app(APPID_A, "rotated-secret-of-a")  # the old one is refused now
    assert server.log_in(wechat, "openid-a")["created"] is True


def test_userinfo_right_after_a_login_uses_that_logins_session_key(server, wechat):
    server.log_in(wechat, "openid-a", session_key=base64.b64encode(b"1" * 16).decode())
    server.freeze()  # the replica keeps the first session key
    new_key = base64.b64encode(b"2" * 16).decode()
    token = server.log_in(wechat, "openid-a", session_key=new_key)["token"]
    iv = os.urandom(16)
    data = {"nickName": "after login", "watermark": {"appid": APPID_A, "timestamp": 1}}
    body = {
        "encrypted_data": encrypt_user_data(data=data, iv=iv, session_key=new_key),
        "iv": base64.b64encode(iv).decode(),
    }
    response = server.call("POST", "/me/userinfo", token=token, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["nickname"] == "after login"


def test_a_token_missing_from_redis_is_checked_on_the_primary(server, wechat, redis_db):
    server.freeze()  # before the login: the replica has no token row
    token = server.log_in(wechat, "openid-a")["token"]
    for key in redis_db.scan_iter("auth:token:*"):
        redis_db.delete(key)
    response = server.call("GET", "/me", token=token)
    assert response.status_code == 200, response.text


def test_a_favourite_just_added_is_listed_at_once(server, tenants, wechat):
    album = make_album(tenants.a, title="before the copy")
    token = server.log_in(wechat, "openid-a")["token"]
    server.freeze()  # the replica knows the album, not the favourite
    assert server.call("PUT", f"/albums/{album.id}/favorite", token=token).status_code == 204
    favorites = server.call("GET", "/me/favorites", token=token).json()["items"]
    assert [item["id"] for item in favorites] == [album.id]
