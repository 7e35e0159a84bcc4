"""Handling stored push events: one handler per event type, run by a job exactly once."""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from minihub.core.jobs import enqueue_on_commit, retry_with_backoff
from minihub.wechat.models import PushEvent
from minihub.wechat.selectors import user_id_for_openid

logger = logging.getLogger(__name__)

# Unhandled after this long, an event's job was lost (e.g. Redis down at commit time).
STALE_AFTER = timedelta(minutes=10)
# Requeued only this long: a handler that keeps failing waits in the failed-job registry.
REQUEUE_UNTIL = timedelta(hours=1)
# Handled events are kept this long for support questions, then pruned.
KEEP_HANDLED = timedelta(days=30)


def push_event_enqueue(*, event_id: int) -> None:
    # Imported here: jobs.py imports this module.
    from minihub.wechat.jobs import push_event_handle_job

    # Safe to retry: handling commits together with the handled mark, or not at all.
    enqueue_on_commit(push_event_handle_job, event_id, retry=retry_with_backoff())


def push_event_handle(*, event_id: int) -> bool:
    """Run the event's handler unless it ran already; True if it ran now."""
    with transaction.atomic():
        event = (
            PushEvent.objects.select_for_update()
            .filter(id=event_id, handled_at__isnull=True)
            .first()
        )
        if event is None:
            return False  # handled before (a retry or a requeue), or pruned
        handler = EVENT_HANDLERS.get(event.event) if event.msg_type == "event" else None
        if handler is None:
            logger.info("push %s/%s stored without a handler", event.msg_type, event.event)
        else:
            handler(event)
        event.handled_at = timezone.now()
        event.save(update_fields=["handled_at"])
    return True


def push_events_requeue_stale() -> int:
    """Enqueue again the recent events whose job never ran; how many."""
    now = timezone.now()
    stale = PushEvent.objects.filter(
        handled_at__isnull=True,
        received_at__lt=now - STALE_AFTER,
        received_at__gte=now - REQUEUE_UNTIL,
    )
    ids = list(stale.values_list("id", flat=True)[:1000])
    for event_id in ids:
        push_event_enqueue(event_id=event_id)
    return len(ids)


def push_events_prune() -> int:
    """Delete handled events older than KEEP_HANDLED; how many."""
    cutoff = timezone.now() - KEEP_HANDLED
    deleted, _ = PushEvent.objects.filter(handled_at__lt=cutoff).delete()
    return deleted


# --- handlers ----------------------------------------------------------------------------


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


def _subscription_popup_handle(event: PushEvent) -> None:
    """subscribe_msg_popup_event: record one-time grants for the accepted templates."""
    template_ids = accepted_template_ids(event.payload)
    openid = event.payload.get("FromUserName")
    user_id = (
        user_id_for_openid(mini_program_id=event.mini_program_id, openid=openid)
        if isinstance(openid, str) and openid
        else None
    )
    if not template_ids or user_id is None:
        return  # nothing accepted, or a user who never logged in here
    # Imported here: the notifications app builds on this one.
    from minihub.notifications.services import subscription_grant_record

    try:
        subscription_grant_record(user_id=user_id, template_ids=template_ids)
    except ValidationError as exc:
        # Retrying cannot make these ids valid: handled, with a trace.
        logger.warning("push event %s: grants not recorded: %s", event.id, exc.messages)


EVENT_HANDLERS: dict[str, Callable[[PushEvent], None]] = {
    "subscribe_msg_popup_event": _subscription_popup_handle,
}
