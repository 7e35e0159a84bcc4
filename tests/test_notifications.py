"""POST /me/subscriptions, the grant service, and what subscribe_message_send accepts."""

import threading

import pytest
from django.db import connections, transaction

from minihub.core.errors import ApiError
from minihub.notifications.models import OutboxMessage, SubscriptionGrant
from minihub.notifications.services import subscribe_message_send, subscription_grant_record
from tests.conftest import APPID_A, APPID_B
from tests.helpers import app_headers, json_post, log_in

DATA = {"thing1": {"value": "Your order shipped"}, "time2": {"value": "2024-05-01 10:00"}}


@pytest.fixture
def user_a(client, tenants, wechat):
    body = log_in(client, wechat, APPID_A, "openid-a")
    return {"token": body["token"], "id": body["user"]["id"]}


@pytest.fixture
def user_b(client, tenants, wechat):
    body = log_in(client, wechat, APPID_B, "openid-b")
    return {"token": body["token"], "id": body["user"]["id"]}


def refused_fields(error: ApiError) -> list[str]:
    """The arguments a validation_error names."""
    assert error.code == "validation_error"
    return [field["loc"][-1] for field in error.fields]


def subscribe(client, token, body, appid=APPID_A):
    return json_post(client, "/me/subscriptions", body, **app_headers(appid, token))


def grants() -> dict[tuple[int, str], int]:
    return {
        (grant.user_id, grant.template_id): grant.remaining
        for grant in SubscriptionGrant.objects.all()
    }


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return error


# --- POST /me/subscriptions ------------------------------------------------------------------


def test_accepted_templates_are_recorded_once_each_and_counted(client, user_a):
    first = subscribe(client, user_a["token"], {"template_ids": ["tpl-A_1", "tpl-B", "tpl-A_1"]})
    assert first.status_code == 200, first.content
    assert first.json() == {"granted": {"tpl-A_1": 1, "tpl-B": 1}}
    second = subscribe(client, user_a["token"], {"template_ids": ["tpl-A_1"]})
    assert second.json() == {"granted": {"tpl-A_1": 2}}
    assert grants() == {(user_a["id"], "tpl-A_1"): 2, (user_a["id"], "tpl-B"): 1}


def test_template_ids_differing_in_case_are_different_templates(client, user_a):
    response = subscribe(client, user_a["token"], {"template_ids": ["tplX", "TPLx"]})
    assert response.json() == {"granted": {"tplX": 1, "TPLx": 1}}
    assert SubscriptionGrant.objects.count() == 2


def test_twenty_ids_are_accepted(client, user_a):
    ids = [f"t{n}" for n in range(20)]
    response = subscribe(client, user_a["token"], {"template_ids": ids})
    assert response.status_code == 200, response.content
    assert response.json()["granted"] == dict.fromkeys(ids, 1)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"template_ids": None},
        {"template_ids": []},
        {"template_ids": "tpl-1"},
        {"template_ids": {"tpl-1": 1}},
        {"template_ids": [1]},
        {"template_ids": [True]},
        {"template_ids": [None]},
        {"template_ids": [["tpl-1"]]},
        {"template_ids": [""]},
        {"template_ids": ["t" * 129]},
        {"template_ids": ["has space"]},
        {"template_ids": ["slash/no"]},
        {"template_ids": ["模板"]},
        {"template_ids": ["ok", "bad\n"]},
        {"template_ids": [f"t{n}" for n in range(21)]},
        {"template_ids": ["ok"], "user_id": 1},
    ],
)
def test_bad_bodies_are_422_and_record_nothing(client, user_a, body):
    response = subscribe(client, user_a["token"], body)
    error = assert_error(response, 422, "validation_error")
    assert error["fields"]
    assert SubscriptionGrant.objects.count() == 0


def test_the_longest_template_id_is_accepted(client, user_a):
    response = subscribe(client, user_a["token"], {"template_ids": ["t" * 128]})
    assert response.json() == {"granted": {"t" * 128: 1}}


