"""The machine and the versions of everything measured, for the report."""

import importlib.metadata
import os
import platform
import re
import socket
import subprocess
from pathlib import Path

import redis

from bench.dbconns import connect

PYTHON_PACKAGES = {
    "Django": "django",
    "django-ninja": "django-ninja",
    "granian": "granian",
    "gunicorn": "gunicorn",
    "gevent": "gevent",
    "PyMySQL": "pymysql",
    "mysqlclient": "mysqlclient",
    "django-db-connection-pool": "django-db-connection-pool",
    "redis-py": "redis",
}
# (name, argv, pattern picking the version out of the output)
TOOLS = (
    ("nginx", ["nginx", "-v"], r"nginx/(\S+)"),
    ("wrk", ["wrk", "-v"], r"wrk (\S+)"),
    ("ab", ["ab", "-V"], r"Version (\S+)"),
    ("py-spy", ["py-spy", "--version"], r"py-spy (\S+)"),
)


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _tool_version(argv: list[str], pattern: str) -> str:
    venv_bin = Path(__file__).resolve().parent.parent / ".venv" / "bin"
    env = {**os.environ, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"}
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv
            argv, capture_output=True, text=True, timeout=10, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    match = re.search(pattern, result.stdout + result.stderr)
    return match.group(1) if match else "unknown"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _mariadb_version(database_url: str) -> str:
    with connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        return cursor.fetchone()[0]


def _redis_version(redis_url: str) -> str:
    return redis.Redis.from_url(redis_url).info("server")["redis_version"]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def host_name() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"


def describe(*, database_url: str, redis_url: str) -> dict:
    versions = {"Python": platform.python_version()}
    versions.update({label: _package_version(pkg) for label, pkg in PYTHON_PACKAGES.items()})
    versions["MariaDB"] = _mariadb_version(database_url)
    versions["Redis"] = _redis_version(redis_url)
    versions.update({name: _tool_version(argv, pattern) for name, argv, pattern in TOOLS})
    return {
        "host": host_name(),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "os": platform.platform(terse=True),
        "load_average_at_start": load_average(),
        "versions": versions,
    }
