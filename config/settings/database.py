"""DATABASES from URLs: utf8mb4 and strict mode on MySQL/MariaDB, either driver."""

import environ

MYSQL_ENGINE = "django.db.backends.mysql"
# SQLAlchemy's QueuePool under Django's MySQL backend (django-db-connection-pool),
# with one round trip per query (minihub/core/pooled_mysql/base.py).
POOLED_MYSQL_ENGINE = "minihub.core.pooled_mysql"
# Django's MySQL backend with persistent connections, pinged only after idling
# (minihub/core/persistent_mysql/base.py): the engine when there is no pool.
PERSISTENT_MYSQL_ENGINE = "minihub.core.persistent_mysql"
# A connection idle for longer than this is pinged before reuse (either engine).
POOL_PING_IDLE_SECONDS = 1.0
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


def pooled(config: dict, *, size: int, wait_seconds: float) -> dict:
    """A bounded pool per process: at most `size` connections to this database.

    Under gevent every greenlet would otherwise open its own connection (the
    seed's "Too many connections"). A request that finds the pool empty waits
    up to `wait_seconds` for a connection to come back, then gets a 503.
    Django returns the connection at the end of each request (CONN_MAX_AGE=0);
    the pool keeps it open, and pings it before reuse only after it has sat idle:
    under load a ping per request would double the round trips.
    """
    return {
        **config,
        "ENGINE": POOLED_MYSQL_ENGINE,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "POOL_PING_IDLE_SECONDS": POOL_PING_IDLE_SECONDS,
        "POOL_OPTIONS": {
            "POOL_SIZE": size,
            "MAX_OVERFLOW": 0,
            "TIMEOUT": wait_seconds,
            "RECYCLE": 3600,
            "PRE_PING": False,  # pinged after idling instead (see the engine)
        },
    }


def database_from_url(
    url: str,
    *,
    conn_max_age: int = 60,
    connect_timeout: int = 3,
    pool_size: int = 0,
    pool_wait_seconds: float = 10,
) -> dict:
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
        if pool_size > 0:
            config = pooled(config, size=pool_size, wait_seconds=pool_wait_seconds)
        else:
            config["ENGINE"] = PERSISTENT_MYSQL_ENGINE
            config["PING_IDLE_SECONDS"] = POOL_PING_IDLE_SECONDS
    return config


def databases_from_urls(
    *,
    default: str,
    admin: str,
    replicas: list[str],
    conn_max_age: int = 60,
    pool_size: int = 0,
    pool_wait_seconds: float = 10,
) -> dict:
    """`default` for business apps, `admin` for admin/auth tables, `replica_N` for reads.

    The admin database serves only the admin site: a quarter of the pool.
    """
    options = {"conn_max_age": conn_max_age, "pool_wait_seconds": pool_wait_seconds}
    databases = {
        "default": database_from_url(default, pool_size=pool_size, **options),
        "admin": database_from_url(
            admin, pool_size=max(pool_size // 4, 1) if pool_size else 0, **options
        ),
    }
    for index, url in enumerate(replicas):
        replica = database_from_url(url, pool_size=pool_size, **options)
        # In tests a replica is the primary itself, as in Django's own docs.
        replica["TEST"] = {**replica.get("TEST", {}), "MIRROR": "default"}
        databases[f"replica_{index}"] = replica
    return databases
