"""Secrets files (MINIHUB_ENV_FILE) for system tests, and what a process got from one."""

from pathlib import Path


def hostile_secret_key(marker: Path) -> str:
    """A SECRET_KEY that creates `marker` (and expands $HOME) if a shell ever reads the file."""
    return f"abc$HOME;x&touch {marker}"


def write_env_file(path: Path, variables: dict[str, str]) -> None:
    """`NAME=value` lines, unquoted as an operator writes them; mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
    path.chmod(0o600)


def environment_of(pid: int) -> dict[str, str]:
    """The environment a running process was started with."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if entry)
