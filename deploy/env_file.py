"""Read a secrets file (MINIHUB_ENV_FILE) as data, never as shell code.

The one reader of env files: minihubctl, the deploy's pre-check and the Fabric
tasks all load them through deploy/env_file.sh, which runs this. Standard library
only: `fab` runs it on a host before any release's .venv exists.

    python env_file.py FILE    # prints NAME=value records, each ended by a NUL byte

Format: one `NAME=value` per line, optionally after `export `; blank lines and
lines starting with `#` are skipped. NAME is letters, digits and `_`, not starting
with a digit. The value is taken literally: `$`, backquotes, `;`, `&`, `\\` and `#`
mean themselves. Spaces and tabs around it are dropped; one pair of single or
double quotes around the whole value is removed (keeping the spaces inside it).
A value never spans lines. Setting a NAME twice is an error.

The file must be a regular file, mode 0640 or tighter (its group may read it;
nobody else may read it and only its owner may write it), owned by the user
reading it or by root (root can change the reader's files anyway: the usual
layout is root:<service group> 0640). Root refuses a file another user owns:
whoever can edit it could make root run anything (PATH, LD_PRELOAD, PYTHONPATH).

A refused file prints nothing on stdout, its error on stderr naming the file (and
the line), and exits 1: a reader gets all of the file or none of it.
"""

import os
import pwd
import re
import stat
import sys

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
EXPORT = re.compile(r"export[ \t]+")
BLANKS = " \t"
QUOTES = ("'", '"')
MOST_OPEN_MODE = 0o640
ROOT = 0
# Bits beyond 0640, and what each means for the reader of an error.
TOO_OPEN = (
    (0o004, "others can read it"),
    (0o002, "others can write it"),
    (0o020, "its group can write it"),
    (0o111, "it is executable"),
    (0o7000, "it has setuid, setgid or sticky bits"),
)


class EnvFileError(Exception):
    """A refused file; the message names it (and the line)."""


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_file(path: str, status: os.stat_result, reader_uid: int) -> None:
    """Refuse a file that others can read or change."""
    if not stat.S_ISREG(status.st_mode):
        raise EnvFileError(f"{path}: not a regular file")
    mode = stat.S_IMODE(status.st_mode)
    if mode & ~MOST_OPEN_MODE:
        problems = ", ".join(problem for bits, problem in TOO_OPEN if mode & bits)
        raise EnvFileError(
            f"{path}: mode {mode:04o} is more open than 0640 ({problems}): "
            f"chmod 600 {path} (640 to let its group read it)"
        )
    if status.st_uid in (reader_uid, ROOT):
        return
    owner, reader = user_name(status.st_uid), user_name(reader_uid)
    if reader_uid == ROOT:
        raise EnvFileError(
            f"{path}: owned by {owner}, but this runs as root: whoever owns it could make "
            f"root run anything (PATH, LD_PRELOAD, PYTHONPATH). Either chown root {path} "
            f"(chmod 640 and its group for {owner} to read it) or run this as {owner}"
        )
    raise EnvFileError(
        f"{path}: owned by {owner}, not by {reader} (the user running this) or root: "
        f"chown {reader} {path}"
    )


def parse(text: str, path: str) -> dict[str, str]:
    """The variables of an env file's text; EnvFileError names the first bad line."""
    variables: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, raw_line in enumerate(text.split("\n"), start=1):

        def refuse(problem: str, number: int = number) -> EnvFileError:
            return EnvFileError(f"{path}: line {number}: {problem}")

        line = raw_line.removesuffix("\r").strip(BLANKS)
        if not line or line.startswith("#"):
            continue
        if "\0" in line:
            raise refuse("a NUL byte, which no environment variable can hold")
        export = EXPORT.match(line)
        name, equals, value = line[export.end() if export else 0 :].partition("=")
        if not equals:
            raise refuse("expected NAME=value")
        if not NAME.fullmatch(name):
            raise refuse(
                f"invalid variable name {name!r} (letters, digits and _, not starting "
                f"with a digit, right before the =)"
            )
        if name in first_line:
            raise refuse(f"{name} is set again (first on line {first_line[name]})")
        variables[name] = unquote(value.strip(BLANKS), refuse)
        first_line[name] = number
    return variables


def unquote(value: str, refuse) -> str:
    quote = value[:1]
    if quote not in QUOTES:
        return value
    if len(value) < 2 or not value.endswith(quote):
        raise refuse(f"the value opens a {quote} quote that does not close at the end of the line")
    inside = value[1:-1]
    if quote in inside:
        raise refuse(
            f"a {quote} inside a {quote}-quoted value: quote it with the other kind, "
            "or leave it unquoted"
        )
    return inside


def decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise EnvFileError(f"{path}: line {line}: not UTF-8") from None


def read_env_file(path: str) -> dict[str, str]:
    """The variables of the file at path, after checking who may read and change it."""
    try:
        # Non-blocking: a FIFO put in its place is refused, not waited on.
        descriptor = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as error:
        raise EnvFileError(f"{path}: cannot be read: {error.strerror}") from None
    try:
        # The checks and the read see the same file, even if the path changes meanwhile.
        check_file(path, os.fstat(descriptor), reader_uid=os.geteuid())
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read()
    finally:
        os.close(descriptor)
    return parse(decode(data, path), path)


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: env_file.py FILE", file=sys.stderr)
        return 2
    try:
        variables = read_env_file(arguments[0])
    except EnvFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    records = b"".join(f"{name}={value}".encode() + b"\0" for name, value in variables.items())
    sys.stdout.buffer.write(records)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
