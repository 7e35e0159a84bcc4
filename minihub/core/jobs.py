"""Background jobs on django-rq: enqueued when the transaction commits, run by MiniHubWorker.

Rules every job follows (docs/architecture.md, "Jobs"): it takes ids, not objects; it calls
one service; it is idempotent (running it twice changes nothing more than
running it once); it has a timeout; it retries with backoff only where a
retry is safe. In `debug` (JOBS_RUN_INLINE) jobs run in-process, right after
the commit.
"""

import logging
from collections.abc import Callable

import django_rq
import sentry_sdk
from django.conf import settings
from django.db import close_old_connections, connections, transaction
from rq import Retry, Worker

from minihub.core.logging import bind_request_id, unbind_request_id
from minihub.core.serializers import JobSerializer

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 60
# Failed jobs stay visible (and re-runnable) in the admin's RQ dashboard for a week.
FAILURE_TTL_SECONDS = 7 * 24 * 3600


def retry_with_backoff(attempts: int = 3, first_delay: int = 5) -> Retry:
    """Retries at first_delay, 3x, 9x... seconds (RQ's scheduler runs them)."""
    return Retry(max=attempts, interval=[first_delay * 3**n for n in range(attempts)])


def enqueue_on_commit(
    func: Callable,
    *args,
    queue: str = "default",
    timeout: int = DEFAULT_TIMEOUT_SECONDS,
    retry: Retry | None = None,
    job_id: str | None = None,
    **kwargs,
) -> None:
    """Run `func(*args, **kwargs)` in a worker once the current transaction commits.

    Nothing is enqueued if the transaction rolls back. Outside a transaction
    the job is enqueued at once.
    """

    def enqueue() -> None:
        if settings.JOBS_RUN_INLINE:
            _run_inline(func, args, kwargs)
            return
        django_rq.get_queue(queue).enqueue(
            func,
            *args,
            job_timeout=timeout,
            retry=retry,
            job_id=job_id,
            result_ttl=0,
            failure_ttl=FAILURE_TTL_SECONDS,
            **kwargs,
        )

    transaction.on_commit(enqueue)


def _run_inline(func: Callable, args: tuple, kwargs: dict) -> None:
    try:
        func(*args, **kwargs)
    except Exception:
        # As a worker would: logged (and reported), never the request's failure.
        logger.exception("inline job %s failed", func.__qualname__)


class MiniHubWorker(Worker):
    """The seed's SentryWorker, the modern way.

    Sentry needs nothing here: settings initialise sentry-sdk with its RQ
    integration, which reports job failures with the job's id and function.
    This class adds what the integration does not: each job's id in every log
    line and Sentry event, and no database connection shared across the fork
    or kept from one job to the next.
    """

    def __init__(self, *args, serializer=None, **kwargs):
        # Never pickle, whatever `rqworker --serializer` says (its default is pickle).
        super().__init__(*args, serializer=JobSerializer, **kwargs)

    def execute_job(self, job, queue):
        # The work horse is a fork: it must not inherit an open connection.
        connections.close_all()
        return super().execute_job(job, queue)

    def perform_job(self, job, queue, execution):
        token = bind_request_id(f"job:{job.id}")
        close_old_connections()
        try:
            with sentry_sdk.new_scope() as scope:
                scope.set_tag("job_id", job.id)
                scope.set_tag("job_func", job.func_name)
                return super().perform_job(job, queue, execution)
        finally:
            connections.close_all()
            unbind_request_id(token)
