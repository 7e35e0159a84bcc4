"""Logs: many processes, one file, one writer (supervisord), rotation loses and mangles nothing."""

import re
import subprocess
import sys

import pytest

from tests.helpers import PROJECT_DIR, test_process_env
from tests.system.stack import wait_until

pytestmark = pytest.mark.system

PROCESSES, LINES = 5, 20_000
LINE = re.compile(
    r"^\[[^\]]+\]\[-\]\[tests/system/log_writers\.py\(write_lines\):\d+\]🍺 "
    r"writer=(\d) seq=(\d{6}) x{40}$"
)

CONF = """
[unix_http_server]
file={run}/supervisor.sock

[supervisord]
logfile={run}/supervisord.log
pidfile={run}/supervisord.pid
directory={root}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{run}/supervisor.sock

[program:writers]
command={python} -m tests.system.log_writers {processes} {lines}
autostart=true
autorestart=false
startsecs=0
redirect_stderr=true
; Same mechanism as deploy/supervisor/programs.conf, with a small size to force rotations.
stdout_logfile={run}/app.log
stdout_logfile_maxbytes=1MB
stdout_logfile_backups=50
"""


def test_five_processes_20000_lines_each_across_rotations(tmp_path):
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        CONF.format(
            run=tmp_path, root=PROJECT_DIR, python=sys.executable, processes=PROCESSES, lines=LINES
        )
    )
    env = {"PATH": "/usr/bin:/bin", **test_process_env(LOG_FORMAT="emoji")}
    supervisorctl = [str(PROJECT_DIR / ".venv/bin/supervisorctl"), "-c", str(conf)]
    subprocess.run(
        [str(PROJECT_DIR / ".venv/bin/supervisord"), "-c", str(conf)], env=env, check=True
    )
    try:
        wait_until(
            lambda: (
                "EXITED"
                in subprocess.run([*supervisorctl, "status"], capture_output=True, text=True).stdout
            ),
            timeout=240,
            what="writers finished",
        )
    finally:
        subprocess.run([*supervisorctl, "shutdown"], capture_output=True)
    files = sorted(tmp_path.glob("app.log*"))
    assert len(files) > 3, "the test must cross several rotations"
    seen, mangled = set(), []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = LINE.match(line)
            if match:
                seen.add(match.groups())
            else:
                mangled.append(line)
    assert mangled == []
    assert len(seen) == PROCESSES * LINES
