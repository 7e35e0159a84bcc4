import logging

import pytest

from minihub.core.redis import get_redis


@pytest.fixture
def redis_db():
    """The real Redis of the test environment, emptied before and after each test."""
    client = get_redis()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def api(client):
    """Django's test client with the API prefix filled in."""

    class Api:
        prefix = "/api/v2"

        def __getattr__(self, method):
            call = getattr(client, method)

            def request(path, *args, **kwargs):
                return call(self.prefix + path, *args, **kwargs)

            return request

    return Api()


@pytest.fixture
def log_records(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog
