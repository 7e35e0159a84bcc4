"""Writes of subscribe messages: one-time grants, the outbox, and delivery through WeChat.

How a message travels: `subscribe_message_send` writes an outbox row in the
caller's transaction and enqueues `outbox_message_send_job` when it commits
(a rollback sends nothing). The job calls `outbox_message_deliver`, which
claims the row (pending -> sending, with a lease, committed) before calling
WeChat and records the outcome after. `outbox_messages_requeue_stale` (cron)
gives a new job to rows whose worker died or whose job was lost.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from minihub.accounts.models import User
from minihub.accounts.selectors import user_id_for_openid
from minihub.core import figures
from minihub.core.db import on_primary
from minihub.core.errors import ApiError, invalid_arguments, validation_error_from
from minihub.core.jobs import enqueue_on_commit, retry_with_backoff
from minihub.integrations.wechat.client import wechat_client
from minihub.integrations.wechat.errors import (
    WeChatError,
    WeChatSubscriptionRefused,
    WeChatUnavailable,
)
from minihub.notifications.jobs import outbox_message_send_job
from minihub.notifications.models import OutboxMessage, SubscriptionGrant
from minihub.notifications.validators import (
    validate_idempotency_key,
    validate_message_data,
    validate_page,
    validate_template_id,
)
from minihub.tenants.access_tokens import with_access_token
from minihub.wechat.models import PushEvent

logger = logging.getLogger(__name__)
Status = OutboxMessage.Status

SEND_PATH = "/cgi-bin/message/subscribe/send"
SEND_JOB_TIMEOUT_SECONDS = 60
# Longer than a send job can live (RQ kills a work horse at its timeout + 60 s),
# so a live worker never loses its lease to another one.
SEND_LEASE = timedelta(seconds=SEND_JOB_TIMEOUT_SECONDS + 120)
# Longer than RQ's own retries take (5 + 15 + 45 s): nobody is coming for it.
PENDING_REQUEUE_AFTER = timedelta(minutes=15)
# Attempts before giving up (failed, kept for the admin): WeChat busy for
# long, or a worker that keeps dying mid-send.
MAX_SEND_ATTEMPTS = 10
SWEEP_BATCH = 500
NO_GRANT_ERRMSG = "no one-time subscription left for this template"


def _user_locked(user_id: int) -> User | None:
    """The user's row, locked to the end of the transaction: it serialises one user's writes
    here, which would otherwise race to insert the same key (a duplicate, or a deadlock)."""
    return User.objects.select_for_update().filter(id=user_id).only("mini_program_id").first()


# --- grants ----------------------------------------------------------------------------------


def _distinct_template_ids(template_ids: list[str]) -> list[str]:
    if not isinstance(template_ids, list | tuple) or not template_ids:
        raise ApiError("validation_error", "template_ids must be a non-empty list.")
    for template_id in template_ids:
        try:
            validate_template_id(template_id)
        except ValidationError as exc:
            raise validation_error_from(exc) from exc
    return list(dict.fromkeys(template_ids))


def _grant_add_one(*, user_id: int, template_id: str) -> None:
    added = SubscriptionGrant.objects.filter(user_id=user_id, template_id=template_id).update(
        remaining=F("remaining") + 1, updated_at=timezone.now()
    )
    if not added:
        SubscriptionGrant.objects.create(user_id=user_id, template_id=template_id, remaining=1)


def subscription_grant_record(*, user_id: int, template_ids: list[str]) -> dict[str, int]:
    """One more one-time grant per template the user accepted (duplicates count once).

    Returns each template's count of unused grants now, in the order given.
    """
    distinct = _distinct_template_ids(template_ids)
    with transaction.atomic():
        if _user_locked(user_id) is None:
            raise ApiError("validation_error", "No such user.")
        for template_id in distinct:
            _grant_add_one(user_id=user_id, template_id=template_id)
        counts = dict(
            on_primary(SubscriptionGrant)
            .filter(user_id=user_id, template_id__in=distinct)
            .values_list("template_id", "remaining")
        )
    return {template_id: counts[template_id] for template_id in distinct}


# --- grants from WeChat's subscription pop-up (a pushed event) ----------------------------


def _popup_entries(payload: dict) -> list[dict]:
    """XML: <SubscribeMsgPopupEvent><List>…</List>…; JSON: "List": [...] (or one object)."""
    container = payload.get("SubscribeMsgPopupEvent", payload)
    entries = container.get("List") if isinstance(container, dict) else None
    if isinstance(entries, dict):
        entries = [entries]
    return [entry for entry in entries or [] if isinstance(entry, dict)]


def accepted_template_ids(payload: dict) -> list[str]:
    """Template ids the user accepted in the subscription pop-up, in order, once each."""
    accepted = [
        entry.get("TemplateId")
        for entry in _popup_entries(payload)
        if entry.get("SubscribeStatusString") == "accept"
    ]
    return list(dict.fromkeys(t for t in accepted if isinstance(t, str) and t))


def subscription_popup_event_handle(event: PushEvent) -> None:
    """WeChat's subscribe_msg_popup_event (subscribed in apps.py): one more one-time grant
    per template the user accepted in the pop-up."""
    template_ids = accepted_template_ids(event.payload)
    openid = event.payload.get("FromUserName")
    user_id = (
        user_id_for_openid(mini_program_id=event.mini_program_id, openid=openid)
        if isinstance(openid, str) and openid
        else None
    )
    if not template_ids or user_id is None:
        return  # nothing accepted, or a user who never logged in here
    try:
        subscription_grant_record(user_id=user_id, template_ids=template_ids)
    except ApiError as exc:
        # Retrying cannot make these ids valid: handled, with a trace.
        logger.warning("push event %s: grants not recorded: %s", event.id, exc.message)


# --- the outbox ------------------------------------------------------------------------------


def _validate_message(*, template_id: str, data: dict, page: str, idempotency_key: str) -> None:
    errors = {}
    for field, validate, value in (
        ("template_id", validate_template_id, template_id),
        ("data", validate_message_data, data),
        ("page", validate_page, page),
        ("idempotency_key", validate_idempotency_key, idempotency_key),
    ):
        try:
            validate(value)
        except ValidationError as exc:
            errors[field] = exc.messages
    if errors:
        raise invalid_arguments(errors)


def _message_with_key(*, mini_program_id: int, idempotency_key: str) -> OutboxMessage | None:
    return (
        on_primary(OutboxMessage)
        .filter(mini_program_id=mini_program_id, idempotency_key=idempotency_key)
        .first()
    )


def _require_same_message(message: OutboxMessage, wanted: dict) -> None:
    if any(getattr(message, field) != value for field, value in wanted.items()):
        raise invalid_arguments(
            {"idempotency_key": ["This key was already used for a different message."]}
        )


def _enqueue_send(message_id: int) -> None:
    enqueue_on_commit(
        outbox_message_send_job,
        message_id,
        timeout=SEND_JOB_TIMEOUT_SECONDS,
        retry=retry_with_backoff(),  # safe: delivery is idempotent, see outbox_message_deliver
    )


def subscribe_message_send(
    *, user_id: int, template_id: str, data: dict, page: str = "", idempotency_key: str
) -> OutboxMessage:
    """Queue a subscribe message to a user; a job sends it once the caller's transaction commits.

    The same idempotency_key in the user's mini-program is the same message:
    the first row is returned and nothing more is sent. Reusing a key for a
    different message is a validation_error, like any invalid argument.
    """
    _validate_message(
        template_id=template_id, data=data, page=page, idempotency_key=idempotency_key
    )
    with transaction.atomic():  # the caller's transaction, or one of its own
        user = _user_locked(user_id)
        if user is None:
            raise invalid_arguments({"user": ["No such user."]})
        wanted = {"user_id": user.id, "template_id": template_id, "data": data, "page": page}
        key = {"mini_program_id": user.mini_program_id, "idempotency_key": idempotency_key}
        message = _message_with_key(**key)
        if message is None:
            try:
                with transaction.atomic():  # a savepoint: a lost race leaves the transaction usable
                    message = OutboxMessage.objects.create(**key, **wanted)
            except IntegrityError:
                message = _message_with_key(**key)  # another user's send took the key meanwhile
                if message is None:
                    raise
            else:
                _enqueue_send(message.id)
                return message
        _require_same_message(message, wanted)
        return message


def outbox_message_resend(*, message_id: int) -> bool:
    """The admin's "send again" for a failed or refused message. False if it was neither."""
    with transaction.atomic():
        again = OutboxMessage.objects.filter(
            id=message_id, status__in=[Status.FAILED, Status.REFUSED]
        ).update(
            status=Status.PENDING, errcode=None, errmsg="", attempts=0, updated_at=timezone.now()
        )
        if again:
            _enqueue_send(message_id)
    return bool(again)


