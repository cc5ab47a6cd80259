#!/usr/bin/env bash
# pgkeep serve under load, on a throwaway PostgreSQL 15 with the sample chat
# database (scripts/sample-chat.sql) at a scale factor:
#   - wrk on GET /api/status (a viewer key, loopback, bounded: THREADS threads,
#     CONNECTIONS connections, LOAD_SECONDS seconds) while logical backups of
#     "chat" run one after the other, asked for through POST /api/backups:
#     requests per second and latency percentiles (target: >= 1,000 req/s,
#     p99 < 50 ms);
#   - the idle daemon for IDLE_SECONDS (default 600): its RSS at the start
#     and the end, and its CPU (own, and its children's: the refreshes it
#     runs every status_interval) as a share of one core.
#
#   bench/serve-load.sh [SCALE]      (as root; SCALE defaults to 10)
# Knobs: LOAD_SECONDS (30), THREADS (2), CONNECTIONS (32), IDLE_SECONDS (600).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-10}
LOAD_SECONDS=${LOAD_SECONDS:-30}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
IDLE_SECONDS=${IDLE_SECONDS:-600}
[[ $(id -u) -eq 0 ]] || { echo "run as root (PostgreSQL runs as the postgres user)" >&2; exit 2; }
scripts/install-deps
scripts/build >/dev/null
PGBIN=/usr/lib/postgresql/15/bin
PGKEEP=$PWD/build/pgkeep
WORK=$(mktemp -d /tmp/pgkeep-serve-bench.XXXXXX)
chown postgres "$WORK"
SERVE_PID=
cleanup() {
  [[ -n $SERVE_PID ]] && kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
API_PORT=$(free_port)
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1" start >/dev/null
CONN="host=127.0.0.1 port=$PORT user=postgres"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d "$CONN dbname=postgres" -c "CREATE DATABASE chat"
psql -d "$CONN dbname=chat" -v scale="$SCALE" -f scripts/sample-chat.sql >/dev/null
DBSIZE=$(psql -At -d "$CONN dbname=chat" -c "SELECT pg_size_pretty(pg_database_size('chat'))")

export PGKEEP_REPO_PASSWORD=bench-password
VIEWER_KEY=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
OPERATOR_KEY=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
export VIEWER_KEY OPERATOR_KEY
cat >"$WORK/pgkeep.toml" <<EOT
[repository]
path = "$WORK/repo"
[database.chat]
conninfo = "$CONN dbname=chat"
method = "logical"
schedule = { logical = "0 0 1 1 *" }
[server]
listen = "127.0.0.1:$API_PORT"
state = "$WORK/state.db"
api_keys = [ { name = "bench", role = "viewer", key_env = "VIEWER_KEY" },
             { name = "ops", role = "operator", key_env = "OPERATOR_KEY" } ]
EOT
export PGKEEP_CONFIG=$WORK/pgkeep.toml
$PGKEEP init >/dev/null
$PGKEEP backup --db chat >/dev/null  # the status has a backup to describe
$PGKEEP serve 2>"$WORK/serve.log" &
SERVE_PID=$!
URL=http://127.0.0.1:$API_PORT
get() { python3 -c 'import sys, urllib.request
r = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]}, data=sys.argv[3].encode() if len(sys.argv) > 3 else None)
print(urllib.request.urlopen(r, timeout=10).read().decode())' "$@"; }
for _ in $(seq 300); do
  get "$URL/api/status" "$VIEWER_KEY" 2>/dev/null | grep -q '"databases"' && break
  sleep 0.2
done

# Backups one after the other during the whole load (the queue keeps one waiting).
count_jobs() { get "$URL/api/jobs?limit=1000" "$VIEWER_KEY" | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; print(len(j), sum(1 for r in j if r["result"]=="ok"))'; }
read -r JOBS0 OK0 < <(count_jobs)
(
  end=$((SECONDS + LOAD_SECONDS))
  while ((SECONDS < end)); do
    get "$URL/api/backups" "$OPERATOR_KEY" '{"db":"chat"}' >/dev/null 2>&1 || true
    sleep 0.5
  done
) &
FEEDER=$!
sleep 1
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${LOAD_SECONDS}s" --latency \
  -H "Authorization: Bearer $VIEWER_KEY" "$URL/api/status" >"$WORK/wrk.txt"
wait "$FEEDER"
RPS=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
P50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.txt")
P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
ERRORS=$(grep -E "Non-2xx|Socket errors" "$WORK/wrk.txt" || echo "none")

# Idle: RSS and CPU of the daemon (and of the children it reaps) over IDLE_SECONDS.
# Let the last backup finish first.
for _ in $(seq 600); do
  get "$URL/api/jobs?limit=5" "$VIEWER_KEY" | grep -qE '"result": ?"(queued|running)"' || break
  sleep 0.5
done
read -r JOBS1 OK1 < <(count_jobs)
HZ=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15, $16 + $17}' "/proc/$SERVE_PID/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
RSS0=$(rss); read -r OWN0 KIDS0 < <(cpu)
sleep "$IDLE_SECONDS"
RSS1=$(rss); read -r OWN1 KIDS1 < <(cpu)
share() { awk -v t="$1" -v hz="$HZ" -v s="$IDLE_SECONDS" 'BEGIN{printf "%.2f%%", 100 * t / hz / s}'; }

echo
echo "## pgkeep serve under load (chat at scale $SCALE, $DBSIZE; $(nproc) cores)"
echo
echo "| Measure | Result | Target |"
echo "|---|---|---|"
echo "| GET /api/status, wrk -t$THREADS -c$CONNECTIONS ${LOAD_SECONDS}s, while backups run | $RPS req/s | >= 1,000 |"
echo "| latency p50 / p99 | $P50 / $P99 | p99 < 50 ms |"
echo "| errors | $ERRORS | none |"
echo "| backups asked for during the load: ok / all | $((OK1 - OK0)) / $((JOBS1 - JOBS0)) | all ok |"
echo "| idle RSS, start -> after ${IDLE_SECONDS} s | $((RSS0 / 1024)) MiB -> $((RSS1 / 1024)) MiB | |"
echo "| idle CPU over ${IDLE_SECONDS} s: daemon / its refresh children | $(share $((OWN1 - OWN0))) / $(share $((KIDS1 - KIDS0))) of one core | |"
