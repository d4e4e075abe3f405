#!/usr/bin/env bash
# The real servers the interop tests talk to: a redis-server and a PostgreSQL cluster, each on
# a free loopback port, with their data in a temporary directory (nothing system-wide is
# started or changed, except packages installed with --install).
#
#   scripts/services.sh start STATE_DIR [--install]   prints `export NAME=value` lines
#   scripts/services.sh stop STATE_DIR
#
# start: with --install, installs what is missing from Debian's packages (redis-server,
# postgresql, wrk) when running as root with apt-get. Then starts what it can and prints
#   BOROS_TEST_REDIS=127.0.0.1:PORT
#   BOROS_TEST_PG=postgres://boros@127.0.0.1:PORT/boros
# and, for a service it could not start, BOROS_TEST_REDIS_SKIP / BOROS_TEST_PG_SKIP with the
# reason (the tests print it when they skip). Diagnostics go to stderr.
# PostgreSQL refuses to run as root: as root, the cluster is made and run by the `postgres`
# user (the package creates it) in a directory it owns.
set -uo pipefail

cmd=${1:-}
state=${2:-}
install=0
[ "${3:-}" = "--install" ] && install=1
if [ -z "$cmd" ] || [ -z "$state" ]; then
  echo "usage: $0 start|stop STATE_DIR [--install]" >&2
  exit 2
fi

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

install_missing() {
  local want=()
  command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
  pg_bin >/dev/null 2>&1 || want+=(postgresql)
  command -v wrk >/dev/null 2>&1 || want+=(wrk)
  [ ${#want[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "services: missing ${want[*]}; not root or no apt-get, not installing" >&2
    return 0
  fi
  echo "services: apt-get install -y ${want[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >/dev/null 2>&1 || echo "services: apt-get update failed" >&2
  apt-get install -y --no-install-recommends "${want[@]}" >/dev/null 2>&1 ||
    echo "services: apt-get install ${want[*]} failed" >&2
}

start_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "export BOROS_TEST_REDIS_SKIP='redis-server is not installed (apt-get install redis-server)'"
    return
  fi
  local port dir
  port=$(free_port)
  dir="$state/redis"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
  local i
  for i in $(seq 1 50); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
      echo "export BOROS_TEST_REDIS=127.0.0.1:$port"
      return
    fi
    sleep 0.1
  done
  echo "services: redis-server did not answer on $port: $(tail -3 "$dir/redis.log" 2>/dev/null)" >&2
  echo "export BOROS_TEST_REDIS_SKIP='redis-server did not start (see $dir/redis.log)'"
}

start_pg() {
  local bin
  if ! bin=$(pg_bin); then
    echo "export BOROS_TEST_PG_SKIP='PostgreSQL is not installed (apt-get install postgresql)'"
    return
  fi
  local port dir as=()
  port=$(free_port)
  dir="$state/pg"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "export BOROS_TEST_PG_SKIP='running as root and there is no postgres user to run PostgreSQL as'"
      return
    fi
    chown postgres "$state" "$dir"
    chmod 755 "$state"
    as=(runuser -u postgres --)
  fi
  if ! "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1; then
    echo "services: initdb failed: $(tail -3 "$dir/initdb.log")" >&2
    echo "export BOROS_TEST_PG_SKIP='initdb failed (see $dir/initdb.log)'"
    return
  fi
  if ! "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >&2; then
    echo "services: pg_ctl start failed: $(tail -3 "$dir/pg.log")" >&2
    echo "export BOROS_TEST_PG_SKIP='PostgreSQL did not start (see $dir/pg.log)'"
    return
  fi
  echo "$bin" >"$state/pg-bin"
  "${as[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -q -c "CREATE USER boros" -c "CREATE DATABASE boros OWNER boros" >&2 ||
    echo "services: creating the boros user and database failed" >&2
  echo "export BOROS_TEST_PG=postgres://boros@127.0.0.1:$port/boros"
}

case "$cmd" in
start)
  mkdir -p "$state"
  [ "$install" -eq 1 ] && install_missing
  start_redis
  start_pg
  ;;
stop)
  if [ -f "$state/redis/redis.pid" ]; then
    kill "$(cat "$state/redis/redis.pid")" 2>/dev/null || true
  fi
  if [ -f "$state/pg-bin" ] && [ -d "$state/pg/data" ]; then
    bin=$(cat "$state/pg-bin")
    if [ "$(id -u)" -eq 0 ]; then
      runuser -u postgres -- "$bin/pg_ctl" -D "$state/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    else
      "$bin/pg_ctl" -D "$state/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$state"
  ;;
*)
  echo "usage: $0 start|stop STATE_DIR [--install]" >&2
  exit 2
  ;;
esac
