"""Where the bench keeps its data, and the environment of the servers it starts.

Its own MariaDB databases (minihub_bench, minihub_bench_admin) and its own Redis
db (8), never the test databases; `config.settings.test` with the shipped
defaults (a persistent database connection per thread), pointed at the fake WeChat.
"""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

from bench.dbconns import connect, database_name
from bench.processes import PROJECT_DIR, PYTHON

# The local test user of scripts/ensure-services.sh (scripts/test.env).
# pragma: allowlist nextline secret
DEFAULT_DATABASE_URL = "mysql://minihub:minihub-test@127.0.0.1:3306/minihub_bench"
DEFAULT_ADMIN_DATABASE_URL = (
    "mysql://minihub:minihub-test@127.0.0.1:3306/minihub_bench_admin"  # pragma: allowlist secret
)
# The Redis ACL user of scripts/ensure-services.sh.
DEFAULT_REDIS_URL = "redis://minihub:minihub-test@127.0.0.1:6379/8"  # pragma: allowlist secret
TEST_ENV_FILE = PROJECT_DIR / "scripts" / "test.env"
LIFTED_LIMIT = 10_000_000
SAFE_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


@dataclass(frozen=True)
class Stores:
    database_url: str
    admin_database_url: str
    redis_url: str

    @property
    def redis_url_shown(self) -> str:
        """The Redis URL without its password, for reports and progress lines."""
        parts = urlsplit(self.redis_url)
        if parts.password is None:
            return self.redis_url
        user = f"{parts.username}@" if parts.username else ""
        netloc = f"{user}{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def database_names(self) -> list[str]:
        return [database_name(self.database_url), database_name(self.admin_database_url)]


def test_env_values() -> dict[str, str]:
    """scripts/test.env: the settings of the test environment (config.settings.test)."""
    values = {}
    for line in TEST_ENV_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def server_env(stores: Stores, *, wechat_base: str, run_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of every server and manage.py the bench runs."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        **test_env_values(),
        # The staging environment, as deployed (test.env names the test suite's own).
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": stores.database_url,
        "ADMIN_DATABASE_URL": stores.admin_database_url,
        "REDIS_URL": stores.redis_url,
        "WECHAT_API_BASE": wechat_base,
        # nginx forwards the client address; trusted from nginx only, as deployed.
        "TRUSTED_PROXY_IPS": "127.0.0.1",
        # Every request comes from 127.0.0.1: the per-address write limit (logins, plays)
        # is raised out of the way; its Redis counter still runs on every write.
        "API_WRITES_PER_IP_PER_MINUTE": str(LIFTED_LIMIT),
        "LOG_DIR": str(run_dir / "log"),
        "MINIHUB_RUN_DIR": str(run_dir),
    }
    # Servers run the shipped default (DATABASE_POOL_SIZE unset), whatever test.env says.
    env.pop("DATABASE_POOL_SIZE", None)
    env.update(extra)
    return env


def databases_create(stores: Stores) -> None:
    """CREATE DATABASE IF NOT EXISTS, in utf8mb4 (the `minihub` user may create minihub*)."""
    with connect(stores.database_url) as connection, connection.cursor() as cursor:
        for name in stores.database_names:
            if not SAFE_DATABASE_NAME.match(name):
                raise ValueError(f"unexpected database name {name!r}")
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS `{name}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )


def databases_drop(stores: Stores) -> None:
    with connect(stores.database_url) as connection, connection.cursor() as cursor:
        for name in stores.database_names:
            if SAFE_DATABASE_NAME.match(name):
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def manage(*args: str, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(  # noqa: S603 - fixed argv built by the bench
        [PYTHON, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def databases_migrate(env: dict[str, str]) -> None:
    manage("migrate", "--no-input", "-v0", env=env)
    manage("migrate", "--database", "admin", "--no-input", "-v0", env=env)


def redis_flush(stores: Stores) -> None:
    """Empties the bench's Redis db: cached tenants, tokens and play counts of a previous run."""
    redis.Redis.from_url(stores.redis_url).flushdb()
