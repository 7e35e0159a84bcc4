"""`manage.py datatier_status` against this run's Redis, with no replica configured."""

from io import StringIO
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command


def test_names_the_redis_master_from_redis_url_and_no_replicas():
    out = StringIO()
    call_command("datatier_status", stdout=out)
    url = urlsplit(settings.REDIS_URL)
    assert out.getvalue().splitlines() == [
        f"redis master: {url.hostname}:{url.port or 6379} (from REDIS_URL), answering",
        "replicas: none (every read on the primary)",
    ]
