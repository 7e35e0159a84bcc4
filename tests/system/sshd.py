"""A real OpenSSH server on 127.0.0.1 for system tests (what `fab` deploys to).

Throwaway host and client keys made by ssh-keygen, its own sshd_config, in the
foreground on a spare port; key authentication only.
"""

import getpass
import os
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.system.stack import free_port, wait_until

SSHD = "/usr/sbin/sshd"  # absolute: sshd re-executes itself
PRIVILEGE_SEPARATION_DIR = Path("/run/sshd")
# The TLS trust of this machine, so that a deploy's `make install` (uv, pip)
# reaches the package index from the SSH session just as it does from here.
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "REQUESTS_CA_BUNDLE")

SSHD_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {directory}/host_key
PidFile {directory}/sshd.pid
AuthorizedKeysFile {directory}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel VERBOSE
"""


@dataclass(frozen=True)
class Sshd:
    port: int
    user: str
    client_key: Path
    log: Path

    @property
    def host(self) -> str:
        """The host string for `fab -H`."""
        return f"{self.user}@127.0.0.1:{self.port}"


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "minihub-test", "-f", str(path)],
        check=True,
    )


def _trust_environment() -> str:
    pairs = [f"{name}={os.environ[name]}" for name in TRUST_VARIABLES if os.environ.get(name)]
    return f"SetEnv {' '.join(pairs)}\n" if pairs else ""


def _banner(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        return sock.recv(64).startswith(b"SSH-2.0-")


@contextmanager
def running_sshd(directory: Path):
    """sshd on a spare loopback port; yields an Sshd that `fab` can log in to as this user."""
    directory.mkdir(parents=True, exist_ok=True)
    _keygen(directory / "host_key")
    _keygen(directory / "client_key")
    (directory / "authorized_keys").write_text((directory / "client_key.pub").read_text())
    PRIVILEGE_SEPARATION_DIR.mkdir(mode=0o755, exist_ok=True)
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(SSHD_CONFIG.format(port=port, directory=directory) + _trust_environment())
    checked = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    log = directory / "sshd.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: _banner(port), timeout=10, what="sshd answering")
        yield Sshd(port=port, user=getpass.getuser(), client_key=directory / "client_key", log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
