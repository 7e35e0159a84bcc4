"""Periodic jobs, run by RQ's own cron scheduler: `python manage.py rqcron config.cron`.

Each entry enqueues a job; what a job does lives in its app's jobs.py.
"""

from rq import cron

from minihub.albums.jobs import PLAYS_FLUSH_TIMEOUT_SECONDS, album_plays_flush_job
from minihub.dashboard.jobs import (
    ROLL_UP_TIMEOUT_SECONDS,
    figures_prune_job,
    figures_roll_up_job,
)
from minihub.notifications.jobs import outbox_sweep_job
from minihub.tenants.jobs import access_tokens_refresh_job
from minihub.wechat.jobs import push_events_prune_job, push_events_requeue_job

# Keep every mini-program's access token fresh before it expires.
cron.register(access_tokens_refresh_job, "high", interval=60, job_timeout=120, result_ttl=0)
# Push events whose job was lost (e.g. Redis down at commit) are handled again.
cron.register(push_events_requeue_job, "low", interval=600, job_timeout=120, result_ttl=0)
# Handled push events are kept 30 days.
cron.register(push_events_prune_job, "low", cron="17 3 * * *", job_timeout=600, result_ttl=0)
# Play counts kept in Redis go to the albums exactly once; a run finishes what a
# crashed one left.
cron.register(
    album_plays_flush_job,
    "default",
    interval=60,
    job_timeout=PLAYS_FLUSH_TIMEOUT_SECONDS,
    result_ttl=0,
)
# Subscribe messages whose worker died mid-send, or whose job was lost, go again.
cron.register(outbox_sweep_job, "default", interval=60, job_timeout=120, result_ttl=0)
# The dashboard's figures: each finished hour from Redis into the database exactly once
# (a run every 5 minutes picks up the hours over for 2 minutes), kept 90 days.
cron.register(
    figures_roll_up_job,
    "low",
    interval=300,
    job_timeout=ROLL_UP_TIMEOUT_SECONDS,
    result_ttl=0,
)
cron.register(figures_prune_job, "low", cron="37 3 * * *", job_timeout=600, result_ttl=0)
