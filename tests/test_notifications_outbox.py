"""Subscribe messages from the outbox to the fake WeChat server, through real RQ workers."""

import contextlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from minihub.integrations.wechat.errors import WeChatUnavailable
from minihub.notifications.jobs import outbox_message_send_job, outbox_sweep_job
from minihub.notifications.models import OutboxMessage, SubscriptionGrant
from minihub.notifications.services import (
    MAX_SEND_ATTEMPTS,
    NO_GRANT_ERRMSG,
    PENDING_REQUEUE_AFTER,
    outbox_message_deliver,
    outbox_message_resend,
    outbox_messages_requeue_stale,
    subscribe_message_send,
    subscription_grant_record,
)
from tests.conftest import APPID_A
from tests.fixtures.jobs import run_worker_burst, start_worker
from tests.helpers import log_in

SEND = "/cgi-bin/message/subscribe/send"
TEMPLATE = "tpl-order-shipped"
DATA = {"thing1": {"value": "Your order shipped"}, "character_string2": {"value": "SF1234"}}
WAIT_SECONDS = 30

# Each test runs its jobs in child worker processes: they must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def user_a(client, tenants, wechat):
    body = log_in(client, wechat, APPID_A, "openid-a")
    return body["user"]["id"]


@pytest.fixture
def worker_env(wechat):
    return {"WECHAT_API_BASE": wechat.base_url}


@pytest.fixture
def run_jobs(worker_burst, worker_env):
    """A burst worker pointed at the fake WeChat server."""
    return lambda: worker_burst(env=worker_env)


def grant(user_id: int, times: int = 1) -> None:
    for _ in range(times):
        subscription_grant_record(user_id=user_id, template_ids=[TEMPLATE])


def remaining(user_id: int) -> int:
    return SubscriptionGrant.objects.get(user_id=user_id, template_id=TEMPLATE).remaining


def queue_message(user_id: int, key: str = "order-1") -> OutboxMessage:
    with transaction.atomic():
        return subscribe_message_send(
            user_id=user_id,
            template_id=TEMPLATE,
            data=DATA,
            page="pages/order/detail?id=1",
            idempotency_key=key,
        )


def reloaded(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(id=message.id)


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


# --- transactions ------------------------------------------------------------------------------


def test_a_rolled_back_transaction_sends_nothing(user_a, rq_queues, run_jobs, wechat):
    grant(user_a)

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        subscribe_message_send(
            user_id=user_a, template_id=TEMPLATE, data=DATA, idempotency_key="order-1"
        )
        raise Rollback
    assert rq_queues["default"].count == 0
    run_jobs()
    assert wechat.messages(APPID_A) == []
    assert OutboxMessage.objects.count() == 0
    assert remaining(user_a) == 1


def test_a_committed_message_is_sent_once_although_its_job_runs_twice(
    user_a, rq_queues, run_jobs, wechat
):
    grant(user_a, times=2)  # WeChat would accept a duplicate
    message = queue_message(user_a)
    rq_queues["default"].enqueue(outbox_message_send_job, message.id)
    assert rq_queues["default"].count == 2
    run_jobs()
    sent = wechat.messages(APPID_A)
    assert len(sent) == 1
    assert sent[0]["touser"] == "openid-a"
    assert sent[0]["template_id"] == TEMPLATE
    assert sent[0]["data"] == DATA
    assert sent[0]["page"] == "pages/order/detail?id=1"
    message = reloaded(message)
    assert (message.status, message.attempts, message.msgid) == ("sent", 1, sent[0]["msgid"])
    assert message.sent_at is not None
    assert remaining(user_a) == 1


def test_two_workers_running_the_same_message_at_once_send_it_once(
    user_a, rq_queues, worker_env, wechat
):
    grant(user_a, times=2)
    message = queue_message(user_a)
    for _ in range(3):
        rq_queues["default"].enqueue(outbox_message_send_job, message.id)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run_worker_burst(env=worker_env), range(2)))
    assert [result.returncode for result in results] == [0, 0]
    assert len(wechat.messages(APPID_A)) == 1
    assert reloaded(message).status == "sent"
    assert remaining(user_a) == 1


def test_delivering_twice_in_process_sends_once(user_a, wechat):
    grant(user_a, times=2)
    message = queue_message(user_a)
    outbox_message_deliver(message_id=message.id)
    outbox_message_deliver(message_id=message.id)
    assert len(wechat.messages(APPID_A)) == 1
    assert wechat.stats()[SEND] == 1


