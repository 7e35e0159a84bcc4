"""The data-tier settings fail closed, and the replica verdicts follow the lag rule."""

from minihub.core.replicas import lag_verdict
from tests.helpers import MASTER_ENV, manage


def test_an_unparseable_sentinel_list_names_the_variable():
    result = manage("check", env={**MASTER_ENV, "REDIS_SENTINELS": "127.0.0.1:26379,nonsense"})
    assert result.returncode != 0
    assert "REDIS_SENTINELS: 'nonsense' is not host:port" in result.stderr


def test_a_sentinel_list_is_accepted():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.REDIS_SENTINELS, "
        "settings.REDIS_SENTINEL_MASTER, settings.RQ_QUEUES['default']['SENTINELS'])",
        env={**MASTER_ENV, "REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2:26380"},
    )
    assert result.returncode == 0, result.stderr
    expected = "[('10.0.0.1', 26379), ('10.0.0.2', 26380)]"
    assert result.stdout.strip() == f"{expected} minihub {expected}"


def test_a_replica_is_in_rotation_only_when_replicating_within_the_limit():
    assert lag_verdict({"Seconds_Behind_Master": 3}, 10).in_rotation
    assert not lag_verdict({"Seconds_Behind_Master": 11}, 10).in_rotation
    assert not lag_verdict({"Seconds_Behind_Master": None}, 10).in_rotation  # stopped
    assert lag_verdict({"Seconds_Behind_Source": 0}, 10).in_rotation  # MySQL 8's name
    assert lag_verdict(None, 10).in_rotation  # not a replica: nothing to measure
