#!/usr/bin/env bash
# pgkeep's physical backups side by side with pgBackRest, in one run, on one
# throwaway PostgreSQL 15 cluster (data checksums, WAL archiving on) holding
# the chat database of bench/gen-chat.sh:
#   - full backup:   wall time, peak RSS, bytes stored
#   - one day of churn (bench/chat-churn-day.sql), then an incremental backup:
#                    wall time, peak RSS, bytes added
#   - restore of the latest backup into an empty directory (files only, the
#     server is not started): wall time, peak RSS
#   - wal-push: WAL_SEGMENTS (default 64) real, completed segments pushed one
#     command per segment, as archive_command does: segments per second
# and prints a markdown table with pgkeep/pgBackRest ratios against targets.
#
#   bench/physical-vs-pgbackrest.sh [SCALE]      (as root)
#
# SCALE defaults to 36: a 3.3 GiB database (pg_database_size), generated in
# under 2 minutes; bench/gen-chat.sh gives other sizes. The whole run takes
# about 4 minutes on 2 cores, plus pgkeep's steps. Knobs, all optional:
#   WAL_SEGMENTS=N   segments for the wal-push measure (default 64)
#   STEP_TIMEOUT=S   limit for any one timed command (default 3600 s)
#   SKIP_PGKEEP=1    measure pgBackRest alone (no build, pgkeep columns "-")
#   PGKEEP_BIN=FILE  measure this pgkeep binary instead of building build/pgkeep
#
# The tools take turns; each gets archive_command only for its own backups
# (ALTER SYSTEM + pg_reload_conf), and '/bin/true' while data is generated
# and changed, so neither archives the other's WAL or the load's. Both
# compress with zstd; pgkeep encrypts its repository, pgBackRest's here is not
# encrypted (its default). Peak RSS is GNU time's %M: the largest single
# process of the command's tree (pgBackRest runs process-max=2 workers beside
# its main process; their memory is not added up).
#
# Everything (cluster, repositories, restores) lives under one mktemp
# directory, removed with the cluster stopped however the run ends. The
# server listens on 127.0.0.1 and a socket in that directory only.
set -euo pipefail
PGKEEP_BIN=${PGKEEP_BIN:+$(realpath -- "$PGKEEP_BIN")}
cd "$(dirname "$0")/.."
SCALE=${1:-36}
SEGMENTS=${WAL_SEGMENTS:-64}
STEP_TIMEOUT=${STEP_TIMEOUT:-3600}
SKIP_PGKEEP=${SKIP_PGKEEP:-0}
PGBIN=/usr/lib/postgresql/15/bin

