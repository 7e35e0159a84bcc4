"""The mini-program client (clients/wx, npm package minihub-wx) under Node's own test runner.

Three `node --test` runs, each a subprocess whose TAP output is streamed here:
- the unit tests, against a local server they start themselves;
- the live tests, against MiniHub served by pytest-django's live_server (the test
  settings on MariaDB and Redis) and the fake WeChat server, both over real HTTP;
- the expiry tests, against the same with tokens that live a few seconds.
A run passes when node exits 0 and its summary counts passes and nothing else.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.album_factory import TrackSpec, album_create
from tests.conftest import APPID_A, APPID_B

pytestmark = pytest.mark.slow

CLIENT_DIR = Path(__file__).resolve().parent.parent / "clients" / "wx"
ALBUM_COUNT = 25  # more than one page of 20
WRITES_PER_USER_PER_MINUTE = 20  # low, so that the 429 test reaches it quickly
TOKEN_TTL_SECONDS = 6
NODE_RUN_TIMEOUT_SECONDS = 240
SUMMARY = re.compile(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$")


@pytest.fixture
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail(
            "`node` is not installed: the mini-program client's tests need Node.js 18 or later "
            "(Debian/Ubuntu: apt-get install nodejs; `make test` installs it when run as root)"
        )
    return path


def run_node(node: str, test_files: list[str], env: dict[str, str], capsys) -> dict[str, int]:
    """`node --test` on these files (relative to clients/wx); its summary counts."""
    process = subprocess.Popen(
        [node, "--test", "--test-reporter=tap", *test_files],
        cwd=CLIENT_DIR,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(NODE_RUN_TIMEOUT_SECONDS, process.kill)
    watchdog.start()
    lines = []
    try:
        for line in process.stdout:
            sys.stdout.write(line)  # streamed: shown live with -s, and on failure
            lines.append(line.rstrip("\n"))
        returncode = process.wait()
    finally:
        watchdog.cancel()
        process.stdout.close()
    counts = {}
    for line in lines:
        match = SUMMARY.match(line)
        if match:
            counts[match.group(1)] = int(match.group(2))
    tail = "\n".join(lines[-60:])
    assert returncode == 0, f"node --test {' '.join(test_files)} exited {returncode}:\n{tail}"
    assert counts.get("pass", 0) > 0, f"node reported no passing test:\n{tail}"
    problems = {name: counts.get(name) for name in ("fail", "cancelled", "skipped", "todo")}
    assert problems == dict.fromkeys(problems, 0), f"node's summary: {counts}\n{tail}"
    assert counts["pass"] == counts.get("tests"), f"node's summary: {counts}"
    # The counts, and the numbers the tests report, in pytest's own output.
    reports = [line.split("# report: ", 1)[1] for line in lines if "# report: " in line]
    with capsys.disabled():
        print(f"\n[node --test {' '.join(test_files)}] {counts['pass']} passed, 0 failed")
        for report in reports:
            print(f"  {report}")
    return counts


@pytest.fixture
def live_minihub(live_server, tenants, wechat, settings) -> dict[str, str]:
    """MiniHub over real HTTP with two mini-programs and their albums; the node tests' env."""
    settings.API_WRITES_PER_USER_PER_MINUTE = WRITES_PER_USER_PER_MINUTE
    for n in range(ALBUM_COUNT):
        album_create(
            mini_program_id=tenants.a.id,
            title=f"专辑 {n} 🎵",
            artist="周杰伦",
            cover_url=f"https://example.com/covers/{n}.jpg",
            tracks=[TrackSpec(title=f"第{k}首", duration_seconds=200 + k) for k in range(3)],
        )
    other = album_create(mini_program_id=tenants.b.id, title="B's album", artist="B")
    # live_server binds IPv4; "localhost" may resolve to ::1 first in Node.
    base = live_server.url.replace("://localhost:", "://127.0.0.1:")
    return {
        "MINIHUB_TEST_BASE_URL": f"{base}/{django_settings.API_PREFIX.strip('/')}",
        "MINIHUB_TEST_FAKE_WECHAT_URL": wechat.base_url,
        "MINIHUB_TEST_APPID": APPID_A,
        "MINIHUB_TEST_OTHER_APPID": APPID_B,
        "MINIHUB_TEST_OTHER_ALBUM_ID": str(other.id),
        "MINIHUB_TEST_ALBUM_COUNT": str(ALBUM_COUNT),
        "MINIHUB_TEST_WECHAT_ATTEMPTS": str(settings.WECHAT_ATTEMPTS),
        "MINIHUB_TEST_WRITES_PER_USER_PER_MINUTE": str(WRITES_PER_USER_PER_MINUTE),
    }


def test_client_unit_tests(node, capsys):
    files = sorted(
        str(p.relative_to(CLIENT_DIR)) for p in (CLIENT_DIR / "test/unit").glob("*.test.js")
    )
    assert len(files) >= 3, files
    run_node(node, files, {}, capsys)


def test_client_against_the_live_server(node, live_minihub, capsys):
    run_node(node, ["test/live.test.js"], live_minihub, capsys)


def test_client_when_tokens_expire_mid_session(node, live_minihub, settings, capsys):
    settings.API_TOKEN_TTL_SECONDS = TOKEN_TTL_SECONDS
    env = {**live_minihub, "MINIHUB_TEST_TOKEN_TTL": str(TOKEN_TTL_SECONDS)}
    run_node(node, ["test/expiry.test.js"], env, capsys)
