#!/usr/bin/env bash
# Row-level retention under live traffic, in one run: redact ROWS old
# messages while a bounded pgbench load runs, three ways, each with the same
# load (pgbench -c 4 -j 2 -R RATE, 4 SELECT-and-UPDATE statements per
# transaction on pgbench's tables):
#   - quiet:     the load alone (the baseline p99 latency);
#   - pgkeep:    `pgkeep retention run` (keyset batches, forget log, audit);
#   - one UPDATE: a single `UPDATE ... SET content = '[redacted]'` statement.
# Reported: rows/s of each, and the load's p99 latency over the window the
# redaction ran (the whole run for quiet), with the ratio to quiet; two
# rounds in opposite orders (quiet, pgkeep, UPDATE, then UPDATE, pgkeep,
# quiet, the messages put back between them), the best of each. Each load
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
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_wal_size=8GB -c shared_buffers=512MB -c checkpoint_timeout=1h" \
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
# Each run starts right after a checkpoint (and none falls inside one: the
# timeout is an hour), so the three meet the same full-page writes.
checkpoint() { psql -d "$CONN dbname=chat" -c "CHECKPOINT"; }
# The earlier of $1 and the end of a load that started at $2.
earlier() { awk -v b="$1" -v s="$2" -v d="$LOAD_SECONDS" 'BEGIN{e = s + d; printf "%.6f", (b < e ? b : e)}'; }

# One run of each kind: its rows, seconds and the load's p99 over its window.
run_quiet() {
  checkpoint
  local t0 t1
  t0=$(now)
  load "quiet-$1" "$LOAD_SECONDS"
  t1=$(now)
  R[quiet.p99.$1]=$(p99 "quiet-$1" "$t0" "$t1")
}
# pgkeep: the load, with the retention run started 2 s in. (A background
# pgbench ignores SIGINT, so each load runs its whole LOAD_SECONDS.)
run_keep() {
  checkpoint
  local started a b
  started=$(now)
  load "keep-$1" "$LOAD_SECONDS" &
  local pid=$!
  sleep 2
  a=$(now)
  $PGKEEP --output json retention run >"$WORK/run-$1.json"
  b=$(now)
  wait "$pid"
  R[keep.rows.$1]=$(python3 -c "import json; print(json.load(open('$WORK/run-$1.json'))['redacted'])")
  R[keep.s.$1]=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b-a}')
  R[keep.p99.$1]=$(p99 "keep-$1" "$a" "$(earlier "$b" "$started")")
}
# one UPDATE: the same load, with one statement started 2 s in.
run_update() {
  checkpoint
  local started a b
  started=$(now)
  load "update-$1" "$LOAD_SECONDS" &
  local pid=$!
  sleep 2
  a=$(now)
  R[update.rows.$1]=$(psql -At -d "$CONN dbname=chat" -c "WITH u AS (UPDATE msg_update SET
    content = '[redacted]' WHERE sent_at < now() - interval '30 days'
    AND content IS DISTINCT FROM '[redacted]' RETURNING 1) SELECT count(*) FROM u")
  b=$(now)
  wait "$pid"
  R[update.s.$1]=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b-a}')
  R[update.p99.$1]=$(p99 "update-$1" "$a" "$(earlier "$b" "$started")")
}
# Puts the redacted messages back, for the second round.
unredact() {
  for t in msg_keep msg_update; do
    psql -d "$CONN dbname=chat" -c "UPDATE $t SET content = 'message number ' || id || ' again'
      WHERE content = '[redacted]'" -c "VACUUM ANALYZE $t"
  done
}

# Two rounds in opposite orders, so none gains from its place; the best of each.
declare -A R
run_quiet 1; run_keep 1; run_update 1
unredact
run_update 2; run_keep 2; run_quiet 2
for r in 1 2; do
  echo "round $r: quiet p99 ${R[quiet.p99.$r]} ms; pgkeep ${R[keep.rows.$r]} rows in ${R[keep.s.$r]} s," \
    "p99 ${R[keep.p99.$r]} ms; one UPDATE ${R[update.rows.$r]} rows in ${R[update.s.$r]} s, p99 ${R[update.p99.$r]} ms"
done
least() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%s", (a + 0 < b + 0 ? a : b)}'; }
quiet_p99=$(least "${R[quiet.p99.1]}" "${R[quiet.p99.2]}")
keep_p99=$(least "${R[keep.p99.1]}" "${R[keep.p99.2]}")
update_p99=$(least "${R[update.p99.1]}" "${R[update.p99.2]}")
keep_s=$(least "${R[keep.s.1]}" "${R[keep.s.2]}")
update_s=$(least "${R[update.s.1]}" "${R[update.s.2]}")
keep_rows=${R[keep.rows.1]}
updated=${R[update.rows.1]}

rate() { awk -v n="$1" -v s="$2" 'BEGIN{printf "%.0f", n/s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == "n/a" || a == "n/a") print "n/a"; else printf "%.2f", a/b}'; }
entries=$(find "$WORK/repo/forget" -type f | wc -l)
echo
echo "best of each:"
printf "%-34s %10s %10s %12s %14s\n" "" "rows" "seconds" "rows/s" "load p99 (ms)"
printf "%-34s %10s %10s %12s %14s\n" "quiet (load alone)" "-" "-" "-" "$quiet_p99"
printf "%-34s %10s %10s %12s %14s\n" "pgkeep retention run" "$keep_rows" "$keep_s" \
  "$(rate "$keep_rows" "$keep_s")" "$keep_p99 ($(ratio "$keep_p99" "$quiet_p99")x)"
printf "%-34s %10s %10s %12s %14s\n" "one UPDATE statement" "$updated" "$update_s" \
  "$(rate "$updated" "$update_s")" "$update_p99 ($(ratio "$update_p99" "$quiet_p99")x)"
echo "forget log: $entries entries ($(du -sh "$WORK/repo/forget" | cut -f1)) for the" \
  "$((R[keep.rows.1] + R[keep.rows.2])) rows of both runs"
