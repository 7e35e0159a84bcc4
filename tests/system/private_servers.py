"""Private MariaDB and Redis servers on spare ports, for fault tests that stop them.

The machine's shared servers are never stopped: other tests and sessions use them.
"""

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.system.stack import free_port, wait_until

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
USER, PASSWORD = "minihub", "private-test"
REDIS_PASSWORD = "private-test-redis"  # a throwaway server's


@dataclass
class PrivateRedis:
    directory: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.port = self.port or free_port()
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--requirepass",
                REDIS_PASSWORD,
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what="private redis up")

    def _answers(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "--no-auth-warning", "-a", REDIS_PASSWORD, "ping"],
            capture_output=True,
            text=True,
        )
        return result.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


@dataclass
class PrivateMariaDB:
    directory: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> str:
        return str(self.directory / "mysqld.sock")

    def url(self, database: str) -> str:
        return f"mysql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def install(self) -> None:
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.directory / 'data'}",
                "--user=root",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self.port = self.port or free_port()
        self.process = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",
                f"--datadir={self.directory / 'data'}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-name-resolve",
                f"--pid-file={self.directory / 'pid'}",
                f"--log-error={self.directory / 'error.log'}",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--innodb-buffer-pool-size=32M",
            ],
        )
        wait_until(lambda: self.sql("SELECT 1") is not None, timeout=30, what="private mariadbd up")

    def sql(self, statement: str) -> str | None:
        result = subprocess.run(
            ["mariadb", "-uroot", f"--socket={self.socket}", "-N", "-e", statement],
            capture_output=True,
            text=True,
        )
        return result.stdout if result.returncode == 0 else None

    def create_app_databases(self, *names: str) -> None:
        statements = [f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'"]
        for name in names:
            statements.append(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
            statements.append(f"GRANT ALL ON {name}.* TO '{USER}'@'127.0.0.1'")
        assert self.sql("; ".join(statements)) is not None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        time.sleep(0.2)
