"""Several processes logging through MiniHub's LOGGING at once (run by the log rotation test).

usage: python -m tests.system.log_writers PROCESSES LINES  (from the project directory)
"""

import logging
import os
import sys

import django

PAYLOAD = "x" * 40


def write_lines(writer: int, lines: int) -> None:
    logger = logging.getLogger("minihub.logtest")
    for seq in range(lines):
        logger.info("writer=%d seq=%06d %s", writer, seq, PAYLOAD)


def main() -> None:
    processes, lines = int(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    children = []
    for writer in range(processes):
        pid = os.fork()
        if pid == 0:
            write_lines(writer, lines)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