def test_a_job_for_a_deleted_message_does_nothing(user_a, wechat):
    outbox_message_deliver(message_id=987654321)
    assert wechat.stats()[SEND] == 0


# --- grants ------------------------------------------------------------------------------------


def test_without_a_grant_the_message_is_refused_without_calling_wechat(user_a, run_jobs, wechat):
    message = queue_message(user_a)
    run_jobs()
    message = reloaded(message)
    assert (message.status, message.errcode, message.errmsg) == ("refused", None, NO_GRANT_ERRMSG)
    assert message.attempts == 0
    assert wechat.stats()[SEND] == 0
    assert wechat.stats()["/cgi-bin/stable_token"] == 0


def test_a_used_up_grant_refuses_the_next_message(user_a, run_jobs, wechat):
    grant(user_a)
    first, second = queue_message(user_a, "order-1"), queue_message(user_a, "order-2")
    run_jobs()
    assert {reloaded(first).status, reloaded(second).status} == {"sent", "refused"}
    assert len(wechat.messages(APPID_A)) == 1
    assert remaining(user_a) == 0


def test_43101_refuses_and_uses_the_grant_up(user_a, run_jobs, wechat):
    grant(user_a)
    wechat.fault(SEND, 43101)
    message = queue_message(user_a)
    run_jobs()
    message = reloaded(message)
    assert (message.status, message.errcode) == ("refused", 43101)
    assert "user refuse" in message.errmsg
    assert remaining(user_a) == 0
    assert wechat.messages(APPID_A) == []


# --- WeChat failures ---------------------------------------------------------------------------


def test_two_busy_answers_then_success_is_sent_by_the_clients_retries(user_a, run_jobs, wechat):
    grant(user_a)
    wechat.fault(SEND, -1, times=2)
    message = queue_message(user_a)
    run_jobs()
    message = reloaded(message)
    assert (message.status, message.attempts, message.errcode) == ("sent", 1, None)
    assert wechat.stats()[SEND] == 3
    assert len(wechat.messages(APPID_A)) == 1


def run_due_retries(rq_queues, run_jobs) -> None:
    """Wait until RQ's scheduled retries are due, then let a worker run them."""
    registry = rq_queues["default"].scheduled_job_registry
    job_ids = registry.get_job_ids()
    assert job_ids, "no retry was scheduled"
    due = max(registry.get_scheduled_time(job_id) for job_id in job_ids)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.5)
    run_jobs()


@pytest.mark.slow
@pytest.mark.parametrize("errcode", [-1, 45011])
def test_wechat_busy_past_the_clients_retries_is_retried_by_rq(
    user_a, rq_queues, run_jobs, wechat, errcode
):
    grant(user_a)
    wechat.fault(SEND, errcode, times=3)  # every attempt of the client's first call
    message = queue_message(user_a)
    run_jobs()
    message = reloaded(message)
    assert (message.status, message.attempts, message.errcode) == ("pending", 1, errcode)
    assert wechat.messages(APPID_A) == []
    assert remaining(user_a) == 0  # held for the retry, not handed to another message

    run_due_retries(rq_queues, run_jobs)
    message = reloaded(message)
    assert (message.status, message.attempts, message.errcode) == ("sent", 2, None)
    assert len(wechat.messages(APPID_A)) == 1
    assert remaining(user_a) == 0


def test_after_too_many_attempts_the_message_fails_and_its_grant_is_given_back(user_a, wechat):
    grant(user_a)
    message = queue_message(user_a)
    OutboxMessage.objects.filter(id=message.id).update(attempts=MAX_SEND_ATTEMPTS - 1)
    wechat.fault(SEND, -1, times=3)
    with pytest.raises(WeChatUnavailable):
        outbox_message_deliver(message_id=message.id)  # the last attempt: still busy
    assert reloaded(message).status == "pending"
    outbox_message_deliver(message_id=message.id)  # the retry gives up without calling WeChat
    message = reloaded(message)
    assert (message.status, message.errcode, message.attempts) == ("failed", -1, MAX_SEND_ATTEMPTS)
    assert message.errmsg.startswith(f"gave up after {MAX_SEND_ATTEMPTS} attempts")
    assert wechat.stats()[SEND] == 3
    assert remaining(user_a) == 1


