"""DATABASES from URLs: utf8mb4 and strict mode on MySQL/MariaDB, either driver."""

import environ

MYSQL_ENGINE = "django.db.backends.mysql"
MYSQL_CHARSET = "utf8mb4"
MYSQL_COLLATION = "utf8mb4_unicode_ci"
# STRICT_ALL_TABLES: refuse instead of truncating or coercing bad data.
MYSQL_SQL_MODE = ",".join(
    [
        "STRICT_ALL_TABLES",
        "NO_ZERO_IN_DATE",
        "NO_ZERO_DATE",
        "ERROR_FOR_DIVISION_BY_ZERO",
        "NO_ENGINE_SUBSTITUTION",
    ]
)
DRIVERS = ("pymysql", "mysqlclient")


def install_driver(driver: str) -> None:
    """Make Django's MySQL backend use the chosen driver.

    mysqlclient is Django's native driver (C, blocks gevent's loop); PyMySQL is
    pure Python and cooperates with gevent once sockets are patched.
    """
    if driver not in DRIVERS:
        raise ValueError(f"DATABASE_DRIVER must be one of {DRIVERS}, not {driver!r}")
    if driver == "pymysql":
        import pymysql

        pymysql.install_as_MySQLdb()


def database_from_url(url: str, *, conn_max_age: int = 60, connect_timeout: int = 3) -> dict:
    config = environ.Env.db_url_config(url)
    config["CONN_MAX_AGE"] = conn_max_age
    config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"] == MYSQL_ENGINE:
        config["OPTIONS"] = {
            "charset": MYSQL_CHARSET,
            "init_command": (
                f"SET NAMES {MYSQL_CHARSET} COLLATE {MYSQL_COLLATION}, sql_mode='{MYSQL_SQL_MODE}'"
            ),
            "connect_timeout": connect_timeout,
        }
        config["TEST"] = {"CHARSET": MYSQL_CHARSET, "COLLATION": MYSQL_COLLATION}
    return config


def databases_from_urls(
    *, default: str, admin: str, replicas: list[str], conn_max_age: int = 60
) -> dict:
    """`default` for business apps, `admin` for admin/auth tables, `replica_N` for reads."""
    databases = {
        "default": database_from_url(default, conn_max_age=conn_max_age),
        "admin": database_from_url(admin, conn_max_age=conn_max_age),
    }
    for index, url in enumerate(replicas):
        replica = database_from_url(url, conn_max_age=conn_max_age)
        # In tests a replica is the primary itself, as in Django's own docs.
        replica["TEST"] = {**replica.get("TEST", {}), "MIRROR": "default"}
        databases[f"replica_{index}"] = replica
    return databases
