"""gunicorn settings, as deploy/web starts the server:
`gunicorn config.wsgi:application -c deploy/gunicorn.conf.py`.

Run from the project directory (deploy/web does). The address is MINIHUB_BIND
(default 127.0.0.1:8000); every other value can be changed with an environment
variable of the same name in capitals, prefixed GUNICORN_ (e.g.
GUNICORN_WORKERS=3).
"""

import multiprocessing
import os
from pathlib import Path


def _env(name: str, default):
    value = os.environ.get(f"GUNICORN_{name}")
    return type(default)(value) if value is not None else default


PROJECT_DIR = Path(__file__).resolve().parent.parent
# pids/ and socks/ live in the run directory (supervisor's MINIHUB_RUN_DIR).
RUN_DIR = Path(os.environ.get("MINIHUB_RUN_DIR", PROJECT_DIR))
for directory in ("pids", "socks"):
    (RUN_DIR / directory).mkdir(parents=True, exist_ok=True)

# Through the `current` symlink when deployed: on HUP, new workers load the
# newly linked release's code.
chdir = _env("CHDIR", os.environ.get("MINIHUB_ROOT", str(PROJECT_DIR)))
proc_name = _env("PROC_NAME", "minihub")
# Where to listen: the web tier's own variable (deploy/web), not a GUNICORN_ one.
bind = os.environ.get("MINIHUB_BIND", "127.0.0.1:8000")
# As the seed: 2 x CPU + 1 processes, each serving many requests at once.
workers = _env("WORKERS", multiprocessing.cpu_count() * 2 + 1)
# gthread, chosen by measurement (bench/README.md, "Driver and worker class"): under 1,000 open
# connections its FIFO request queue served every request, while gevent's
# greenlets, queueing for the bounded database pool, starved some past their
# timeouts; it also had the best tail latency at 64 connections.
worker_class = _env("WORKER_CLASS", "gthread")
# Requests handled at once per worker, each thread with its own persistent
# database connection: workers x threads connections per database at most.
threads = _env("THREADS", 4)
# Under gevent every request is a greenlet with a connection of its own: only a
# pool bounds them (docs/operations.md, "Connection pools, driver and worker class").
if worker_class == "gevent" and int(os.environ.get("DATABASE_POOL_SIZE") or 0) <= 0:
    raise RuntimeError(
        "GUNICORN_WORKER_CLASS=gevent needs DATABASE_POOL_SIZE > 0 (e.g. 10): "
        "greenlets are not bounded like threads"
    )
# Open (keep-alive) connections per worker; requests wait in the worker's
# queue, not at the database.
worker_connections = _env("WORKER_CONNECTIONS", 1000)
backlog = _env("BACKLOG", 2048)

# A worker silent this long is killed and replaced.
timeout = _env("TIMEOUT", 30)
# On HUP or TERM, workers finish in-flight requests for up to this long;
# supervisor's stopwaitsecs is longer.
graceful_timeout = _env("GRACEFUL_TIMEOUT", 20)
keepalive = _env("KEEPALIVE", 5)
# Recycle workers now and then (leaks never grow for long); the jitter keeps
# them from restarting all at once.
# A restart costs about a second of CPU (importing Django and the app): spread
# over this many requests it is a few microseconds a request.
max_requests = _env("MAX_REQUESTS", 200_000)
max_requests_jitter = _env("MAX_REQUESTS_JITTER", 20_000)

# Only nginx may set X-Forwarded-Proto (and so mark a request as HTTPS).
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1")

pidfile = _env("PIDFILE", str(RUN_DIR / "pids" / f"{proc_name}.pid"))
# Both go to the process's own stdout/stderr; supervisor writes (and rotates)
# each file, so no file ever has two writers.
accesslog = _env("ACCESSLOG", "-")
errorlog = _env("ERRORLOG", "-")
# gunicorn's logger, with a cheaper access line (minihub/core/access_log.py) for
# exactly this format: keep the two the same (tests/test_access_log.py checks).
logger_class = "minihub.core.access_log.AccessLogger"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" rid=%({x-request-id}o)s'
# gunicorn's control socket, one per instance (several may run on one host).
control_socket = _env("CONTROL_SOCKET", str(RUN_DIR / "socks" / f"{proc_name}.ctl"))
