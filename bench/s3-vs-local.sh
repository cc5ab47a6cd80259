#!/usr/bin/env bash
# pgkeep with its repository on an S3-protocol server against on local disk,
# and pgBackRest's S3 repository (repo1-type=s3) on the same server, in one
# run, on one throwaway PostgreSQL 15 cluster holding the chat database of
# bench/gen-chat.sh:
#   - full physical backup: wall time, peak RSS, bytes stored
#   - restore of it into an empty directory (files only): wall time, peak RSS
#   - pgkeep's requests and bytes sent per GB stored on the S3 server
# The server is tests/s3/server.js (s3rver behind a SigV4 check) over TLS
# with a certificate made for the run: both tools verify it (pgBackRest
# needs TLS for S3). It is a single Node.js process that keeps every object
# in files, so its speed bounds both S3 columns alike.
#
#   bench/s3-vs-local.sh [SCALE]      (as root)
#
# SCALE defaults to 12 (about 1.1 GiB). Each step runs in two rounds with the
# order reversed in the second (pgBackRest S3, pgkeep S3, pgkeep local; then
# the other way round), each round into fresh repositories; the table shows
# each column's best time. Everything lives under one mktemp directory,
# removed with the cluster and the S3 server stopped however the run ends.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-12}
PGBIN=/usr/lib/postgresql/15/bin
die() { printf 's3-vs-local: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (PostgreSQL and both tools run as the postgres user)"
[[ $SCALE =~ ^[1-9][0-9]*$ ]] || die "SCALE must be a positive integer, not \"$SCALE\""

scripts/install-deps   # pgbackrest, GNU time, node and the S3 server's packages
scripts/build >/dev/null
WORK=$(mktemp -d /tmp/pgkeep-s3-bench.XXXXXX)
chmod 0755 "$WORK"
chown postgres: "$WORK"
DATA=$WORK/data
S3_PID=
cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  [[ -s $DATA/postmaster.pid ]] &&
    (cd "$WORK" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop) >/dev/null 2>&1
  [[ -n $S3_PID ]] && kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
  rm -rf -- "$WORK"
  ((rc == 0)) || printf 's3-vs-local: FAILED (exit %d); everything stopped, %s removed\n' "$rc" "$WORK" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
as_pg() { (cd "$WORK" && runuser -u postgres -- "$@"); }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- the cluster -----------------------------------------------------------------
PORT=$(free_port)
mkdir -p "$DATA" && chown postgres: "$DATA"
as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --data-checksums -E UTF8 --no-locale >/dev/null
cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK'
wal_level = replica
archive_mode = on
archive_command = '/bin/true'
max_wal_size = 4GB
EOF
as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w -t 60 start >/dev/null
for v in $(compgen -e); do [[ $v == PG* && $v != PGKEEP* ]] && unset "$v"; done
CONN="host=127.0.0.1 port=$PORT user=postgres"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d "$CONN dbname=postgres" -c "CREATE DATABASE bench"
PGBIN=$PGBIN bench/gen-chat.sh "$SCALE" "$CONN dbname=bench"
psql -d "$CONN dbname=postgres" -c "CHECKPOINT"
CLUSTER_BYTES=$(du -sb "$DATA" | cut -f1)
echo "data directory: $CLUSTER_BYTES bytes"

# --- the S3 server, over TLS ------------------------------------------------------
S3_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/s3.key" -out "$WORK/s3.crt" 2>/dev/null
chmod 0644 "$WORK/s3.crt"
node tests/s3/server.js --dir "$WORK/s3" --port "$S3_PORT" --bucket pgkeep --bucket pgbr \
  --conditional-writes --tls-cert "$WORK/s3.crt" --tls-key "$WORK/s3.key" >"$WORK/s3.out" 2>&1 &
S3_PID=$!
for _ in $(seq 100); do grep -q '^listening on' "$WORK/s3.out" && break; sleep 0.1; done
grep -q '^listening on' "$WORK/s3.out" || { cat "$WORK/s3.out" >&2; die "the S3 server did not start"; }
s3_stats() { curl -s "https://127.0.0.1:$S3_PORT/__pgkeep/stats" --cacert "$WORK/s3.crt" -X "${1:-GET}"; }

# --- the tools --------------------------------------------------------------------
install -m 0755 build/pgkeep "$WORK/pgkeep"
head -c 32 /dev/urandom | base64 >"$WORK/password"
printf 'pgkeep-test\n' >"$WORK/s3-access"
printf 'pgkeep-test-secret\n' >"$WORK/s3-secret"
chmod 0600 "$WORK/password" "$WORK/s3-access" "$WORK/s3-secret"
keep_conf() {  # TOOL ROUND -> config path (tool keep-s3 or keep-local)
  local f=$WORK/$1-$2.toml
  if [[ ! -f $f ]]; then
    {
      echo "[repository]"
      echo "password_file = \"$WORK/password\""
      if [[ $1 == keep-s3 ]]; then
        echo "type = \"s3\""
        echo "[repository.s3]"
        echo "endpoint = \"https://localhost:$S3_PORT\""
        echo "bucket = \"pgkeep\""
        echo "prefix = \"round-$2/\""
        echo "region = \"us-east-1\""
        echo "access_key_file = \"$WORK/s3-access\""
        echo "secret_key_file = \"$WORK/s3-secret\""
        echo "ca_file = \"$WORK/s3.crt\""
      else
        echo "path = \"$WORK/local-repo-$2\""
      fi
      echo
      echo "[database.bench]"
      echo "conninfo = \"$CONN dbname=postgres\""
      echo "pgdata = \"$DATA\""
      echo "method = \"physical\""
    } >"$f"
    chmod 0600 "$f"
  fi
  echo "$f"
}
pgbr_conf() {
  local f=$WORK/pgbr-$1.conf
  if [[ ! -f $f ]]; then
    mkdir -p "$WORK/pgbr-log-$1" "$WORK/pgbr-lock-$1"
    cat >"$f" <<EOF
[global]
repo1-type=s3
repo1-path=/round-$1
repo1-s3-endpoint=localhost
repo1-storage-port=$S3_PORT
repo1-storage-ca-file=$WORK/s3.crt
repo1-s3-uri-style=path
repo1-s3-bucket=pgbr
repo1-s3-region=us-east-1
repo1-s3-key=pgkeep-test
repo1-s3-key-secret=pgkeep-test-secret
repo1-retention-full=2
repo1-bundle=y
compress-type=zst
process-max=2
start-fast=y
log-level-console=warn
log-path=$WORK/pgbr-log-$1
lock-path=$WORK/pgbr-lock-$1

[bench]
pg1-path=$DATA
pg1-port=$PORT
pg1-socket-path=$WORK
EOF
    chmod 0600 "$f"
  fi
  echo "$f"
}
for r in 1 2; do
  pgbr_conf "$r" >/dev/null
  keep_conf keep-s3 "$r" >/dev/null
  keep_conf keep-local "$r" >/dev/null
done
chown -R postgres: "$WORK"

set_archive_command() {
  local i
  for ((i = 0; i < 1200; i++)); do compgen -G "$DATA/pg_wal/archive_status/*.ready" >/dev/null || break; sleep 0.25; done
  psql -d "$CONN dbname=postgres" -v cmd="$1" >/dev/null <<'SQL'
ALTER SYSTEM SET archive_command = :'cmd';
SELECT pg_reload_conf();
SQL
  sleep 1
}
timed() {
  sync
  if ! (cd "$WORK" && /usr/bin/time -f '%e %M' -o "$WORK/time.out" runuser -u postgres -- "$@") >"$WORK/step.log" 2>&1; then
    cat "$WORK/step.log" >&2
    die "failed: $*"
  fi
  read -r WALL RSS <"$WORK/time.out"
}
declare -A R
order() { if (($1 == 1)); then echo "pgbr-s3 keep-s3 keep-local"; else echo "keep-local keep-s3 pgbr-s3"; fi; }

for r in 1 2; do
  for tool in $(order "$r"); do
    if [[ $tool == pgbr-s3 ]]; then
      conf=$(pgbr_conf "$r")
      set_archive_command "pgbackrest --config=$conf --stanza=bench archive-push %p"
      as_pg pgbackrest --config="$conf" --stanza=bench stanza-create >/dev/null
      timed pgbackrest --config="$conf" --stanza=bench backup --type=full
      R[$tool.backup.$r]=$WALL R[$tool.backup_rss.$r]=$RSS
      target=$WORK/restore-$tool-$r
      as_pg mkdir -p "$target"
      timed pgbackrest --config="$conf" --stanza=bench restore --pg1-path="$target"
    else
      conf=$(keep_conf "$tool" "$r")
      set_archive_command "$WORK/pgkeep --config $conf wal-push --db bench %p"
      as_pg "$WORK/pgkeep" --config "$conf" init >/dev/null
      s3_stats DELETE >/dev/null
      timed "$WORK/pgkeep" --config "$conf" backup --db bench --type full
      R[$tool.backup.$r]=$WALL R[$tool.backup_rss.$r]=$RSS
      [[ $tool == keep-s3 ]] && R[$tool.stats.$r]=$(s3_stats)
      R[$tool.stored.$r]=$( (as_pg "$WORK/pgkeep" --config "$conf" --output json status || true) |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["repository"]["stored_bytes"])')
      target=$WORK/restore-$tool-$r
      s3_stats DELETE >/dev/null
      timed "$WORK/pgkeep" --config "$conf" restore --db bench --pgdata "$target" --no-archive
      [[ $tool == keep-s3 ]] && R[$tool.rstats.$r]=$(s3_stats)
    fi
    R[$tool.restore.$r]=$WALL R[$tool.restore_rss.$r]=$RSS
    rm -rf -- "$WORK/restore-$tool-$r"
    echo "round $r: $tool backup ${R[$tool.backup.$r]} s, restore ${R[$tool.restore.$r]} s"
  done
done
set_archive_command /bin/true

best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
echo
echo "| step | pgkeep local | pgkeep S3 | pgBackRest S3 | S3/local (target <= 1.3x) | pgkeep S3/pgBackRest S3 |"
echo "|---|---:|---:|---:|---:|---:|"
for step in backup restore; do
  l=$(best "${R[keep-local.$step.1]}" "${R[keep-local.$step.2]}")
  s=$(best "${R[keep-s3.$step.1]}" "${R[keep-s3.$step.2]}")
  p=$(best "${R[pgbr-s3.$step.1]}" "${R[pgbr-s3.$step.2]}")
  echo "| $step (s) | $l | $s | $p | $(ratio "$s" "$l") | $(ratio "$s" "$p") |"
done
for step in backup_rss restore_rss; do
  echo "| peak RSS, $step (MiB) | $((${R[keep-local.$step.1]} / 1024)) | $((${R[keep-s3.$step.1]} / 1024)) | $((${R[pgbr-s3.$step.1]} / 1024)) | | |"
done
stored=${R[keep-s3.stored.1]}
python3 - "$stored" "${R[keep-s3.stats.1]}" "${R[keep-s3.rstats.1]}" <<'EOF'
import json, sys
stored = int(sys.argv[1]); s = json.loads(sys.argv[2]); gb = stored / 1e9
r = json.loads(sys.argv[3])
print(f"\npgkeep's restore from S3: {r['requests']['GET']} GETs, {r['bytes_out']} bytes received "
      f"({r['bytes_out'] / stored:.3f} per byte stored)")
req = sum(s["requests"].values())
print(f"\npgkeep's full backup to S3: {stored} bytes stored, {req} requests "
      f"({req / gb:.0f} per GB stored: {s['requests']}), {s['bytes_in']} bytes sent "
      f"({s['bytes_in'] / stored:.3f} per byte stored)")
EOF
echo "data directory $CLUSTER_BYTES bytes; $(pgbackrest version); $("$WORK/pgkeep" --version)"
