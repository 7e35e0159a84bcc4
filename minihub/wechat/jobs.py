"""RQ jobs of the wechat app. Jobs take ids and call a service, imported when the job runs:
the services module imports these jobs to enqueue them."""


def push_event_handle_job(event_id: int) -> bool:
    """Per pushed event: idempotent (an event already handled is skipped), safe to retry."""
    from minihub.wechat.services import push_event_handle

    return push_event_handle(event_id=event_id)


def push_events_requeue_job() -> int:
    """Cron, every 10 minutes: re-enqueues events whose job was lost; idempotent."""
    from minihub.wechat.services import push_events_requeue_stale

    return push_events_requeue_stale()


def push_events_prune_job() -> int:
    """Cron, daily: deletes handled events after 30 days; idempotent."""
    from minihub.wechat.services import push_events_prune

    return push_events_prune()