@pytest.mark.parametrize(
    ("errcode", "errmsg"),
    [(47003, "argument invalid"), (40003, "invalid openid"), (40037, "rid:")],
)
def test_an_invalid_message_fails_with_the_errcode_kept(user_a, run_jobs, wechat, errcode, errmsg):
    grant(user_a)
    # 40037 (invalid template_id) is what WeChat answers for a template it does not know.
    wechat.fault(SEND, errcode)
    message = queue_message(user_a)
    run_jobs()
    message = reloaded(message)
    assert (message.status, message.errcode, message.attempts) == ("failed", errcode, 1)
    assert errmsg in message.errmsg
    assert remaining(user_a) == 1  # nothing was delivered: the grant is still the user's
    assert wechat.messages(APPID_A) == []
    assert wechat.stats()[SEND] == 1  # not retried


def test_a_failed_message_sent_again_is_delivered(user_a, rq_queues, run_jobs, wechat):
    grant(user_a)
    wechat.fault(SEND, 47003)
    message = queue_message(user_a)
    run_jobs()
    assert reloaded(message).status == "failed"
    assert outbox_message_resend(message_id=message.id) is True
    assert outbox_message_resend(message_id=message.id) is False  # pending now
    run_jobs()
    message = reloaded(message)
    assert (message.status, message.errcode) == ("sent", None)
    assert len(wechat.messages(APPID_A)) == 1


# --- abandoned messages ------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(parents.get(pid, []))
    return tree


def kill_tree(process) -> None:
    """SIGKILL a worker, its work horse and its scheduler at once: nobody cleans up."""
    for pid in process_tree(process.pid):
        with contextlib.suppress(ProcessLookupError):  # exited meanwhile
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=WAIT_SECONDS)
    process.stdout.close()


def test_a_worker_killed_mid_send_is_retried_and_sends_exactly_once(
    user_a, rq_queues, run_jobs, worker_env, wechat
):
    grant(user_a)
    message = queue_message(user_a)
    # WeChat holds the call open: the worker sits inside the HTTP request.
    wechat.fault(SEND, "timeout", times=1, delay=WAIT_SECONDS)
    worker = start_worker(env={**worker_env, "WECHAT_READ_TIMEOUT_SECONDS": str(WAIT_SECONDS * 2)})
    try:
        wait_until(lambda: wechat.stats()[SEND] == 1, "the worker to call WeChat")
        assert reloaded(message).status == "sending"
    finally:
        kill_tree(worker)
    assert wechat.messages(APPID_A) == []  # the fake never answered
    assert reloaded(message).status == "sending"

    # Time passes: the lease runs out, and the sweep (cron) finds the message.
    OutboxMessage.objects.filter(id=message.id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    rq_queues["default"].enqueue(outbox_sweep_job)
    run_jobs()

    sent = wechat.messages(APPID_A)
    assert len(sent) == 1
    message = reloaded(message)
    assert (message.status, message.attempts, message.msgid) == ("sent", 2, sent[0]["msgid"])
    assert remaining(user_a) == 0  # one grant for one message, not one per attempt


def test_the_sweep_leaves_live_sends_and_fresh_messages_alone(user_a, rq_queues):
    grant(user_a, times=2)
    fresh = queue_message(user_a, "order-1")
    sending = queue_message(user_a, "order-2")
    OutboxMessage.objects.filter(id=sending.id).update(
        status="sending", lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    rq_queues["default"].empty()
    assert outbox_messages_requeue_stale() == 0
    assert rq_queues["default"].count == 0
    assert (reloaded(fresh).status, reloaded(sending).status) == ("pending", "sending")


def test_a_message_whose_job_was_lost_is_sent_by_the_sweep(user_a, rq_queues, run_jobs, wechat):
    grant(user_a)
    message = queue_message(user_a)
    rq_queues["default"].empty()  # as if Redis had lost the job
    OutboxMessage.objects.filter(id=message.id).update(
        updated_at=timezone.now() - PENDING_REQUEUE_AFTER - timedelta(seconds=1)
    )
    rq_queues["default"].enqueue(outbox_sweep_job)
    run_jobs()
    assert reloaded(message).status == "sent"
    assert len(wechat.messages(APPID_A)) == 1
    # Requeued once: the next sweep finds nothing to do.
    assert outbox_messages_requeue_stale() == 0
