#!/usr/bin/env bash
# Runs the whole test suite with the local test environment; "no tests collected"
# (pytest exit code 5) is a failure, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
set -a; source scripts/test.env; set +a
.venv/bin/pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi
exit $rc