die() { printf 'physical-vs-pgbackrest: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (PostgreSQL and both tools run as the postgres user)"
[[ $SCALE =~ ^[1-9][0-9]*$ ]] || die "SCALE must be a positive integer, not \"$SCALE\""
[[ $SEGMENTS =~ ^[1-9][0-9]*$ ]] || die "WAL_SEGMENTS must be a positive integer, not \"$SEGMENTS\""
[[ $STEP_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "STEP_TIMEOUT must be a positive integer, not \"$STEP_TIMEOUT\""
[[ $SKIP_PGKEEP == [01] ]] || die "SKIP_PGKEEP must be 0 or 1, not \"$SKIP_PGKEEP\""

scripts/install-deps   # includes pgbackrest and GNU time
if ((!SKIP_PGKEEP)) && [[ -z $PGKEEP_BIN ]]; then
  scripts/build >/dev/null
  PGKEEP_BIN=build/pgkeep
fi
((SKIP_PGKEEP)) || [[ -x $PGKEEP_BIN ]] || die "no pgkeep to run at \"$PGKEEP_BIN\""

WORK=$(mktemp -d /tmp/pgkeep-physical-bench.XXXXXX)
chown postgres: "$WORK"
DATA=$WORK/data
STARTED=0
cleanup() {
  local rc=$?
  trap - EXIT
  trap '' INT TERM HUP
  set +e
  if ((STARTED)) && [[ -s $DATA/postmaster.pid ]]; then
    (cd "$WORK" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop) >/dev/null 2>&1
  fi
  rm -rf -- "$WORK"
  ((rc == 0)) || printf 'physical-vs-pgbackrest: FAILED (exit %d); cluster stopped, %s removed\n' "$rc" "$WORK" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

as_pg() { (cd "$WORK" && runuser -u postgres -- "$@"); }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }'; }

# --- the cluster ---------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --data-checksums -E UTF8 --no-locale >/dev/null
cat >>"$DATA/postgresql.conf" <<EOF

# bench/physical-vs-pgbackrest.sh
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK'
wal_level = replica
archive_mode = on
archive_command = '/bin/true'
max_wal_size = 4GB
EOF
STARTED=1
as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w -t 60 start >/dev/null ||
  { tail -n 20 "$WORK/server.log" >&2; die "PostgreSQL did not start"; }
# Clients talk to this server only, whatever PG* variables the caller has set.
for v in $(compgen -e); do
  if [[ $v == PG* && $v != PGKEEP* ]]; then unset "$v"; fi
done
CONN="host=127.0.0.1 port=$PORT user=postgres"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d "$CONN dbname=postgres" -c "CREATE DATABASE bench"

t=$EPOCHREALTIME
PGBIN=$PGBIN bench/gen-chat.sh "$SCALE" "$CONN dbname=bench"
psql -d "$CONN dbname=postgres" -c "CHECKPOINT"
DB_BYTES=$(psql -At -d "$CONN dbname=postgres" -c "SELECT pg_database_size('bench')")
CLUSTER_BYTES=$(du -sb "$DATA" | cut -f1)
echo "database bench at scale $SCALE: $DB_BYTES bytes, generated in $(since "$t") s; data directory $CLUSTER_BYTES bytes"
if [[ -z ${1:-} ]] && ((DB_BYTES < 3 * 1024 * 1024 * 1024)); then
  echo "warning: the default scale gave less than 3 GiB; raise it in this script" >&2
fi

# Waits (up to 300 s) until the archiver has handed every completed segment
# to archive_command.
wait_archived() {
  local i
  for ((i = 0; i < 1200; i++)); do
    compgen -G "$DATA/pg_wal/archive_status/*.ready" >/dev/null || return 0
    sleep 0.25
  done
  tail -n 20 "$WORK/server.log" >&2
  die "WAL archiving did not catch up within 300 s"
}
# Points archive_command at $1 once the archiver has caught up with the
# previous one, so no segment goes to the wrong place.
set_archive_command() {
  wait_archived
  psql -d "$CONN dbname=postgres" -v cmd="$1" <<'SQL'
ALTER SYSTEM SET archive_command = :'cmd';
SELECT pg_reload_conf() \g /dev/null
SQL
  sleep 1  # the archiver rereads its configuration between segments
}

# --- pgBackRest --------------------------------------------------------------
PGBR_CONF=$WORK/pgbackrest.conf
PGBR_REPO=$WORK/pgbackrest-repo
mkdir -p "$PGBR_REPO" "$WORK/pgbackrest-log" "$WORK/pgbackrest-lock"
cat >"$PGBR_CONF" <<EOF
[global]
repo1-path=$PGBR_REPO
repo1-retention-full=2
repo1-bundle=y
repo1-block=y
compress-type=zst
process-max=2
start-fast=y
log-level-console=warn
log-path=$WORK/pgbackrest-log
lock-path=$WORK/pgbackrest-lock

[bench]
pg1-path=$DATA
pg1-port=$PORT
pg1-socket-path=$WORK
EOF
# Debian 12 ships pgBackRest 2.45, where block incremental is still a beta
# feature that must be allowed explicitly.
if pgbackrest help backup repo-block | grep -q 'FOR BETA TESTING'; then
  sed -i 's/^\[global\]$/[global]\nbeta=y/' "$PGBR_CONF"
fi
chown -R postgres: "$PGBR_CONF" "$PGBR_REPO" "$WORK/pgbackrest-log" "$WORK/pgbackrest-lock"
pgbr() { as_pg pgbackrest --config="$PGBR_CONF" --stanza=bench "$@"; }
PGBR_ARCHIVE="pgbackrest --config=$PGBR_CONF --stanza=bench archive-push %p"
PGBR_VERSION=$(pgbackrest version)

# --- pgkeep ------------------------------------------------------------------
PGKEEP=$WORK/pgkeep
PGKEEP_CONF=$WORK/pgkeep.toml
PGKEEP_REPO=$WORK/pgkeep-repo
PGKEEP_VERSION="-"
if ((!SKIP_PGKEEP)); then
  # A copy, so the postgres user can run it whatever the checkout's permissions.
  install -m 0755 "$PGKEEP_BIN" "$PGKEEP"
  mkdir -p "$WORK/pgkeep-state"
  head -c 32 /dev/urandom | base64 >"$WORK/pgkeep-password"
  chmod 0600 "$WORK/pgkeep-password"
  cat >"$PGKEEP_CONF" <<EOF
[repository]
path = "$PGKEEP_REPO"
password_file = "$WORK/pgkeep-password"

[database.bench]
conninfo = "$CONN dbname=postgres"
pgdata = "$DATA"
method = "physical"

# The same cluster under another name, so wal-push meets segments it has not seen.
[database.benchwal]
conninfo = "$CONN dbname=postgres"
pgdata = "$DATA"
method = "physical"

[server]
state = "$WORK/pgkeep-state/state.db"
EOF
  chmod 0600 "$PGKEEP_CONF"
  chown -R postgres: "$PGKEEP" "$PGKEEP_CONF" "$WORK/pgkeep-password" "$WORK/pgkeep-state"
  PGKEEP_VERSION=$(as_pg "$PGKEEP" --version 2>/dev/null | head -n 1 || true)
fi
pgkeep() { as_pg "$PGKEEP" --config "$PGKEEP_CONF" "$@"; }
PGKEEP_ARCHIVE="$PGKEEP --config $PGKEEP_CONF wal-push --db bench %p"

# --- measuring ---------------------------------------------------------------
# Runs a command as postgres under GNU time (and a timeout); sets WALL
# (seconds) and RSS (KiB, the largest process of its tree). Shows the
# command's output only if it fails.
timed() {
  sync  # the previous step's writes are not flushed on this one's time
  if ! (cd "$WORK" && /usr/bin/time -f '%e %M' -o "$WORK/time.out" \
          timeout --kill-after=10 "$STEP_TIMEOUT" runuser -u postgres -- "$@") >"$WORK/step.log" 2>&1; then
    cat "$WORK/step.log" >&2
    die "failed: $*"
  fi
  read -r WALL RSS <"$WORK/time.out"
  # Warnings are worth seeing next to the figures (pgBackRest logs at "warn").
  grep -i -m 5 'warn' "$WORK/step.log" | sed 's/^/    /' || true
}
declare -A R  # R[tool.measure]; tools: pgbr, keep
record() { R[$1.$2.wall]=$WALL; R[$1.$2.rss]=$RSS; }
pgbr_bytes() { du -sb "$PGBR_REPO/backup/bench" | cut -f1; }
# The repository without its WAL archive (repo/wal).
keep_bytes() {
  local all wal=0
  all=$(du -sb "$PGKEEP_REPO" | cut -f1)
  if [[ -d $PGKEEP_REPO/wal ]]; then wal=$(du -sb "$PGKEEP_REPO/wal" | cut -f1); fi
  echo $((all - wal))
}
warm_cache() { tar -cf - -C "$WORK" data | cat >/dev/null; }

# --- full backups --------------------------------------------------------------
set_archive_command "$PGBR_ARCHIVE"
pgbr stanza-create
pgbr check
warm_cache
timed pgbackrest --config="$PGBR_CONF" --stanza=bench backup --type=full
record pgbr full
R[pgbr.full.bytes]=$(pgbr_bytes)
echo "pgBackRest full backup: ${R[pgbr.full.wall]} s"

if ((!SKIP_PGKEEP)); then
  set_archive_command "$PGKEEP_ARCHIVE"
  pgkeep init >/dev/null
  warm_cache
  timed "$PGKEEP" --config "$PGKEEP_CONF" backup --db bench --type full
  record keep full
  R[keep.full.bytes]=$(keep_bytes)
  echo "pgkeep full backup: ${R[keep.full.wall]} s"
fi

# --- a day of churn, incremental backups -------------------------------------
set_archive_command /bin/true
t=$EPOCHREALTIME
psql -d "$CONN dbname=bench" -f bench/chat-churn-day.sql
echo "one day of churn in $(since "$t") s"

set_archive_command "$PGBR_ARCHIVE"
timed pgbackrest --config="$PGBR_CONF" --stanza=bench backup --type=incr
record pgbr incr
R[pgbr.incr.bytes]=$(( $(pgbr_bytes) - ${R[pgbr.full.bytes]} ))
echo "pgBackRest incremental backup: ${R[pgbr.incr.wall]} s"

if ((!SKIP_PGKEEP)); then
  set_archive_command "$PGKEEP_ARCHIVE"
  timed "$PGKEEP" --config "$PGKEEP_CONF" backup --db bench --type incr
  record keep incr
  R[keep.incr.bytes]=$(( $(keep_bytes) - ${R[keep.full.bytes]} ))
  echo "pgkeep incremental backup: ${R[keep.incr.wall]} s"
fi
set_archive_command /bin/true

# --- restores (files only) -----------------------------------------------------
TARGET=$WORK/restore
fresh_target() {
  rm -rf -- "$TARGET"
  install -d -m 0700 -o postgres -g postgres "$TARGET"
}
check_restored() {
  [[ -f $TARGET/PG_VERSION && -f $TARGET/global/pg_control ]] || die "$1 restored no cluster into $TARGET"
  echo "$1 restore: ${WALL} s, $(du -sb "$TARGET" | cut -f1) bytes restored"
}
fresh_target
timed pgbackrest --config="$PGBR_CONF" --stanza=bench --pg1-path="$TARGET" restore
record pgbr restore
check_restored pgBackRest
if ((!SKIP_PGKEEP)); then
  fresh_target
  timed "$PGKEEP" --config "$PGKEEP_CONF" restore --db bench --pgdata "$TARGET" --backup latest
  record keep restore
  check_restored pgkeep
fi
rm -rf -- "$TARGET"

# --- wal-push ----------------------------------------------------------------
# Real segments: days of churn until WAL_SEGMENTS completed segments have
# been copied out by archive_command, as PostgreSQL hands them over.
WALSRC=$WORK/walsrc
install -d -m 0700 -o postgres -g postgres "$WALSRC"
set_archive_command "cp %p $WALSRC/%f"
segments() { find "$WALSRC" -maxdepth 1 -regextype posix-extended -regex '.*/[0-9A-F]{24}' | sort | head -n "$SEGMENTS"; }
t=$EPOCHREALTIME
for ((day = 0; ; day++)); do
  n=$(segments | wc -l)
  ((n >= SEGMENTS)) && break
  (($(since "$t") < 900)) || die "only $n of $SEGMENTS segments after 15 minutes of churn"
  psql -d "$CONN dbname=bench" -f bench/chat-churn-day.sql
done
set_archive_command /bin/true
mapfile -t WALFILES < <(segments)
echo "$SEGMENTS WAL segments from $day days of churn in $(since "$t") s"
chown postgres: "${WALFILES[@]}"

archive_bytes() { if [[ -d $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
before=$(archive_bytes "$PGBR_REPO/archive/bench")
# shellcheck disable=SC2016  # the loop expands its own arguments
timed bash -c 'for f in "${@:2}"; do pgbackrest --config="$1" --stanza=bench archive-push "$f" || exit 1; done' \
  push "$PGBR_CONF" "${WALFILES[@]}"
record pgbr push
R[pgbr.push.bytes]=$(($(archive_bytes "$PGBR_REPO/archive/bench") - before))
echo "pgBackRest archive-push: $SEGMENTS segments in ${R[pgbr.push.wall]} s"
if ((!SKIP_PGKEEP)); then
  before=$(archive_bytes "$PGKEEP_REPO/wal")
  # shellcheck disable=SC2016
  timed bash -c 'for f in "${@:3}"; do "$1" --config "$2" wal-push --db benchwal "$f" || exit 1; done' \
    push "$PGKEEP" "$PGKEEP_CONF" "${WALFILES[@]}"
  record keep push
  R[keep.push.bytes]=$(($(archive_bytes "$PGKEEP_REPO/wal") - before))
  echo "pgkeep wal-push: $SEGMENTS segments in ${R[keep.push.wall]} s"
fi

# --- the table -----------------------------------------------------------------
get() { echo "${R[$1]:--}"; }
# calc AWK-PROGRAM [A [B]]: runs the program with a and b set; "-" (a figure
# not measured, SKIP_PGKEEP=1) in, "-" out.
calc() {
  local program=$1 v
  shift
  for v; do
    if [[ $v == - ]]; then echo -; return; fi
  done
  awk -v a="${1:-}" -v b="${2:-}" "BEGIN { $program }"
}
mb() { calc 'printf "%.1f", a / 1e6' "$1"; }
rss_mb() { calc 'printf "%.1f", a * 1024 / 1e6' "$1"; }
rate() { calc 'printf "%.1f", (b > 0 ? a / b : 0)' "$SEGMENTS" "$1"; }
ratio() { calc 'printf "%.2f", (b > 0 ? a / b : 0)' "$1" "$2"; }
# met OP LIMIT VALUE: "yes", "NO" or "-"
met() {
  if [[ $1 == '<=' ]]; then
    calc 'print (b <= a ? "yes" : "NO")' "$2" "$3"
  else
    calc 'print (b >= a ? "yes" : "NO")' "$2" "$3"
  fi
}
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }

echo
echo "pgBackRest: $PGBR_VERSION (zst, process-max=2, bundles, block incremental); pgkeep: $PGKEEP_VERSION"
echo "PostgreSQL: $("$PGBIN/postgres" --version); database bench: $(mb "$DB_BYTES") MB at scale $SCALE;" \
  "$(nproc) CPUs; MB = 10^6 bytes"
echo
row measure pgBackRest pgkeep "pgkeep/pgBackRest" target met
row --- ---: ---: ---: --- ---
r=$(ratio "$(get keep.full.wall)" "$(get pgbr.full.wall)")
row "full backup, wall (s)" "$(get pgbr.full.wall)" "$(get keep.full.wall)" "$r" "<= 0.8" "$(met '<=' 0.8 "$r")"
r=$(ratio "$(get keep.full.bytes)" "$(get pgbr.full.bytes)")
row "full backup, stored (MB)" "$(mb "$(get pgbr.full.bytes)")" "$(mb "$(get keep.full.bytes)")" "$r" "<= 1.0" "$(met '<=' 1.0 "$r")"
r=$(ratio "$(get keep.incr.wall)" "$(get pgbr.incr.wall)")
row "incr backup after a day, wall (s)" "$(get pgbr.incr.wall)" "$(get keep.incr.wall)" "$r" "<= 0.7" "$(met '<=' 0.7 "$r")"
r=$(ratio "$(get keep.incr.bytes)" "$(get pgbr.incr.bytes)")
row "incr backup, added (MB)" "$(mb "$(get pgbr.incr.bytes)")" "$(mb "$(get keep.incr.bytes)")" "$r" "<= 1.0" "$(met '<=' 1.0 "$r")"
r=$(ratio "$(get keep.restore.wall)" "$(get pgbr.restore.wall)")
row "restore latest, files only, wall (s)" "$(get pgbr.restore.wall)" "$(get keep.restore.wall)" "$r" "<= 0.5" "$(met '<=' 0.5 "$r")"
pr=$(rate "$(get pgbr.push.wall)")
kr=$(rate "$(get keep.push.wall)")
r=$(ratio "$kr" "$pr")
row "wal-push, $SEGMENTS segments (segments/s)" "$pr" "$kr" "$r" ">= 2.0" "$(met '>=' 2.0 "$r")"
row "wal-push, stored (MB)" "$(mb "$(get pgbr.push.bytes)")" "$(mb "$(get keep.push.bytes)")" \
  "$(ratio "$(get keep.push.bytes)" "$(get pgbr.push.bytes)")" "" ""
for step in full incr restore push; do
  case $step in
    full) label="full backup" ;;
    incr) label="incr backup" ;;
    restore) label="restore" ;;
    push) label="wal-push, one process" ;;
  esac
  p=$(rss_mb "$(get pgbr.$step.rss)")
  k=$(rss_mb "$(get keep.$step.rss)")
  if [[ $step == full || $step == incr ]]; then
    row "peak RSS, $label (MB)" "$p" "$k" "$(ratio "$k" "$p")" "pgkeep <= 200 MB" "$(met '<=' 200 "$k")"
  else
    row "peak RSS, $label (MB)" "$p" "$k" "$(ratio "$k" "$p")" "" ""
  fi
done
