"""Periodic jobs, run by RQ's own cron scheduler: `python manage.py rqcron config.cron`.

Each entry enqueues a job; what a job does lives in its app's jobs.py.
"""

from rq import cron

from minihub.wechat.jobs import access_tokens_refresh_job

# Keep every mini-program's access token fresh before it expires.
cron.register(access_tokens_refresh_job, "high", interval=60, job_timeout=120, result_ttl=0)
