#!/usr/bin/env bash
# Runs the whole test suite with the local test environment; "no tests collected"
# (pytest exit code 5) is a failure, never a pass. Variables already set in the
# environment win over scripts/test.env (e.g. another DATABASE_URL or REDIS_URL
# to run two suites side by side).
set -uo pipefail
cd "$(dirname "$0")/.."
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  name=${line%%=*}
  [ -z "${!name:-}" ] && export "$name=${line#*=}"
done < scripts/test.env
.venv/bin/pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi
exit $rc
