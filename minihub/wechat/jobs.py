"""RQ jobs of the wechat app. Jobs take ids and call a service."""

from minihub.wechat.push_events import (
    push_event_handle,
    push_events_prune,
    push_events_requeue_stale,
)
from minihub.wechat.tokens import access_tokens_refresh_all


def access_tokens_refresh_job() -> int:
    """Cron, every minute: idempotent (only expiring tokens are fetched)."""
    return access_tokens_refresh_all()


def push_event_handle_job(event_id: int) -> bool:
    """Per pushed event: idempotent (an event already handled is skipped), safe to retry."""
    return push_event_handle(event_id=event_id)


def push_events_requeue_job() -> int:
    """Cron, every 10 minutes: re-enqueues events whose job was lost; idempotent."""
    return push_events_requeue_stale()


def push_events_prune_job() -> int:
    """Cron, daily: deletes handled events after 30 days; idempotent."""
    return push_events_prune()
