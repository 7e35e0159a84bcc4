"""The shipped nginx site and master's settings agree."""

import re
import runpy

from tests.helpers import MASTER_ENV, PROJECT_DIR, manage
from tests.system.nginx import SITE_DIR, shipped_hsts

# Run by manage.py shell under master: the status and HSTS header of each GET.
ANSWERS_SCRIPT = """
from django.test import Client
client = Client(HTTP_HOST="api.example.com")
for path, scheme in {requests!r}:
    answer = client.get(path, HTTP_X_FORWARDED_PROTO=scheme)
    print(answer.status_code, answer.get("Strict-Transport-Security", "-"))
"""


def master_answers(*requests: tuple[str, str]) -> list[str]:
    """`status Strict-Transport-Security` of each (path, scheme nginx forwards), under master."""
    script = ANSWERS_SCRIPT.format(requests=list(requests))
    result = manage("shell", "--no-imports", "-c", script, env=MASTER_ENV)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_nginx_sends_the_hsts_master_sends_and_passes_plain_health_checks_on():
    answers = master_answers(
        ("/api/v2/ping", "https"),
        # nginx answers health checks on port 80 too: the app must not redirect them.
        ("/api/v2/health/live", "http"),
        ("/api/v2/ping", "http"),
    )
    assert answers == [f"200 {shipped_hsts()}", "200 -", "301 -"]


def test_nginx_closes_an_idle_app_connection_before_gunicorn_does(tmp_path, monkeypatch):
    """Otherwise nginx may send a request on a connection gunicorn is closing: nginx sends
    a GET again, but a POST fails."""
    upstreams = (SITE_DIR / "minihub.upstreams.conf").read_text()
    app = re.search(r"upstream minihub_app \{(.*?)\}", upstreams, re.DOTALL).group(1)
    nginx_idle_seconds = int(re.search(r"^\s*keepalive_timeout (\d+)s;", app, re.M).group(1))
    monkeypatch.setenv("MINIHUB_RUN_DIR", str(tmp_path))
    gunicorn = runpy.run_path(str(PROJECT_DIR / "deploy" / "gunicorn.conf.py"))
    assert 0 < nginx_idle_seconds < gunicorn["keepalive"]
