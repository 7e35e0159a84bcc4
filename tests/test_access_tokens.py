"""Access tokens across processes: single-flight, replaced only when still current, budgeted."""

import multiprocessing

import pytest
from django.db import connections
from rq.cron import CronScheduler

from minihub.core.redis import get_redis
from minihub.tenants import access_tokens as tokens
from minihub.tenants.jobs import access_tokens_refresh_job
from minihub.tenants.services import miniprogram_update
from tests.conftest import APPID_A, APPID_B

STABLE = "/cgi-bin/stable_token"
LEGACY = "/cgi-bin/token"
PROCESSES = 20


def _fetch_in_child(barrier, results):
    barrier.wait()  # all 20 ask at the same moment
    results.put(tokens.access_token_get(appid=APPID_A))
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_twenty_processes_on_a_cold_cache_cause_exactly_one_fetch(tenants, wechat):
    connections.close_all()  # children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    children = [
        context.Process(target=_fetch_in_child, args=(barrier, results)) for _ in range(PROCESSES)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
    assert [child.exitcode for child in children] == [0] * PROCESSES
    fetched = {results.get(timeout=5) for _ in range(PROCESSES)}
    assert len(fetched) == 1
    assert wechat.stats()[STABLE] == 1
    assert wechat.stats().get(LEGACY, 0) == 0


@pytest.mark.django_db
def test_a_rejected_token_is_replaced_once_and_only_if_still_current(tenants, wechat):
    first = tokens.access_token_get(appid=APPID_A)
    second = tokens.access_token_replace(appid=APPID_A, failing_token=first)
    assert second != first  # force_refresh: WeChat would hand back the same one otherwise
    # Another process reporting the same failure finds it already replaced.
    assert tokens.access_token_replace(appid=APPID_A, failing_token=first) == second
    assert tokens.access_token_get(appid=APPID_A) == second
    assert wechat.stats()[STABLE] == 2
    assert wechat.stats().get(LEGACY, 0) == 0


@pytest.mark.django_db
def test_force_refresh_waits_30_seconds_between_uses(tenants, wechat):
    first = tokens.access_token_get(appid=APPID_A)
    second = tokens.access_token_replace(appid=APPID_A, failing_token=first)
    # Within 30 s: a normal fetch, which the stable API answers with the same token.
    assert tokens.access_token_replace(appid=APPID_A, failing_token=second) == second
    get_redis().delete(tokens.FORCE_SPACING_KEY.format(appid=APPID_A))  # 30 s later,
    wechat.advance_clock(31)  # here and at WeChat
    third = tokens.access_token_replace(appid=APPID_A, failing_token=second)
    assert third not in (first, second)


@pytest.mark.django_db
def test_force_refresh_stops_at_20_a_day(tenants, wechat):
    token = tokens.access_token_get(appid=APPID_A)
    forced = 0
    for _ in range(tokens.FORCE_REFRESH_PER_DAY + 3):
        get_redis().delete(tokens.FORCE_SPACING_KEY.format(appid=APPID_A))
        wechat.advance_clock(31)
        replacement = tokens.access_token_replace(appid=APPID_A, failing_token=token)
        forced += replacement != token
        token = replacement
    assert forced == tokens.FORCE_REFRESH_PER_DAY


@pytest.mark.django_db
def test_the_old_token_api_is_used_only_when_configured(tenants, wechat):
    tokens.access_token_get(appid=APPID_A)
    assert wechat.stats().get(LEGACY, 0) == 0
    tenants.b.use_legacy_token_api = True
    miniprogram_update(program=tenants.b)
    tokens.access_token_get(appid=APPID_B)
    assert wechat.stats()[LEGACY] == 1
    assert wechat.stats()[STABLE] == 1


@pytest.mark.django_db
def test_refresh_ahead_fetches_only_expiring_tokens(tenants, wechat):
    tokens.access_token_get(appid=APPID_A)
    assert tokens.access_tokens_refresh_all(ahead_seconds=120) == 1  # B had none
    assert wechat.stats()[STABLE] == 2
    assert tokens.access_tokens_refresh_all(ahead_seconds=120) == 0
    get_redis().expire(tokens.TOKEN_KEY.format(appid=APPID_A), 60)  # about to expire
    assert tokens.access_tokens_refresh_all(ahead_seconds=120) == 1


@pytest.mark.django_db(transaction=True)
def test_the_refresh_job_runs_on_a_real_worker(tenants, wechat, rq_queues, worker_burst):
    rq_queues["high"].enqueue(access_tokens_refresh_job)
    worker_burst()
    for appid in (APPID_A, APPID_B):
        assert get_redis().get(tokens.TOKEN_KEY.format(appid=appid))
    assert wechat.stats()[STABLE] == 2


def test_the_cron_configuration_registers_the_refresh_job(redis_db):
    scheduler = CronScheduler(connection=redis_db)
    scheduler.load_config_from_file("config.cron")
    registered = {job.func.__name__: job for job in scheduler.get_jobs()}
    assert registered["access_tokens_refresh_job"].queue_name == "high"
    assert registered["album_plays_flush_job"].queue_name == "default"
    assert {"push_events_requeue_job", "push_events_prune_job", "outbox_sweep_job"} <= set(
        registered
    )
