"""The admin of subscribe messages: outbox list and filters, "send again", sending one, grants."""

import json

import pytest
from django.urls import reverse

from minihub.notifications.models import OutboxMessage
from minihub.notifications.services import subscribe_message_send, subscription_grant_record
from tests.conftest import APPID_A
from tests.helpers import log_in

SEND = "/cgi-bin/message/subscribe/send"
TEMPLATE = "tpl-order-shipped"
DATA = {"thing1": {"value": "Your order shipped"}}
CHANGELIST = "admin:notifications_outboxmessage_changelist"
ADD = "admin:notifications_outboxmessage_add"

# The admin's own tables live on `admin`; jobs run in child workers that need committed rows.
pytestmark = pytest.mark.django_db(databases=["default", "admin"], transaction=True)


@pytest.fixture
def user_a(client, tenants, wechat):
    user_id = log_in(client, wechat, APPID_A, "openid-a")["user"]["id"]
    subscription_grant_record(user_id=user_id, template_ids=[TEMPLATE])
    return user_id


@pytest.fixture
def run_jobs(worker_burst, wechat):
    return lambda: worker_burst(env={"WECHAT_API_BASE": wechat.base_url})


def queue_message(user_id: int, key: str) -> OutboxMessage:
    return subscribe_message_send(
        user_id=user_id, template_id=TEMPLATE, data=DATA, idempotency_key=key
    )


def send_form(user_id: int, **overrides) -> dict:
    form = {
        "user": str(user_id),
        "template_id": TEMPLATE,
        "page": "pages/index/index",
        "data": json.dumps(DATA),
        "idempotency_key": "admin-key-1",
    }
    return {**form, **overrides}


def test_the_outbox_lists_and_filters_by_status_and_errcode(admin_client, user_a, run_jobs, wechat):
    wechat.fault(SEND, 47003)
    failed = queue_message(user_a, "order-1")
    run_jobs()
    assert OutboxMessage.objects.get(id=failed.id).status == "failed"
    queue_message(user_a, "order-2")  # pending
    url = reverse(CHANGELIST)
    assert admin_client.get(url).status_code == 200
    by_status = admin_client.get(url, {"status__exact": "failed"})
    assert by_status.status_code == 200
    assert [row.id for row in by_status.context["cl"].result_list] == [failed.id]
    by_errcode = admin_client.get(url, {"errcode": "47003"})
    assert [row.id for row in by_errcode.context["cl"].result_list] == [failed.id]


def test_send_again_requeues_failed_and_refused_messages_only(
    admin_client, user_a, rq_queues, run_jobs, wechat
):
    wechat.fault(SEND, 47003)
    failed = queue_message(user_a, "order-1")
    run_jobs()
    refused = queue_message(user_a, "order-2")
    pending = queue_message(user_a, "order-3")
    rq_queues["default"].empty()  # these two wait: one is refused by hand, one stays pending
    OutboxMessage.objects.filter(id=refused.id).update(status="refused", errcode=43101)

    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "send_again", "_selected_action": [failed.id, refused.id, pending.id]},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert "2 message(s) queued to be sent again." in shown
    assert any("1 message(s) skipped" in text for text in shown)
    assert rq_queues["default"].count == 2
    assert OutboxMessage.objects.get(id=refused.id).errcode is None

    subscription_grant_record(user_id=user_a, template_ids=[TEMPLATE])  # one per message
    run_jobs()
    statuses = dict(OutboxMessage.objects.values_list("id", "status"))
    assert (statuses[failed.id], statuses[refused.id], statuses[pending.id]) == (
        "sent",
        "sent",
        "pending",
    )
    assert len(wechat.messages(APPID_A)) == 2


def test_the_add_form_sends_one_message(admin_client, user_a, rq_queues, run_jobs, wechat):
    page = admin_client.get(reverse(ADD))
    assert page.status_code == 200
    assert page.context["adminform"].form["idempotency_key"].value().startswith("admin-")

    response = admin_client.post(reverse(ADD), send_form(user_a))
    assert response.status_code == 302, response.content
    message = OutboxMessage.objects.get()
    assert (message.status, message.idempotency_key, message.data) == (
        "pending",
        "admin-key-1",
        DATA,
    )
    assert message.mini_program.appid == APPID_A
    assert rq_queues["default"].count == 1
    run_jobs()
    assert OutboxMessage.objects.get().status == "sent"
    sent = wechat.messages(APPID_A)
    assert [(m["template_id"], m["page"], m["data"]) for m in sent] == [
        (TEMPLATE, "pages/index/index", DATA)
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("template_id", "bad id"),
        ("page", "/pages/index/index"),
        ("data", '{"thing1": "not an object"}'),
        ("data", "not json"),
        ("idempotency_key", ""),
        ("user", "987654321"),
    ],
)
def test_the_add_form_refuses_bad_input_and_sends_nothing(
    admin_client, user_a, rq_queues, field, value
):
    response = admin_client.post(reverse(ADD), send_form(user_a, **{field: value}))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert OutboxMessage.objects.count() == 0
    assert rq_queues["default"].count == 0


def test_the_add_form_refuses_a_used_idempotency_key(admin_client, user_a, rq_queues):
    assert admin_client.post(reverse(ADD), send_form(user_a)).status_code == 302
    again = admin_client.post(reverse(ADD), send_form(user_a))
    assert again.status_code == 200
    assert "idempotency_key" in again.context["adminform"].form.errors
    assert OutboxMessage.objects.count() == 1
    assert rq_queues["default"].count == 1


def test_a_message_is_read_only_in_the_admin(admin_client, user_a):
    message = queue_message(user_a, "order-1")
    url = reverse("admin:notifications_outboxmessage_change", args=[message.id])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"template_id": "changed", "status": "sent"})
    message.refresh_from_db()
    assert (message.template_id, message.status) == (TEMPLATE, "pending")


def test_grants_are_listed(admin_client, user_a):
    response = admin_client.get(reverse("admin:notifications_subscriptiongrant_changelist"))
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert [(row.template_id, row.remaining) for row in rows] == [(TEMPLATE, 1)]
