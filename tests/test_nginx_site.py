"""The shipped nginx site and master's settings agree."""

from tests.helpers import MASTER_ENV, manage
from tests.system.nginx import shipped_hsts

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
