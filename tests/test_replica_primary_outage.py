"""The rotation rule while the primary is unreachable (minihub/core/replicas.py): a replica
that applied all it received keeps serving while its known freshness is within the bound."""

from minihub.core.replicas import lag_verdict

MAX_LAG = 10.0
IN_STEP = {
    "Seconds_Behind_Master": 2,
    "Slave_SQL_Running": "Yes",
    "Master_Log_File": "binlog.000001",
    "Relay_Master_Log_File": "binlog.000001",
    "Read_Master_Log_Pos": 900,
    "Exec_Master_Log_Pos": 900,
}
# The primary stopped: the IO thread reconnects, MariaDB reports no lag figure.
PRIMARY_LOST = {**IN_STEP, "Seconds_Behind_Master": None, "Slave_IO_Running": "Connecting"}


def test_replica_that_applied_everything_serves_until_its_data_is_max_lag_old():
    last_in_step = lag_verdict(IN_STEP, MAX_LAG, now=100.0)  # data current as of 98.0
    soon_after = lag_verdict(PRIMARY_LOST, MAX_LAG, previous=last_in_step, now=105.0)
    assert soon_after.in_rotation and soon_after.lag_seconds == 7.0
    # The freshness is carried from the last in-step check, not renewed by outage checks.
    later = lag_verdict(PRIMARY_LOST, MAX_LAG, previous=soon_after, now=108.5)
    assert not later.in_rotation and later.reason == "primary unreachable too long"


def test_replica_still_applying_or_with_sql_thread_stopped_leaves_at_once():
    last_in_step = lag_verdict(IN_STEP, MAX_LAG, now=100.0)
    behind = {**PRIMARY_LOST, "Exec_Master_Log_Pos": 800}
    other_file = {**PRIMARY_LOST, "Relay_Master_Log_File": "binlog.000000"}
    sql_stopped = {**PRIMARY_LOST, "Slave_SQL_Running": "No"}
    for status in (behind, other_file, sql_stopped):
        assert not lag_verdict(status, MAX_LAG, previous=last_in_step, now=101.0).in_rotation


def test_replica_never_seen_in_step_is_not_trusted_during_an_outage():
    assert not lag_verdict(PRIMARY_LOST, MAX_LAG, now=100.0).in_rotation


def test_mysql_names_of_the_positions():
    mysql_lost = {
        "Seconds_Behind_Source": None,
        "Replica_SQL_Running": "Yes",
        "Source_Log_File": "binlog.000002",
        "Relay_Source_Log_File": "binlog.000002",
        "Read_Source_Log_Pos": 4,
        "Exec_Source_Log_Pos": 4,
    }
    last_in_step = lag_verdict({"Seconds_Behind_Source": 0}, MAX_LAG, now=50.0)
    assert lag_verdict(mysql_lost, MAX_LAG, previous=last_in_step, now=52.0).in_rotation
