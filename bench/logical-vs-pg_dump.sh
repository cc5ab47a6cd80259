#!/usr/bin/env bash
# pgkeep's logical backups side by side with pg_dump -Fc, in one run, on the
# sample chat database (scripts/sample-chat.sql) at a scale factor:
#   - backup:  `pg_dump -Fc -f FILE` (default compression)  vs  `pgkeep backup`
#   - restore: `pg_restore -j2 -d DB FILE`                   vs  `pgkeep restore`
#     (both twice: pg_dump first, then pgkeep first; the best time of each)
#   - DAYS daily backups with ~1% churn a day: repository bytes vs one backup
#   bench/logical-vs-pg_dump.sh [SCALE] [DAYS] [ZSTD_LEVEL]
# ROUNDS=N (default 2) runs N rounds, odd ones pg_dump first, even ones
# pgkeep first.
#
# Every timed step starts on a quiet server: the databases restored before
# it are dropped and no autovacuum worker is running. A restored 2-million-row
# table is vacuumed and analyzed by autovacuum for half a minute or more after
# its restore, and that work landed on whichever restore came next: in the
# pg_dump-first round always on pgkeep's (1.14x-1.39x where the same restores
# one at a time on a quiet server are at parity).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-20}
DAYS=${2:-30}
LEVEL=${3:-3}
ROUNDS=${ROUNDS:-2}
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || { echo "ROUNDS must be 1 to 99, not \"$ROUNDS\"" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run as root (PostgreSQL runs as the postgres user)" >&2; exit 2; }
scripts/install-deps
scripts/build >/dev/null
PGBIN=/usr/lib/postgresql/15/bin
PGKEEP=$PWD/build/pgkeep
WORK=$(mktemp -d /tmp/pgkeep-logical-bench.XXXXXX)
chown postgres "$WORK"
cleanup() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust --data-checksums >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_wal_size=4GB" start >/dev/null
CONN="host=127.0.0.1 port=$PORT user=postgres"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d "$CONN dbname=postgres" -c "CREATE DATABASE chat"
t0=$EPOCHREALTIME
psql -d "$CONN dbname=chat" -v scale="$SCALE" -f scripts/sample-chat.sql >/dev/null
DBSIZE=$(psql -At -d "$CONN dbname=chat" -c "SELECT pg_size_pretty(pg_database_size('chat'))")
echo "chat database at scale $SCALE: $DBSIZE, loaded in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}') s"

# One repository per round (below), so pgkeep's second backup does not
# deduplicate against its first.
for ((round = 1; round <= ROUNDS; round++)); do
  cat > "$WORK/pgkeep-$round.toml" <<EOF2
[repository]
path = "$WORK/repo-$round"
[database.chat]
conninfo = "$CONN dbname=chat"
method = "logical"
compression_level = $LEVEL
EOF2
  PGKEEP_CONFIG="$WORK/pgkeep-$round.toml" PGKEEP_REPO_PASSWORD=bench-password $PGKEEP init >/dev/null
done
export PGKEEP_CONFIG="$WORK/pgkeep-1.toml" PGKEEP_REPO_PASSWORD=bench-password

timed() { local t0=$EPOCHREALTIME; "$@" >/dev/null; awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}'; }
repo_bytes() { du -sb "$WORK/repo-${1:-1}" | cut -f1; }
# The smallest of its arguments.
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

# Both read the same data once to warm the cache, so neither pays for the first read.
"$PGBIN/pg_dump" -Fc -f "$WORK/warm.dump" "$CONN dbname=chat"; rm -f "$WORK/warm.dump"

# Rounds in alternating order, pg_dump first and then pgkeep first, so
# neither gains from going second; the best time of each is reported, bytes
# from round 1.
# The server made quiet for the next timed step: the restored databases
# dropped, autovacuum idle (bounded: 10 minutes), then a checkpoint, so no
# step pays for the one before.
quiesce() {
  local dbs
  dbs=$(psql -At -d "$CONN dbname=postgres" -c "SELECT datname FROM pg_database WHERE datname LIKE 'r\_%'")
  for db in $dbs; do psql -d "$CONN dbname=postgres" -c "DROP DATABASE \"$db\" WITH (FORCE)"; done
  for ((i = 0; i < 1200; i++)); do
    [[ $(psql -At -d "$CONN dbname=postgres" -c "SELECT count(*) FROM pg_stat_activity
      WHERE backend_type = 'autovacuum worker'") == 0 ]] && break
    sleep 0.5
  done
  psql -d "$CONN dbname=postgres" -c "CHECKPOINT"
}
declare -A T
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2)); then order="dump keep"; else order="keep dump"; fi
  for tool in $order; do
    quiesce
    if [[ $tool == dump ]]; then
      T[dump.$round]=$(timed "$PGBIN/pg_dump" -Fc -f "$WORK/chat-$round.dump" "$CONN dbname=chat")
    else
      before=$(repo_bytes "$round")
      T[keep.$round]=$(PGKEEP_CONFIG="$WORK/pgkeep-$round.toml" timed $PGKEEP backup --db chat)
      if ((round == 1)); then keep_bytes=$(($(repo_bytes 1) - before)); fi
    fi
  done
  for tool in $order; do
    quiesce
    if [[ $tool == dump ]]; then
      psql -d "$CONN dbname=postgres" -c "CREATE DATABASE r_pgdump" -c "CHECKPOINT"
      T[restore_dump.$round]=$(timed "$PGBIN/pg_restore" -j2 --exit-on-error -d "$CONN dbname=r_pgdump" \
        "$WORK/chat-$round.dump")
    else
      T[restore_keep.$round]=$(PGKEEP_CONFIG="$WORK/pgkeep-$round.toml" timed $PGKEEP restore --db chat \
        --into-database r_pgkeep --temp-dir "$WORK")
    fi
  done
  echo "round $round ($order): pg_dump ${T[dump.$round]} s, pgkeep backup ${T[keep.$round]} s," \
    "pg_restore ${T[restore_dump.$round]} s, pgkeep restore ${T[restore_keep.$round]} s"
done
quiesce
dump_bytes=$(stat -c %s "$WORK/chat-1.dump")
column() { local k out=(); for ((k = 1; k <= ROUNDS; k++)); do out+=("${T[$1.$k]}"); done; best "${out[@]}"; }
dump_s=$(column dump)
keep_s=$(column keep)
restore_pg_s=$(column restore_dump)
restore_keep_s=$(column restore_keep)

first_bytes=$keep_bytes
for ((day = 2; day <= DAYS; day++)); do
  psql -d "$CONN dbname=chat" <<'SQL'
INSERT INTO messages ("orgId", "conversationId", sender, content, "timestamp")
  SELECT "orgId", "conversationId", sender, content || ' (follow-up)', now()
  FROM messages TABLESAMPLE SYSTEM (1) LIMIT (SELECT count(*) / 100 FROM messages);
UPDATE messages SET content = content || ' [edited]'
  WHERE id IN (SELECT id FROM messages ORDER BY id DESC LIMIT (SELECT count(*) / 400 FROM messages));
DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT (SELECT count(*) / 200 FROM messages));
VACUUM messages;
SQL
  $PGKEEP backup --db chat >/dev/null
done
all_bytes=$(repo_bytes)

printf '\npgkeep zstd level %s; wall: the best of %s rounds in alternating order\n%-44s %10s %14s\n' "$LEVEL" "$ROUNDS" "" "wall (s)" "bytes"
printf '%-44s %10s %14s\n' "pg_dump -Fc (default compression)" "$dump_s" "$dump_bytes"
printf '%-44s %10s %14s   wall %s x, bytes %s x\n' "pgkeep backup (first, into empty repo)" "$keep_s" "$keep_bytes" \
  "$(ratio "$keep_s" "$dump_s")" "$(ratio "$keep_bytes" "$dump_bytes")"
printf '%-44s %10s\n' "pg_restore -j2 from the pg_dump file" "$restore_pg_s"
printf '%-44s %10s %14s   wall %s x\n' "pgkeep restore (load + pg_restore -j2 + counts)" "$restore_keep_s" "" "$(ratio "$restore_keep_s" "$restore_pg_s")"
printf '%-44s %10s %14s   %s x one backup\n' "$DAYS daily backups, ~1% churn/day: repository" "" "$all_bytes" "$(ratio "$all_bytes" "$first_bytes")"
