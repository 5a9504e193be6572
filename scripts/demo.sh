#!/usr/bin/env bash
# The main job on an embedded default: a throwaway PostgreSQL cluster in ./.demo (git-ignored) holding a
# small Synapse-shaped database, backed up with mxbackup, listed, then broken on purpose and restored
# (swap strategy: the broken database is kept as synapse_pre_restore_*). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/setup.sh
swift build -c release --product mxbackup
bin=$(swift build -c release --show-bin-path)/mxbackup

demo=$PWD/.demo
port=${MXBACKUP_DEMO_PORT:-55433}
scripts/pg-cluster.sh start "$demo/pg" "$port"
superuser() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! superuser psql -X -q -h "$demo/pg/socket" -p "$port" -U postgres -d postgres -tAc \
     "SELECT 1 FROM pg_database WHERE datname = 'synapse'" | grep -q 1; then
  superuser psql -X -q -h "$demo/pg/socket" -p "$port" -U postgres -d postgres \
    -c "CREATE DATABASE synapse OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
  PGPASSWORD=$(cat "$demo/pg/synapse.password") psql -X -q -h 127.0.0.1 -p "$port" -U synapse -d synapse \
    -v ON_ERROR_STOP=1 -v scale=10 -f fixtures/synapse_sample.sql >/dev/null
fi

(umask 077; cat >"$demo/mxbackup.yaml" <<YAML
postgres:
  host: 127.0.0.1
  port: $port
  user: synapse
  database: synapse
  password_file: $demo/pg/synapse.password
backup:
  dir: $demo/backups
retention:
  keep_last: 5
YAML
)
echo
echo "== mxbackup backup"
"$bin" backup --config "$demo/mxbackup.yaml"
echo
echo "== mxbackup list"
"$bin" list --config "$demo/mxbackup.yaml"
newest=$("$bin" list --config "$demo/mxbackup.yaml" --json | sed -n 's/.*"file" : "\(.*\)".*/\1/p' | head -n1 | sed 's#\\/#/#g')
count() { PGPASSWORD=$(cat "$demo/pg/synapse.password") psql -X -q -tA -h 127.0.0.1 -p "$port" -U synapse -d synapse -c "SELECT count(*) FROM $1"; }
echo
echo "== breaking the database: DELETE FROM events (events now: $(PGPASSWORD=$(cat "$demo/pg/synapse.password") psql -X -q -tA -h 127.0.0.1 -p "$port" -U synapse -d synapse -c 'DELETE FROM events' >/dev/null; count events))"
echo
echo "== mxbackup restore $newest --yes"
"$bin" restore --config "$demo/mxbackup.yaml" "$newest" --yes
echo "events after the restore: $(count events)"

cat <<TEXT

The newest backup is $newest
(its manifest, with size, SHA-256 and row counts, is beside it: ${newest%.sql.zst}.manifest.json).

Restore it by hand, with standard tools only, into a new database:
  createdb -h 127.0.0.1 -p $port -U synapse -E UTF8 --lc-collate=C --lc-ctype=C -T template0 synapse_restored
  zstd -dc "$newest" | psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $port -U synapse -d synapse_restored
(password: $demo/pg/synapse.password). The database as it was before the restore is kept as
synapse_pre_restore_*: 'mxbackup rollback --config $demo/mxbackup.yaml --yes' swaps it back.
Stop the throwaway cluster with: scripts/pg-cluster.sh stop .demo/pg
TEXT
