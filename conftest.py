"""Lets a bare `pytest` use the local test environment that `make test` uses."""

import os
from pathlib import Path

for line in (Path(__file__).parent / "scripts" / "test.env").read_text().splitlines():
    line = line.strip()
    if line and not line.startswith("#") and "=" in line:
        name, _, value = line.partition("=")
        os.environ.setdefault(name, value)
