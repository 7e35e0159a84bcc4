"""deploy/env_file.py: the secrets file is read as data, and refused when others could read or
change it. minihubctl, the pre-check and the Fabric tasks all go through it (system tests)."""

import os
import pwd
import subprocess
import sys

import pytest

from deploy.env_file import EnvFileError, check_file, parse
from tests.helpers import PROJECT_DIR

PARSER = str(PROJECT_DIR / "deploy" / "env_file.py")
NOBODY = pwd.getpwnam("nobody")
DAEMON = pwd.getpwnam("daemon")


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("KEY=abc$HOME;x&touch marker", "abc$HOME;x&touch marker"),
        ("KEY=`id`$(id)${HOME}|cat\\n", "`id`$(id)${HOME}|cat\\n"),
        ("export KEY=exported", "exported"),
        ("KEY='  single $HOME \"q\"  '", '  single $HOME "q"  '),
        ("KEY=\"double $HOME `id` 'q'\"", "double $HOME `id` 'q'"),
        ("KEY=it's", "it's"),
        ("KEY=x # part of the value", "x # part of the value"),
        ("KEY=a=b==", "a=b=="),
        ("KEY=  padded\t ", "padded"),
        ("KEY=windows\r", "windows"),
        ("KEY=", ""),
        ("KEY=é中", "é中"),
    ],
)
def test_values_are_taken_literally(line, value):
    assert parse(line + "\n", "test.env") == {"KEY": value}


def test_comments_blank_lines_and_export_are_understood():
    text = "# the secrets\n\n   \n  # indented comment\nexport A=1\nB=2\n\tC=3"
    assert parse(text, "test.env") == {"A": "1", "B": "2", "C": "3"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("just words", "expected NAME=value"),
        ("export ONLY_A_NAME", "expected NAME=value"),
        ("1KEY=x", "invalid variable name '1KEY'"),
        ("KEY-NAME=x", "invalid variable name 'KEY-NAME'"),
        ("KEY =x", "invalid variable name 'KEY '"),
        ("=x", "invalid variable name ''"),
        ("KEY='never closed", "opens a ' quote that does not close"),
        ('KEY="a"b"', 'a " inside a "-quoted value'),
        ("FIRST=again", "FIRST is set again (first on line 2)"),
        ("KEY=a\0b", "a NUL byte"),
    ],
)
def test_a_malformed_line_is_refused_naming_the_file_and_line(line, problem):
    with pytest.raises(EnvFileError) as refused:
        parse(f"# comment\nFIRST=1\n{line}\nLAST=2\n", "/srv/minihub/shared/test.env")
    assert str(refused.value).startswith("/srv/minihub/shared/test.env: line 3: ")
    assert problem in str(refused.value)


def run_parser(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, PARSER, str(path)], capture_output=True, timeout=30)


def test_the_command_prints_nul_terminated_assignments(tmp_path):
    env_file = tmp_path / "test.env"
    env_file.write_text("A=1\nB='two words'\nSECRET_KEY=x;y&z\n")
    env_file.chmod(0o600)
    result = run_parser(env_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"A=1\0B=two words\0SECRET_KEY=x;y&z\0"


def test_the_command_prints_nothing_for_a_refused_file(tmp_path):
    """Readers export what they read: a file refused at line 3 must export nothing at all."""
    env_file = tmp_path / "test.env"
    env_file.write_bytes(b"A=1\nB=2\nnot an assignment\n")
    env_file.chmod(0o600)
    result = run_parser(env_file)
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode() == f"error: {env_file}: line 3: expected NAME=value\n"


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path):
    env_file = tmp_path / "test.env"
    env_file.write_bytes(b"A=1\nB=caf\xe9\n")
    env_file.chmod(0o600)
    result = run_parser(env_file)
    assert result.returncode == 1
    assert f"{env_file}: line 2: not UTF-8" in result.stderr.decode()


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (0o644, "others can read it"),
        (0o604, "others can read it"),
        (0o602, "others can write it"),
        (0o660, "its group can write it"),
        (0o700, "it is executable"),
        (0o2640, "setuid, setgid or sticky"),
    ],
)
def test_a_file_more_open_than_0640_is_refused(tmp_path, mode, problem):
    env_file = tmp_path / "test.env"
    env_file.write_text("A=1\n")
    env_file.chmod(mode)
    result = run_parser(env_file)
    assert result.returncode == 1
    assert result.stdout == b""
    message = result.stderr.decode()
    assert f"{env_file}: mode {mode:04o} is more open than 0640" in message
    assert problem in message


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400])
def test_a_file_at_most_0640_is_read(tmp_path, mode):
    env_file = tmp_path / "test.env"
    env_file.write_text("A=1\n")
    env_file.chmod(mode)
    assert run_parser(env_file).stdout == b"A=1\0"


def test_a_file_that_is_not_a_regular_file_is_refused(tmp_path):
    result = run_parser(tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path}: not a regular file" in result.stderr.decode()


def test_root_refuses_a_file_another_user_owns(tmp_path):
    """Its owner could set PATH, LD_PRELOAD or PYTHONPATH for whatever root runs next."""
    assert os.geteuid() == 0, "the system tests run as root"
    env_file = tmp_path / "test.env"
    env_file.write_text("A=1\n")
    env_file.chmod(0o600)
    os.chown(env_file, NOBODY.pw_uid, NOBODY.pw_gid)
    result = run_parser(env_file)
    assert result.returncode == 1
    assert result.stdout == b""
    message = result.stderr.decode()
    assert f"{env_file}: owned by nobody, but this runs as root" in message
    assert f"chown root {env_file}" in message


def test_a_user_reads_its_own_file_or_roots_and_refuses_anyone_elses(tmp_path):
    """The service user reading root:<its group> 0640 is the usual layout; a third user's
    file is refused."""
    env_file = tmp_path / "test.env"
    env_file.write_text("A=1\n")
    env_file.chmod(0o640)
    for owner in (NOBODY.pw_uid, 0):
        os.chown(env_file, owner, NOBODY.pw_gid)
        check_file(str(env_file), env_file.stat(), reader_uid=NOBODY.pw_uid)
    os.chown(env_file, DAEMON.pw_uid, NOBODY.pw_gid)
    with pytest.raises(EnvFileError) as refused:
        check_file(str(env_file), env_file.stat(), reader_uid=NOBODY.pw_uid)
    assert str(refused.value).startswith(
        f"{env_file}: owned by daemon, not by nobody (the user running this) or root"
    )


def test_a_missing_file_is_named(tmp_path):
    result = run_parser(tmp_path / "absent.env")
    assert result.returncode == 1
    assert f"{tmp_path / 'absent.env'}: cannot be read: No such file or directory" in (
        result.stderr.decode()
    )
