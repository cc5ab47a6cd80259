#!/usr/bin/env bash
# Row-level retention under live traffic, in one run: redact ROWS old
# messages while a bounded pgbench load runs, three ways, each with the same
# load (pgbench -c 4 -j 2 -R RATE, 4 SELECT-and-UPDATE statements per
# transaction on pgbench's tables):
#   - quiet:     the load alone (the baseline p99 latency);
#   - pgkeep:    `pgkeep retention run` (keyset batches, forget log, audit);
#   - one UPDATE: a single `UPDATE ... SET content = '[redacted]'` statement.
# Reported: rows/s of each, and the load's p99 latency over the window the
# redaction ran (the whole run for quiet), with the ratio to quiet. Each load
# runs LOAD_SECONDS (default 60); a redaction that outlasts it is measured
# against the part of the load it overlapped.
#   bench/retention-under-load.sh [ROWS] [RATE] [LOAD_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
RATE=${2:-400}
LOAD_SECONDS=${3:-60}
[[ $(id -u) -eq 0 ]] || { echo "run as root (PostgreSQL runs as the postgres user)" >&2; exit 2; }
scripts/install-deps
scripts/build >/dev/null
PGBIN=/usr/lib/postgresql/15/bin
PGKEEP=$PWD/build/pgkeep
WORK=$(mktemp -d /tmp/pgkeep-retention-bench.XXXXXX)
chown postgres "$WORK"
cleanup() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_wal_size=4GB -c shared_buffers=512MB" \
  start >/dev/null
CONN="host=127.0.0.1 port=$PORT user=postgres"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d "$CONN dbname=postgres" -c "CREATE DATABASE chat"
# Two identical message tables (one for pgkeep, one for the single UPDATE):
# ROWS messages older than 30 days, and as many again that are recent.
for t in msg_keep msg_update; do
  psql -d "$CONN dbname=chat" -c "CREATE TABLE $t (id bigserial PRIMARY KEY, org_id int NOT NULL,
      sender text NOT NULL, content text NOT NULL, sent_at timestamptz NOT NULL)" \
    -c "INSERT INTO $t (org_id, sender, content, sent_at)
        SELECT g % 100, 'user-' || (g % 5000), 'message number ' || g || ' with some words in it',
               now() - interval '31 days' - (g % 300) * interval '1 day'
        FROM generate_series(1, $ROWS) g" \
    -c "INSERT INTO $t (org_id, sender, content, sent_at)
        SELECT g % 100, 'user-' || (g % 5000), 'recent message ' || g, now() - (g % 29) * interval '1 day'
        FROM generate_series(1, $ROWS) g" \
    -c "CREATE INDEX ON $t (sent_at)" -c "VACUUM ANALYZE $t"
done
"$PGBIN/pgbench" -i -q -s 20 "$CONN dbname=chat" >/dev/null 2>&1
psql -d "$CONN dbname=chat" -c "CHECKPOINT"
echo "chat database: $ROWS messages to redact per table ($(psql -At -d "$CONN dbname=chat" \
  -c "SELECT pg_size_pretty(pg_database_size('chat'))") in all); load: pgbench -c 4 -j 2 -R $RATE"

cat > "$WORK/pgkeep.toml" <<EOF2
[repository]
path = "$WORK/repo"
[database.chat]
conninfo = "$CONN dbname=chat"
method = "logical"

[[retention_policy]]
name = "messages"
database = "chat"
table = "msg_keep"
timestamp_column = "sent_at"
days = 30
mode = "redact"
redact = { content = "[redacted]" }
EOF2
export PGKEEP_CONFIG="$WORK/pgkeep.toml" PGKEEP_REPO_PASSWORD=bench-password
$PGKEEP init >/dev/null

# The load for DURATION seconds, logging every transaction (pgbench --log).
load() {
  local name=$1 duration=$2
  mkdir -p "$WORK/log-$name"
  (cd "$WORK/log-$name" && "$PGBIN/pgbench" -n -c 4 -j 2 -R "$RATE" -T "$duration" \
    -b simple-update --log --log-prefix=tx "$CONN dbname=chat" >"$WORK/pgbench-$name.out" 2>&1)
}
# p99 latency (ms) of the transactions that ended between two epoch times.
p99() {
  cat "$WORK/log-$1"/tx* | awk -v a="$2" -v b="$3" '{ t = $5 + $6 / 1e6; if (t >= a && t <= b) print $3 / 1000 }' |
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f", v[i] }'
}
now() { echo "$EPOCHREALTIME"; }
# The earlier of $1 and the end of a load that started at $2.
earlier() { awk -v b="$1" -v s="$2" -v d="$LOAD_SECONDS" 'BEGIN{e = s + d; printf "%.6f", (b < e ? b : e)}'; }

# quiet: the load alone.
t0=$(now)
load quiet "$LOAD_SECONDS"
t1=$(now)
quiet_p99=$(p99 quiet "$t0" "$t1")

# pgkeep: the load, with the retention run started 2 s in. (A background
# pgbench ignores SIGINT, so each load runs its whole LOAD_SECONDS.)
load_started=$(now)
load keep "$LOAD_SECONDS" &
LOAD=$!
sleep 2
a=$(now)
$PGKEEP --output json retention run >"$WORK/run.json"
b=$(now)
wait "$LOAD"
keep_rows=$(python3 -c "import json; print(json.load(open('$WORK/run.json'))['redacted'])")
keep_s=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b-a}')
keep_p99=$(p99 keep "$a" "$(earlier "$b" "$load_started")")

# one UPDATE: the same load, with one statement started 2 s in.
load_started=$(now)
load update "$LOAD_SECONDS" &
LOAD=$!
sleep 2
a=$(now)
updated=$(psql -At -d "$CONN dbname=chat" -c "WITH u AS (UPDATE msg_update SET content = '[redacted]'
  WHERE sent_at < now() - interval '30 days' AND content IS DISTINCT FROM '[redacted]' RETURNING 1)
  SELECT count(*) FROM u")
b=$(now)
wait "$LOAD"
update_s=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b-a}')
update_p99=$(p99 update "$a" "$(earlier "$b" "$load_started")")

rate() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == "n/a" || a == "n/a") print "n/a"; else printf "%.2f", a/b}'; }
entries=$(find "$WORK/repo/forget" -type f | wc -l)
echo
printf "%-34s %10s %10s %12s %14s\n" "" "rows" "seconds" "rows/s" "load p99 (ms)"
printf "%-34s %10s %10s %12s %14s\n" "quiet (load alone)" "-" "-" "-" "$quiet_p99"
printf "%-34s %10s %10s %12s %14s\n" "pgkeep retention run" "$keep_rows" "$keep_s" \
  "$(rate "$keep_rows" "$keep_s")" "$keep_p99 ($(ratio "$keep_p99" "$quiet_p99")x)"
printf "%-34s %10s %10s %12s %14s\n" "one UPDATE statement" "$updated" "$update_s" \
  "$(rate "$updated" "$update_s")" "$update_p99 ($(ratio "$update_p99" "$quiet_p99")x)"
echo "forget log: $entries entries ($(du -sh "$WORK/repo/forget" | cut -f1)) for $keep_rows rows"
