"""Nothing read from Redis runs code: the cache and the job queues hold JSON, not pickles.

Each attack plants what someone able to write to Redis would: a pickle whose
loading runs a command (here, creating a marker file).
"""

import json
import os
import pickle
import zlib

import pytest
from django.core.cache import cache
from rq.cron import CronJob

from minihub.core.jobs import enqueue_on_commit
from tests.conftest import APPID_A
from tests.helpers import app_headers
from tests.jobs_for_tests import record_connection_job


class RunsACommand:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def planted_pickle(marker) -> bytes:
    return pickle.dumps(RunsACommand(marker), protocol=pickle.HIGHEST_PROTOCOL)


def test_a_pickle_planted_in_the_tenant_cache_runs_nothing(client, tenants, tmp_path, redis_db):
    marker = tmp_path / "owned"
    key = cache.make_and_validate_key(f"tenant:v1:{APPID_A}")
    redis_db.set(key, planted_pickle(marker))
    response = client.get("/api/v2/albums", **app_headers(APPID_A))
    assert not marker.exists()
    assert response.status_code == 200  # read as a miss, refilled from the database
    assert json.loads(redis_db.get(key))["appid"] == APPID_A


@pytest.mark.django_db(transaction=True)
def test_a_pickle_planted_in_a_job_runs_nothing(rq_queues, worker_burst, tmp_path):
    marker = tmp_path / "owned"
    job = rq_queues["default"].enqueue(record_connection_job, "unused")
    rq_queues["default"].connection.hset(job.key, "data", zlib.compress(planted_pickle(marker)))
    worker_burst()
    assert not marker.exists()
    assert rq_queues["default"].failed_job_registry.get_job_ids() == [job.id]


@pytest.mark.django_db(transaction=True)
def test_what_minihub_enqueues_is_json(rq_queues):
    enqueue_on_commit(record_connection_job, "a-list")
    [job_id] = rq_queues["default"].job_ids
    stored = rq_queues["default"].connection.hget(f"rq:job:{job_id}", "data")
    assert json.loads(zlib.decompress(stored))[2] == ["a-list"]


@pytest.mark.django_db(transaction=True)
def test_jobs_from_rqs_cron_scheduler_still_run(rq_queues, worker_burst, redis_db):
    # RQ's cron always pickles the jobs it enqueues: plain data, which stays readable.
    cron_job = CronJob(
        func=record_connection_job, queue_name="default", args=("cron-list",), interval=60
    )
    cron_job.enqueue(rq_queues["default"].connection)
    worker_burst()
    assert redis_db.llen("cron-list") == 1
