"""Jobs: enqueued on commit, run by real RQ workers with MiniHubWorker, failures kept."""

import logging

import pytest
from django.contrib.auth.models import User as StaffUser
from django.db import transaction
from django_rq.settings import get_queues_list
from rq.registry import FailedJobRegistry

from minihub.core.jobs import enqueue_on_commit
from tests import jobs_for_tests


@pytest.mark.django_db(transaction=True)
def test_nothing_is_enqueued_when_the_transaction_rolls_back(rq_queues):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(jobs_for_tests.failing_job, "never")
        raise RuntimeError("roll back")
    assert rq_queues["default"].count == 0


@pytest.mark.django_db(transaction=True)
def test_a_job_is_enqueued_once_the_transaction_commits(rq_queues):
    with transaction.atomic():
        enqueue_on_commit(jobs_for_tests.failing_job, "later", queue="low", timeout=30)
        assert rq_queues["low"].count == 0  # not before the commit
    (job,) = rq_queues["low"].jobs
    assert job.args == ["later"]  # stored as JSON
    assert job.timeout == 30
    assert job.result_ttl == 0  # results are not kept unless asked


@pytest.mark.django_db(transaction=True)
def test_each_job_gets_its_own_database_connection(rq_queues, worker_burst, redis_db):
    for _ in range(2):
        enqueue_on_commit(jobs_for_tests.record_connection_job, "test:connections")
    result = worker_burst()
    ids = redis_db.lrange("test:connections", 0, -1)
    assert len(ids) == 2
    assert ids[0] != ids[1]
    # Log lines of a job carry its id instead of a request id.
    assert "[job:" in result.stderr + result.stdout


@pytest.mark.django_db(transaction=True, databases=["default", "admin"])
def test_failed_jobs_are_kept_visible_and_rerunnable_from_the_admin(
    rq_queues, worker_burst, client
):
    enqueue_on_commit(jobs_for_tests.failing_job, "boom-42")
    worker_burst()
    registry = FailedJobRegistry(queue=rq_queues["default"])
    (job_id,) = registry.get_job_ids()
    job = rq_queues["default"].fetch_job(job_id)
    assert "boom-42" in job.latest_result().exc_string
    staff = StaffUser.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    client.force_login(staff)
    assert client.get("/admin/rq/").status_code == 200
    names = [queue["name"] for queue in get_queues_list()]
    index = names.index("default")
    page = client.get(f"/admin/rq/queues/{index}/failed/")
    assert page.status_code == 200
    assert job_id in page.content.decode()
    # Requeue, as the dashboard's button does.
    registry.requeue(job_id)
    assert rq_queues["default"].count == 1


@pytest.mark.django_db(transaction=True)
def test_in_debug_jobs_run_inline_after_commit_and_failures_are_only_logged(
    settings, rq_queues, redis_db, caplog
):
    settings.JOBS_RUN_INLINE = True
    caplog.set_level(logging.ERROR)
    with transaction.atomic():
        enqueue_on_commit(jobs_for_tests.record_connection_job, "test:inline")
        assert redis_db.llen("test:inline") == 0
    assert redis_db.llen("test:inline") == 1
    enqueue_on_commit(jobs_for_tests.failing_job, "inline-boom")
    assert "inline-boom" in caplog.text
    assert rq_queues["default"].count == 0