def outbox_messages_requeue_stale() -> int:
    """Give abandoned messages a new send job; returns how many.

    Abandoned: a `sending` row whose lease ran out (its worker was killed or
    timed out mid-send), or a `pending` row nobody tried for
    PENDING_REQUEUE_AFTER (its job was lost, e.g. Redis was down at commit,
    or RQ's retries ran out). Back to `pending`, keeping its reserved grant.
    """
    now = timezone.now()
    abandoned = (
        Q(status=Status.SENDING, lease_expires_at__lt=now),
        Q(status=Status.PENDING, updated_at__lt=now - PENDING_REQUEUE_AFTER),
    )
    requeued = 0
    for condition in abandoned:
        ids = list(
            on_primary(OutboxMessage)
            .filter(condition)
            .order_by("id")
            .values_list("id", flat=True)[:SWEEP_BATCH]
        )
        for message_id in ids:
            with transaction.atomic():
                # The condition again: a worker may have settled it since it was listed.
                if OutboxMessage.objects.filter(condition, id=message_id).update(
                    status=Status.PENDING, lease_expires_at=None, updated_at=now
                ):
                    _enqueue_send(message_id)
                    requeued += 1
    if requeued:
        logger.warning("requeued %d abandoned outbox messages", requeued)
    return requeued


