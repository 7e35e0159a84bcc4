#!/usr/bin/env bash
# Installs the Debian packages a profile needs, when they are missing and we are root.
#   build:   headers for the mysqlclient driver, gettext (makemessages in the translation test)
#   servers: MariaDB and Redis servers (for `make test`)
#   system:  nginx, sshd, wrk, ab (system tests and benchmarks), node (the mini-program client's tests), chromium
#            and a Chinese font (the browser tests and their screenshots)
# Each entry is package:command, or package:/path for packages without a command (fonts).
set -euo pipefail
declare -A PACKAGES=(
  [build]="pkg-config:pkg-config libmariadb-dev:mariadb_config gettext:xgettext"
  [servers]="mariadb-server:mariadbd redis-server:redis-server"
  [system]="nginx-light:nginx openssh-server:sshd wrk:wrk apache2-utils:ab nodejs:node chromium:chromium fonts-wqy-microhei:/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
)
missing=()
for profile in "$@"; do
  for entry in ${PACKAGES[$profile]}; do
    pkg=${entry%%:*}; cmd=${entry##*:}
    if [[ "$cmd" == /* ]]; then
      [ -e "$cmd" ] || missing+=("$pkg")
    else
      PATH="$PATH:/usr/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    fi
  done
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "error: missing system packages: ${missing[*]} (install them, or run as root on Debian/Ubuntu)" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
