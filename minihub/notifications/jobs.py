"""RQ jobs of subscribe messages: they take ids, call one service, and are idempotent.

`services` is imported as a module: it enqueues these jobs, so each module
needs the other only when a function runs.
"""

from minihub.notifications import services


def outbox_message_send_job(message_id: int) -> None:
    """Enqueued on commit with a timeout and retries with backoff (safe: the send is fenced)."""
    services.outbox_message_deliver(message_id=message_id)


def outbox_sweep_job() -> int:
    """Cron, every minute: requeues only abandoned messages, so running it twice is harmless."""
    return services.outbox_messages_requeue_stale()
