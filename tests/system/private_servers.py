"""Private MariaDB and Redis servers on spare ports, for fault tests that stop them:
single servers, a Redis master + replica watched by Sentinels, a MariaDB primary +
GTID replica.

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
SENTINEL_PASSWORD = "private-test-sentinel"
SENTINEL_MASTER = "minihub"
REPLICATION_USER, REPLICATION_PASSWORD = "replicator", "private-test-replication"


@dataclass
class PrivateRedis:
    directory: Path
    port: int = 0
    process: subprocess.Popen | None = None
    replica_of: int | None = None  # the master's port, for a replica

    @property
    def url(self) -> str:
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.port = self.port or free_port()
        replication = ["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []
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
                # Any server may become a replica after a failover.
                "--masterauth",
                REDIS_PASSWORD,
                *replication,
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what="private redis up")

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "--no-auth-warning", "-a", REDIS_PASSWORD, *args],
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def _answers(self) -> bool:
        return self.cli("ping") == "PONG"

    def role(self) -> str:
        return self.cli("role").split("\n", 1)[0]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write reaches the replica."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


@dataclass
class PrivateSentinel:
    """`redis-server --sentinel` watching a master; failover a second after it stops answering."""

    directory: Path
    master_port: int
    quorum: int = 2
    port: int = 0
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.port = self.port or free_port()
        config = self.directory / "sentinel.conf"  # Sentinel rewrites it: its own file
        config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.directory}\n"
            f"requirepass {SENTINEL_PASSWORD}\n"
            f"sentinel sentinel-pass {SENTINEL_PASSWORD}\n"
            f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {self.master_port} {self.quorum}\n"
            f"sentinel auth-pass {SENTINEL_MASTER} {REDIS_PASSWORD}\n"
            f"sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n"
            f"sentinel failover-timeout {SENTINEL_MASTER} 10000\n"
        )
        self.process = subprocess.Popen(
            ["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL
        )
        wait_until(lambda: self.master_port_seen() is not None, timeout=10, what="sentinel up")

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [
                "redis-cli",
                "-p",
                str(self.port),
                "--no-auth-warning",
                "-a",
                SENTINEL_PASSWORD,
                *args,
            ],
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def master_port_seen(self) -> int | None:
        answer = self.cli("sentinel", "get-master-addr-by-name", SENTINEL_MASTER).split()
        return int(answer[1]) if len(answer) == 2 else None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


@dataclass
class PrivateMariaDB:
    directory: Path
    port: int = 0
    process: subprocess.Popen | None = None
    server_id: int = 1  # distinct per server of a replication pair

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
                f"--server-id={self.server_id}",
                f"--log-bin={self.directory / 'binlog'}",
                "--binlog-format=ROW",
            ],
        )
        wait_until(lambda: self.sql("SELECT 1") is not None, timeout=30, what="private mariadbd up")

    def sql(self, statement: str, *, column_names: bool = False) -> str | None:
        names = [] if column_names else ["-N"]
        result = subprocess.run(
            ["mariadb", "-uroot", f"--socket={self.socket}", *names, "-e", statement],
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

    def serve_replication(self) -> None:
        """Let a replica connect and copy this primary (GTID from the start)."""
        assert (
            self.sql(
                f"CREATE USER IF NOT EXISTS '{REPLICATION_USER}'@'127.0.0.1' "
                f"IDENTIFIED BY '{REPLICATION_PASSWORD}'; "
                f"GRANT REPLICATION SLAVE ON *.* TO '{REPLICATION_USER}'@'127.0.0.1'"
            )
            is not None
        )

    def replicate_from(self, primary: "PrivateMariaDB") -> None:
        """Become a read-only GTID replica of `primary`, copying it from its first event."""
        assert (
            self.sql(
                "SET GLOBAL read_only = ON; "
                f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port}, "
                f"MASTER_USER='{REPLICATION_USER}', MASTER_PASSWORD='{REPLICATION_PASSWORD}', "
                "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; "
                "START SLAVE"
            )
            is not None
        )
        wait_until(
            lambda: self.replication_field("Slave_SQL_Running") == "Yes",
            timeout=30,
            what="replica running",
        )

    def replication_field(self, name: str) -> str | None:
        for line in (self.sql("SHOW REPLICA STATUS\\G", column_names=True) or "").splitlines():
            key, _, value = line.strip().partition(": ")
            if key == name:
                return value
        return None

    def selects_served(self) -> int:
        """How many SELECTs this server has answered (reads routed to it)."""
        return int(self.sql("SHOW GLOBAL STATUS LIKE 'Com_select'").split()[1])
