#!/usr/bin/env bash
# Health-check a release before it gets any traffic: serve it from a throwaway
# web server, started by the release's deploy/web (one worker, a spare port,
# a private run directory), require
# /api/v2/health/live to name the release and /api/v2/health to answer 200,
# then stop that server, and print the data tier it sees (manage.py
# datatier_status: the Redis master, each replica in rotation or not). Run by fabfile.py on the host:
#
#   precheck.sh RELEASE_DIR RELEASE_ID ENV TIMEOUT_SECONDS
#
# MINIHUB_ENV_FILE (the secrets) must be exported; it is read as data by
# env_file.sh, uploaded next to this script with probe.py.
set -euo pipefail
release_dir=$1 release_id=$2 env_name=$3 timeout=$4
helpers="$(cd "$(dirname "$0")" && pwd)"
probe="$helpers/probe.py"
# shellcheck source=deploy/env_file.sh
. "$helpers/env_file.sh"
cd "$release_dir"
load_env_file .venv/bin/python "$MINIHUB_ENV_FILE"
run_dir=$(mktemp -d)
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# After the env file: these belong to the check, never to the live server.
export DJANGO_SETTINGS_MODULE="config.settings.$env_name" MINIHUB_ROOT="$release_dir" \
  MINIHUB_RUN_DIR="$run_dir" MINIHUB_BIND="127.0.0.1:$port" GRANIAN_WORKERS=1 \
  GUNICORN_WORKERS=1 GUNICORN_WORKER_CLASS=sync GUNICORN_PROC_NAME=minihub-precheck

# The release's own entry point (it execs the server: $! is its main process).
"$release_dir/deploy/web" </dev/null >"$run_dir/web.log" 2>&1 &
server=$!
finish() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap finish EXIT

if ! answer=$(.venv/bin/python "$probe" "http://127.0.0.1:$port" \
  --release "$release_id" --timeout "$timeout" --pid "$server" 2>&1); then
  echo "--- the release's own web server said (last lines):" >&2
  tail -n 20 "$run_dir/web.log" >&2
  echo "--- the health check's last answer: $answer" >&2
  exit 1
fi
echo "$answer"
# The data tier the release sees: the Redis master in use and each replica's state.
.venv/bin/python manage.py datatier_status