# --- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    """What one attempt needs, read under the row lock."""

    message_id: int
    attempt: int  # fences the outcome: a takeover after an expired lease has a higher one
    appid: str
    payload: dict


def _grant_take(message: OutboxMessage) -> bool:
    return bool(
        SubscriptionGrant.objects.filter(
            user_id=message.user_id, template_id=message.template_id, remaining__gt=0
        ).update(remaining=F("remaining") - 1, updated_at=timezone.now())
    )


def _grant_give_back(message: OutboxMessage) -> None:
    SubscriptionGrant.objects.filter(
        user_id=message.user_id, template_id=message.template_id
    ).update(remaining=F("remaining") + 1, updated_at=timezone.now())


def _send_payload(message: OutboxMessage, openid: str) -> dict:
    payload = {
        "touser": openid,
        "template_id": message.template_id,
        "data": message.data,
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }
    if message.page:
        payload["page"] = message.page
    return payload


def _give_up(message: OutboxMessage) -> None:
    if message.grant_reserved:
        _grant_give_back(message)
    message.status, message.grant_reserved = Status.FAILED, False
    message.errmsg = f"gave up after {message.attempts} attempts; last: {message.errmsg}"[:255]
    message.save(update_fields=["status", "grant_reserved", "errmsg", "updated_at"])
    _status_figure(message)


def _status_figure(message: OutboxMessage) -> None:
    name = f"{figures.SUBSCRIBE}{message.status}"
    figures.figure_add(mini_program_id=message.mini_program_id, name=name)