def test_a_field_error_names_the_bad_entry(client, user_a):
    response = subscribe(client, user_a["token"], {"template_ids": ["ok", "bad id"]})
    fields = assert_error(response, 422, "validation_error")["fields"]
    assert fields[0]["loc"] == ["body", "template_ids", 1]


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'"tpl"', b'{"template_ids": ["a"'])
def test_bodies_that_are_not_a_json_object_are_400(client, user_a, raw):
    response = subscribe(client, user_a["token"], raw)
    assert_error(response, 400, "invalid_json")
    assert SubscriptionGrant.objects.count() == 0


def test_an_oversized_body_is_413_and_records_nothing(client, user_a, settings):
    ids = ["t" * 128] * (settings.API_MAX_BODY_BYTES // 128 + 1)
    response = subscribe(client, user_a["token"], {"template_ids": ids})
    assert_error(response, 413, "payload_too_large")
    assert SubscriptionGrant.objects.count() == 0


def test_a_form_body_is_415(client, user_a):
    response = client.post(
        "/api/v2/me/subscriptions",
        data={"template_ids": "tpl"},
        **app_headers(APPID_A, user_a["token"]),
    )
    assert_error(response, 415, "unsupported_media_type")


def test_a_token_is_required(client, tenants):
    response = subscribe(client, None, {"template_ids": ["tpl"]})
    assert_error(response, 401, "unauthenticated")
    assert SubscriptionGrant.objects.count() == 0


def test_a_made_up_token_is_401(client, user_a):
    assert_error(subscribe(client, "x" * 43, {"template_ids": ["tpl"]}), 401, "unauthenticated")


def test_the_mini_program_must_be_named_and_known(client, user_a):
    response = json_post(
        client,
        "/me/subscriptions",
        {"template_ids": ["tpl"]},
        HTTP_AUTHORIZATION=f"Bearer {user_a['token']}",
    )
    assert_error(response, 400, "miniprogram_required")
    unknown = subscribe(client, user_a["token"], {"template_ids": ["tpl"]}, appid="wx" + "0" * 16)
    assert_error(unknown, 404, "miniprogram_unknown")
    assert SubscriptionGrant.objects.count() == 0


def test_another_mini_programs_token_records_nothing(client, user_a, user_b):
    # B's token sent as A's mini-program, and A's token as B's.
    assert_error(
        subscribe(client, user_b["token"], {"template_ids": ["tpl"]}), 401, "unauthenticated"
    )
    response = subscribe(client, user_a["token"], {"template_ids": ["tpl"]}, appid=APPID_B)
    assert_error(response, 401, "unauthenticated")
    assert SubscriptionGrant.objects.count() == 0


def test_grants_are_counted_per_user_and_mini_program(client, user_a, user_b):
    subscribe(client, user_b["token"], {"template_ids": ["tpl"]}, appid=APPID_B)
    subscribe(client, user_b["token"], {"template_ids": ["tpl"]}, appid=APPID_B)
    response = subscribe(client, user_a["token"], {"template_ids": ["tpl"]})
    assert response.json() == {"granted": {"tpl": 1}}
    assert grants() == {(user_a["id"], "tpl"): 1, (user_b["id"], "tpl"): 2}


def test_the_operation_is_documented(client):
    schema = client.get("/api/v2/openapi.json").json()
    operation = schema["paths"]["/api/v2/me/subscriptions"]["post"]
    assert {"200", "401", "413", "422"} <= set(operation["responses"])


# --- subscription_grant_record, as the message-push receiver calls it ------------------------


def test_the_service_records_grants_like_the_endpoint(user_a):
    assert subscription_grant_record(user_id=user_a["id"], template_ids=["t1", "t2", "t1"]) == {
        "t1": 1,
        "t2": 1,
    }
    assert subscription_grant_record(user_id=user_a["id"], template_ids=["t2"]) == {"t2": 2}


@pytest.mark.parametrize("template_ids", [[], "t1", ["ok", ""], ["x" * 129], [None], ["a b"]])
def test_the_service_refuses_bad_template_ids(user_a, template_ids):
    with pytest.raises(ApiError):
        subscription_grant_record(user_id=user_a["id"], template_ids=template_ids)
    assert SubscriptionGrant.objects.count() == 0


def test_the_service_refuses_an_unknown_user(tenants):
    with pytest.raises(ApiError):
        subscription_grant_record(user_id=987654321, template_ids=["t1"])
    assert SubscriptionGrant.objects.count() == 0


def run_at_once(call, times: int = 8) -> list:
    """`call()` in `times` threads released together, each on its own connection."""
    barrier, results, errors = threading.Barrier(times), [], []

    def run() -> None:
        try:
            barrier.wait()
            results.append(call())
        except Exception as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == times
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_grants_all_count(user_a):
    run_at_once(lambda: subscription_grant_record(user_id=user_a["id"], template_ids=["race"]))
    assert grants() == {(user_a["id"], "race"): 8}


# --- subscribe_message_send: what it accepts -------------------------------------------------


def send(user_id: int, **overrides) -> OutboxMessage:
    arguments = {"template_id": "tpl-1", "data": DATA, "page": "", "idempotency_key": "order-1"}
    return subscribe_message_send(user_id=user_id, **{**arguments, **overrides})


@pytest.mark.parametrize(
    ("field", "argument"),
    [
        ("template_id", {"template_id": ""}),
        ("template_id", {"template_id": "t" * 129}),
        ("template_id", {"template_id": "bad id"}),
        ("template_id", {"template_id": 5}),
        ("data", {"data": {}}),
        ("data", {"data": []}),
        ("data", {"data": "thing1"}),
        ("data", {"data": {"thing1": "Shipped"}}),
        ("data", {"data": {"thing1": {}}}),
        ("data", {"data": {"thing1": {"value": 5}}}),
        ("data", {"data": {"thing1": {"value": ""}}}),
        ("data", {"data": {"thing1": {"value": "x" * 201}}}),
        ("data", {"data": {"thing1": {"value": "ok", "color": "#f00"}}}),
        ("data", {"data": {"1thing": {"value": "ok"}}}),
        ("data", {"data": {"bad key": {"value": "ok"}}}),
        ("data", {"data": {f"thing{n}": {"value": "ok"} for n in range(21)}}),
        ("page", {"page": "/pages/index/index"}),
        ("page", {"page": "pages/a b"}),
        ("page", {"page": "p" * 256}),
        ("page", {"page": None}),
        ("idempotency_key", {"idempotency_key": ""}),
        ("idempotency_key", {"idempotency_key": "k" * 129}),
        ("idempotency_key", {"idempotency_key": "has space"}),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_bad_messages_are_refused_and_nothing_is_queued(user_a, rq_queues, field, argument):
    with pytest.raises(ApiError) as raised:
        send(user_a["id"], **argument)
    assert refused_fields(raised.value) == [field]
    assert OutboxMessage.objects.count() == 0
    assert rq_queues["default"].count == 0


def test_an_unknown_user_is_refused(tenants):
    with pytest.raises(ApiError) as raised:
        send(987654321)
    assert refused_fields(raised.value) == ["user"]
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_valid_message_is_queued_once_per_idempotency_key(user_a, rq_queues):
    with transaction.atomic():
        first = send(user_a["id"], page="pages/order/detail?id=1")
    again = send(user_a["id"], page="pages/order/detail?id=1")
    assert again.id == first.id
    stored = OutboxMessage.objects.get()
    assert (stored.status, stored.attempts, stored.page) == (
        "pending",
        0,
        "pages/order/detail?id=1",
    )
    assert stored.mini_program.appid == APPID_A
    assert rq_queues["default"].count == 1


@pytest.mark.django_db(transaction=True)
def test_reusing_a_key_for_another_message_is_refused(user_a, rq_queues):
    send(user_a["id"])
    with pytest.raises(ApiError) as raised:
        send(user_a["id"], data={"thing1": {"value": "Something else"}})
    assert refused_fields(raised.value) == ["idempotency_key"]
    assert OutboxMessage.objects.count() == 1
    assert rq_queues["default"].count == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_key_in_two_mini_programs_is_two_messages(user_a, user_b, rq_queues):
    a, b = send(user_a["id"]), send(user_b["id"])
    assert a.id != b.id
    assert {a.mini_program.appid, b.mini_program.appid} == {APPID_A, APPID_B}
    assert rq_queues["default"].count == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_with_one_key_make_one_message(user_a, rq_queues):
    ids = run_at_once(lambda: send(user_a["id"]).id)
    assert len(set(ids)) == 1
    assert OutboxMessage.objects.count() == 1
    assert rq_queues["default"].count == 1
