#!/usr/bin/env bash
# Makes sure MariaDB and Redis run on this machine and that the test user and
# databases exist. Starts a stopped server; installs a missing one (root + apt).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-system-packages.sh servers

wait_for() {  # wait_for NAME COMMAND...
  local name=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "error: $name did not come up" >&2; exit 1
}

if ! mariadb-admin -uroot ping >/dev/null 2>&1; then
  echo "starting mariadbd"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_for mariadb mariadb-admin -uroot ping
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis redis-cli -h 127.0.0.1 -p 6379 ping
fi

# The deployed settings refuse a Redis without credentials: the tests log in as
# an ACL user of their own (the shared server's default user is left as it is).
redis-cli -h 127.0.0.1 -p 6379 ACL SETUSER minihub on '>minihub-test' '~*' '&*' '+@all' >/dev/null \
  || { echo "error: could not create the Redis ACL user 'minihub' (Redis 6 or later is needed)" >&2; exit 1; }

# The test user may create/drop minihub* and test_minihub* databases only.
mariadb -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'minihub'@'localhost' IDENTIFIED BY 'minihub-test';
CREATE USER IF NOT EXISTS 'minihub'@'127.0.0.1' IDENTIFIED BY 'minihub-test';
GRANT ALL PRIVILEGES ON `minihub%`.* TO 'minihub'@'localhost', 'minihub'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `test\_minihub%`.* TO 'minihub'@'localhost', 'minihub'@'127.0.0.1';
GRANT PROCESS ON *.* TO 'minihub'@'localhost', 'minihub'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS minihub CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS minihub_admin CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
SQL
echo "services ready: MariaDB $(mariadb -uroot -N -e 'select version()'), Redis $(redis-cli -h 127.0.0.1 info server | grep redis_version | tr -d '\r')"
