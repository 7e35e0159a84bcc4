"""Requests that race an operator's write answer in the envelope, never 500.

The race is made real, not simulated: the test holds the user's row lock on
its own connection, waits until MariaDB shows the request waiting for it,
then deletes the user and commits, so the request resumes on a row that is gone.
"""

import threading
import time
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client, RequestFactory

from config.api import api
from minihub.accounts.models import User
from minihub.notifications.models import SubscriptionGrant
from tests.conftest import APPID_A
from tests.helpers import app_headers, json_post, log_in
from tests.test_notifications import run_at_once

LOCK_WAIT_TIMEOUT_SECONDS = 20


def requests_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX t"
            " JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
            " WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()"
        )
        return cursor.fetchone()[0]


@contextmanager
def user_deleted_while_the_request_waits(user_id: int):
    """Yields a function that starts the request; the user is deleted under it."""
    outcome = {}

    def start(send):
        def run():
            try:
                outcome["response"] = send()
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + LOCK_WAIT_TIMEOUT_SECONDS
        while not requests_waiting_for_a_lock():
            assert time.monotonic() < deadline, "the request never waited for the user's row"
            # InnoDB refreshes this table only when it was not read for 0.1 s.
            time.sleep(0.2)
        User.objects.filter(id=user_id).delete()
        outcome["thread"] = thread

    with transaction.atomic():
        User.objects.select_for_update().get(id=user_id)
        yield start
    outcome["thread"].join(timeout=LOCK_WAIT_TIMEOUT_SECONDS)
    outcome.setdefault("response", None)
    start.response = outcome["response"]


@pytest.fixture
def signed_in(tenants, wechat):
    body = log_in(Client(), wechat, APPID_A, "openid-race")
    return {"id": body["user"]["id"], "headers": app_headers(APPID_A, body["token"])}


@pytest.mark.django_db(transaction=True)
def test_a_profile_update_of_a_user_deleted_meanwhile_is_401(signed_in):
    with user_deleted_while_the_request_waits(signed_in["id"]) as start:
        start(
            lambda: Client().patch(
                "/api/v2/me",
                data={"nickname": "late"},
                content_type="application/json",
                **signed_in["headers"],
            )
        )
    response = start.response
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not User.objects.filter(id=signed_in["id"]).exists()  # not brought back by the save


@pytest.mark.django_db(transaction=True)
def test_subscriptions_of_a_user_deleted_meanwhile_are_422(signed_in):
    body = {"template_ids": ["tpl-1"]}
    with user_deleted_while_the_request_waits(signed_in["id"]) as start:
        start(lambda: json_post(Client(), "/me/subscriptions", body, **signed_in["headers"]))
    response = start.response
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("validation_error", "No such user.")
    assert not SubscriptionGrant.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_subscriptions_of_one_user_all_count(signed_in):
    body = {"template_ids": ["tpl-1", "tpl-2", "tpl-3"]}
    responses = run_at_once(
        lambda: json_post(Client(), "/me/subscriptions", body, **signed_in["headers"]), times=8
    )
    assert sorted(r.status_code for r in responses) == [200] * 8, [r.content for r in responses]
    assert set(SubscriptionGrant.objects.values_list("remaining", flat=True)) == {8}


def test_an_integrity_error_is_a_409_conflict():
    # No endpoint is known to let one through; the mapping is the safety net.
    request = RequestFactory().post("/api/v2/anything")
    response = api.on_exception(request, IntegrityError(1062, "Duplicate entry"))
    assert response.status_code == 409
    assert b'"code": "conflict"' in response.content
    assert b"Duplicate entry" not in response.content
