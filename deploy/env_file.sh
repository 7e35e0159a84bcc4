# Sourced by minihubctl, the deploy's pre-check and the Fabric tasks' remote scripts:
# loads a secrets file into the environment as data, never as shell code. The
# parsing and the checks (mode, owner) are deploy/env_file.py's, next to this file.
#
#   . deploy/env_file.sh && load_env_file PYTHON FILE
#
# Fails, having exported nothing, when env_file.py refuses the file (its error
# names the file and the line). Needs bash 4.4 or later (`wait` on a process
# substitution).
env_file_parser="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env_file.py"

load_env_file() {
  local python=$1 file=$2 assignment
  while IFS= read -r -d '' assignment; do
    export "$assignment" || return
  done < <("$python" "$env_file_parser" "$file")
  wait "$!"  # the parser's exit status: nothing was read from a refused file
}
