"""RQ jobs of subscribe messages: they take ids, call one service, and are idempotent.

Each job imports its service when it runs: the services module imports these jobs to
enqueue them.
"""


def outbox_message_send_job(message_id: int) -> None:
    """Enqueued on commit with a timeout and retries with backoff (safe: the send is fenced)."""
    from minihub.notifications.services import outbox_message_deliver

    outbox_message_deliver(message_id=message_id)


def outbox_sweep_job() -> int:
    """Cron, every minute: requeues only abandoned messages, so running it twice is harmless."""
    from minihub.notifications.services import outbox_messages_requeue_stale

    return outbox_messages_requeue_stale()