def _claim(message_id: int) -> _Claim | None:
    """pending -> sending, committed before WeChat is called; None if there is nothing to send."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(id=message_id).first()
        if message is None or message.status != Status.PENDING:
            return None  # done already, or another worker holds the lease
        if message.attempts >= MAX_SEND_ATTEMPTS:
            _give_up(message)
            return None
        if not message.grant_reserved and not _grant_take(message):
            message.status, message.errmsg = Status.REFUSED, NO_GRANT_ERRMSG
            message.save(update_fields=["status", "errmsg", "updated_at"])
            _status_figure(message)
            return None
        message.status = Status.SENDING
        message.grant_reserved = True
        message.attempts += 1
        message.lease_expires_at = timezone.now() + SEND_LEASE
        message.save(
            update_fields=["status", "grant_reserved", "attempts", "lease_expires_at", "updated_at"]
        )
        openid, appid = (
            on_primary(User)
            .filter(id=message.user_id)
            .values_list("openid", "mini_program__appid")
            .get()
        )
    return _Claim(message.id, message.attempts, appid, _send_payload(message, openid))


def _record_outcome(
    claim: _Claim, status: str, *, error: WeChatError | None = None, msgid: int | None = None
) -> None:
    """The attempt's outcome, unless its lease expired and another attempt took over."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(id=claim.message_id, status=Status.SENDING, attempts=claim.attempt)
            .first()
        )
        if message is None:
            logger.warning(
                "outbox message %s: attempt %s outlived its lease; outcome %s not recorded",
                claim.message_id,
                claim.attempt,
                status,
            )
            return
        if status == Status.FAILED:
            _grant_give_back(message)  # WeChat delivered nothing: the user's grant is unused
        # Sent and refused (43101) used the grant up; pending keeps it for the next attempt.
        message.grant_reserved = status == Status.PENDING
        message.status = status
        message.lease_expires_at = None
        message.errcode = error.errcode if error else None
        message.errmsg = error.errmsg[:255] if error else ""
        if status == Status.SENT:
            message.msgid, message.sent_at = msgid, timezone.now()
        message.save()
        _status_figure(message)
    if error is not None:
        logger.warning(
            "outbox message %s: %s after WeChat %s %s",
            claim.message_id,
            status,
            error.errcode,
            error.errmsg,
        )


def _msgid(answer: dict | bytes) -> int | None:
    # Never a reason to fail after WeChat accepted: that would send the message again.
    try:
        return int(answer["msgid"])
    except (KeyError, TypeError, ValueError):
        return None


def outbox_message_deliver(*, message_id: int) -> None:
    """Send one outbox message with subscribeMessage.send, if it is still pending.

    Idempotent: the row is locked and claimed (pending -> sending, with a
    lease, committed) before WeChat is called, so a second run of the job, or
    a concurrent one, finds it claimed or settled and does nothing.

    Outcomes: sent (msgid kept, one grant used); refused without calling
    WeChat when the user has no grant left for the template, or on 43101
    (the grant is used up); failed on any other WeChat error (errcode and
    errmsg kept, the grant given back); WeChat busy (-1, 45011, no answer,
    after the client's own retries): back to pending and re-raised, so RQ
    retries with backoff; failed after MAX_SEND_ATTEMPTS.

    The honest limit: WeChat has no idempotency key, so delivery is at least
    once in one narrow window. If the worker dies (or the job times out)
    after WeChat accepted the message but before `sent` is committed (one
    HTTP answer and one UPDATE), the lease runs out, the sweep requeues the
    message and it goes out again. The WeChat client's own retry of a call
    whose answer timed out has the same window. A user with a single grant
    still gets one message: WeChat answers the second with 43101, and the row
    then ends `refused` although the message arrived.
    """
    claim = _claim(message_id)
    if claim is None:
        return
    try:
        answer = with_access_token(
            claim.appid,
            lambda token: wechat_client().call_with_token(
                "POST", SEND_PATH, access_token=token, json=claim.payload
            ),
        )
    except WeChatSubscriptionRefused as exc:
        _record_outcome(claim, Status.REFUSED, error=exc)
    except WeChatUnavailable as exc:
        _record_outcome(claim, Status.PENDING, error=exc)
        raise  # RQ retries with backoff; the claim gives up after MAX_SEND_ATTEMPTS
    except WeChatError as exc:
        _record_outcome(claim, Status.FAILED, error=exc)
    else:
        _record_outcome(claim, Status.SENT, msgid=_msgid(answer))
