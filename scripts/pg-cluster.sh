#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the demo and the tests.
#   pg-cluster.sh start DIR PORT   initdb (as the postgres user when run as root), start on 127.0.0.1:PORT,
#                                  create role "synapse" (password in DIR/synapse.password, CREATEDB)
#   pg-cluster.sh stop DIR         stop it (the data stays until DIR is removed)
# Superuser access: unix socket in DIR/socket as "postgres", no password (trust on the socket only).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
  port=${3:?PORT}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 0755 "$dir"; fi
  # the postgres user must be able to reach DIR
  p=$dir; while [ "$p" != / ]; do p=$(dirname "$p"); [ "$(id -u)" = 0 ] && chmod o+x "$p" 2>/dev/null || true; done
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg mkdir -p "$dir/data" "$dir/socket"
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/socket'
fsync = off
full_page_writes = off
synchronous_commit = off
CONF
  fi
  if ! as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
  fi
  if [ ! -f "$dir/synapse.password" ]; then
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/synapse.password"
    chmod 0600 "$dir/synapse.password"
  fi
  pw=$(cat "$dir/synapse.password")
  as_pg "$bindir/psql" -X -q -h "$dir/socket" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -v pw="$pw" <<'SQL'
SELECT format('CREATE ROLE synapse LOGIN CREATEDB PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'synapse') \gexec
SQL
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
