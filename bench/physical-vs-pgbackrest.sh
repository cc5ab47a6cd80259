#!/usr/bin/env bash
# pgkeep's physical backups side by side with pgBackRest, in one run, on one
# throwaway PostgreSQL 15 cluster (data checksums, WAL archiving on) holding
# the chat database of bench/gen-chat.sh:
#   - full backup:   wall time, peak RSS, bytes stored
#   - one day of churn (bench/chat-churn-day.sql), then an incremental backup:
#                    wall time, peak RSS, bytes added
#   - restore of the latest backup into an empty directory (files only, the
#     server is not started): wall time, peak RSS
#   - a drill: restore, start and recovery to a restore point until the copy
#     is connectable (pgBackRest by hand, `pgkeep drill`); pgkeep's RTO to
#     a verified copy beside it
#   - wal-push: WAL_SEGMENTS (default 64) real, completed segments pushed one
#     command per segment, as archive_command does: segments per second
# It runs each step twice: round 1 with pgBackRest first, round 2 with pgkeep first,
# each round into fresh repositories; prints a markdown table of the best
# time of each tool as pgkeep/pgBackRest ratios against targets, then every
# round.
#
#   bench/physical-vs-pgbackrest.sh [SCALE]      (as root)
#
# SCALE defaults to 36: a 3.3 GiB database (pg_database_size), generated in
# under 2 minutes; bench/gen-chat.sh gives other sizes. The whole run takes
# about 8 minutes on 2 cores, plus pgkeep's steps. Knobs, all optional:
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

# --- two rounds, two repositories per tool ------------------------------------
# Each step runs twice: round 1 with pgBackRest first, round 2 with pgkeep
# first, each round into its own fresh repositories, so neither tool gains from
# going second (a warmer page cache, a quieter disk). The table reports the
# best (shortest) time of each tool, and every round's time below it.
ROUNDS=(1 2)
order() { if (($1 == 1)); then echo "pgbr keep"; else echo "keep pgbr"; fi; }

# Debian 12 ships pgBackRest 2.45, where block incremental is still a beta
# feature that must be allowed explicitly.
PGBR_BETA=
if pgbackrest help backup repo-block | grep -q 'FOR BETA TESTING'; then PGBR_BETA="beta=y"; fi
PGBR_VERSION=$(pgbackrest version)
for r in "${ROUNDS[@]}"; do
  mkdir -p "$WORK/pgbackrest-repo-$r" "$WORK/pgbackrest-log-$r" "$WORK/pgbackrest-lock-$r"
  cat >"$WORK/pgbackrest-$r.conf" <<EOF
[global]
$PGBR_BETA
repo1-path=$WORK/pgbackrest-repo-$r
repo1-retention-full=2
repo1-bundle=y
repo1-block=y
compress-type=zst
process-max=2
start-fast=y
log-level-console=warn
log-path=$WORK/pgbackrest-log-$r
lock-path=$WORK/pgbackrest-lock-$r

[bench]
pg1-path=$DATA
pg1-port=$PORT
pg1-socket-path=$WORK
EOF
  chown -R postgres: "$WORK/pgbackrest-$r.conf" "$WORK/pgbackrest-repo-$r" "$WORK/pgbackrest-log-$r" \
    "$WORK/pgbackrest-lock-$r"
done
pgbr_conf() { echo "$WORK/pgbackrest-$1.conf"; }
pgbr() {
  local r=$1
  shift
  as_pg pgbackrest --config="$(pgbr_conf "$r")" --stanza=bench "$@"
}
pgbr_archive() { echo "pgbackrest --config=$(pgbr_conf "$1") --stanza=bench archive-push %p"; }

PGKEEP=$WORK/pgkeep
PGKEEP_VERSION="-"
if ((!SKIP_PGKEEP)); then
  # A copy, so the postgres user can run it whatever the checkout's permissions.
  install -m 0755 "$PGKEEP_BIN" "$PGKEEP"
  head -c 32 /dev/urandom | base64 >"$WORK/pgkeep-password"
  chmod 0600 "$WORK/pgkeep-password"
  for r in "${ROUNDS[@]}"; do
    mkdir -p "$WORK/pgkeep-state-$r"
    cat >"$WORK/pgkeep-$r.toml" <<EOF
[repository]
path = "$WORK/pgkeep-repo-$r"
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
state = "$WORK/pgkeep-state-$r/state.db"
EOF
    chmod 0600 "$WORK/pgkeep-$r.toml"
    chown -R postgres: "$WORK/pgkeep-$r.toml" "$WORK/pgkeep-state-$r"
  done
  chown postgres: "$PGKEEP" "$WORK/pgkeep-password"
  PGKEEP_VERSION=$(as_pg "$PGKEEP" --version 2>/dev/null | head -n 1 || true)
fi
keep_conf() { echo "$WORK/pgkeep-$1.toml"; }
keep_archive() { echo "$PGKEEP --config $(keep_conf "$1") wal-push --db bench %p"; }

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
declare -A R  # R[tool.step.round.wall|rss|bytes]; tools: pgbr, keep
record() { R[$1.$2.$3.wall]=$WALL; R[$1.$2.$3.rss]=$RSS; }
name() { if [[ $1 == pgbr ]]; then echo pgBackRest; else echo pgkeep; fi; }
pgbr_bytes() { du -sb "$WORK/pgbackrest-repo-$1/backup/bench" | cut -f1; }
# The repository without its WAL archive (repo/wal).
keep_bytes() {
  local repo=$WORK/pgkeep-repo-$1 all wal=0
  all=$(du -sb "$repo" | cut -f1)
  if [[ -d $repo/wal ]]; then wal=$(du -sb "$repo/wal" | cut -f1); fi
  echo $((all - wal))
}
warm_cache() { tar -cf - -C "$WORK" data | cat >/dev/null; }
# each_turn FUNCTION: FUNCTION TOOL ROUND for both rounds, in each round's order.
each_turn() {
  local r tool
  for r in "${ROUNDS[@]}"; do
    for tool in $(order "$r"); do
      if [[ $tool == keep ]] && ((SKIP_PGKEEP)); then continue; fi
      "$1" "$tool" "$r"
    done
  done
}

# --- full backups --------------------------------------------------------------
full_backup() {
  local tool=$1 r=$2
  if [[ $tool == pgbr ]]; then
    set_archive_command "$(pgbr_archive "$r")"
    pgbr "$r" stanza-create
    pgbr "$r" check
    warm_cache
    timed pgbackrest --config="$(pgbr_conf "$r")" --stanza=bench backup --type=full
    R[pgbr.full.$r.bytes]=$(pgbr_bytes "$r")
  else
    set_archive_command "$(keep_archive "$r")"
    as_pg "$PGKEEP" --config "$(keep_conf "$r")" init >/dev/null
    warm_cache
    timed "$PGKEEP" --config "$(keep_conf "$r")" backup --db bench --type full
    R[keep.full.$r.bytes]=$(keep_bytes "$r")
  fi
  record "$tool" full "$r"
  echo "round $r: $(name "$tool") full backup: $WALL s"
}
each_turn full_backup

# --- a day of churn, incremental backups -------------------------------------
set_archive_command /bin/true
t=$EPOCHREALTIME
psql -d "$CONN dbname=bench" -f bench/chat-churn-day.sql
echo "one day of churn in $(since "$t") s"

incr_backup() {
  local tool=$1 r=$2
  if [[ $tool == pgbr ]]; then
    set_archive_command "$(pgbr_archive "$r")"
    timed pgbackrest --config="$(pgbr_conf "$r")" --stanza=bench backup --type=incr
    R[pgbr.incr.$r.bytes]=$(($(pgbr_bytes "$r") - ${R[pgbr.full.$r.bytes]}))
  else
    set_archive_command "$(keep_archive "$r")"
    timed "$PGKEEP" --config "$(keep_conf "$r")" backup --db bench --type incr
    R[keep.incr.$r.bytes]=$(($(keep_bytes "$r") - ${R[keep.full.$r.bytes]}))
  fi
  record "$tool" incr "$r"
  echo "round $r: $(name "$tool") incremental backup: $WALL s"
}
each_turn incr_backup
set_archive_command /bin/true

# --- restores (files only) -----------------------------------------------------
TARGET=$WORK/restore
restore_latest() {
  local tool=$1 r=$2
  rm -rf -- "$TARGET"
  install -d -m 0700 -o postgres -g postgres "$TARGET"
  if [[ $tool == pgbr ]]; then
    timed pgbackrest --config="$(pgbr_conf "$r")" --stanza=bench --pg1-path="$TARGET" restore
  else
    timed "$PGKEEP" --config "$(keep_conf "$r")" restore --db bench --pgdata "$TARGET" --backup latest
  fi
  record "$tool" restore "$r"
  [[ -f $TARGET/PG_VERSION && -f $TARGET/global/pg_control ]] || die "$(name "$tool") restored no cluster into $TARGET"
  echo "round $r: $(name "$tool") restore: $WALL s, $(du -sb "$TARGET" | cut -f1) bytes restored"
  rm -rf -- "$TARGET"
}
each_turn restore_latest

# --- drills: restore, start and recover to a connectable copy ------------------
# pgBackRest by hand, as its users run a drill: a restore point made on the
# source and archived, `pgbackrest restore --type=name` into an empty
# directory, `pg_ctl start` on another port (archive_mode off), then waiting
# until recovery has reached the point and the copy is promoted. pgkeep:
# `pgkeep drill`, which makes its own restore point (with row counts) before
# its clock starts, then restores, starts and recovers the copy the same way;
# its "restore" and "recovery" phases are the same span. Its RTO goes on to a
# verified copy (every table read and counted, pg_amcheck), which the
# hand-run does not do; that figure is reported beside it. Each drill starts
# from an incremental backup taken just before it (not timed), so its
# repository holds every WAL segment from that backup to the restore point
# (the other tool's steps switch segments into the other repository).
DRILL_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
drill() {
  local tool=$1 r=$2
  rm -rf -- "$TARGET"
  if [[ $tool == pgbr ]]; then
    set_archive_command "$(pgbr_archive "$r")"
    pgbr "$r" backup --type=incr >/dev/null
    local point="bench-drill-$r"
    psql -d "$CONN dbname=postgres" -c "SELECT pg_create_restore_point('$point')" \
      -c "SELECT pg_switch_wal()" >/dev/null
    wait_archived
    install -d -m 0700 -o postgres -g postgres "$TARGET"
    # shellcheck disable=SC2016  # the script expands its own arguments
    timed bash -c '
      set -e
      pgbackrest --config="$1" --stanza=bench --pg1-path="$2" --type=name --target="$3" \
        --target-action=promote restore
      "$4/pg_ctl" -D "$2" -l "$5/drill-server.log" -w -t 600 \
        -o "-p $6 -k $5 -c listen_addresses=127.0.0.1 -c archive_mode=off" start
      for ((i = 0; i < 60000; i++)); do
        [[ $("$4/psql" -X -At -h "$5" -p "$6" -d postgres -c "SELECT pg_is_in_recovery()") == f ]] && exit 0
        sleep 0.01
      done
      exit 1' drill "$(pgbr_conf "$r")" "$TARGET" "$point" "$PGBIN" "$WORK" "$DRILL_PORT"
    record "$tool" drill "$r"
    as_pg "$PGBIN/pg_ctl" -D "$TARGET" -m immediate -w stop >/dev/null
    rm -rf -- "$TARGET"
    echo "round $r: pgBackRest restore + start + recovery to a restore point: $WALL s"
  else
    set_archive_command "$(keep_archive "$r")"
    as_pg "$PGKEEP" --config "$(keep_conf "$r")" backup --db bench --type incr >/dev/null
    local json=$WORK/drill-$r.json phases
    # shellcheck disable=SC2016
    timed bash -c 'out=$1; shift; "$@" >"$out"' drill "$json" \
      "$PGKEEP" --config "$(keep_conf "$r")" --output json drill --db bench --scratch-dir "$WORK"
    phases=$(python3 -c '
import json, sys
report = json.load(open(sys.argv[1]))["drills"][0]
seconds = {p["name"]: p["seconds"] for p in report["phases"]}
connectable = seconds.get("restore", 0) + seconds.get("recovery", 0)
split = ",".join("%s=%.2f" % (p["name"], p["seconds"]) for p in report["phases"])
print("%.2f %.2f %s %s" % (connectable, report["rto"]["seconds"], "passed" if report["passed"] else "FAILED", split))
' "$json")
    local split
    read -r connectable rto verdict split <<<"$phases"
    [[ $verdict == passed ]] || { cat "$json" >&2; die "the pgkeep drill failed"; }
    WALL=$connectable
    record "$tool" drill "$r"
    R[keep.rto.$r.wall]=$rto
    echo "round $r: pgkeep drill: restore + recovery $connectable s, RTO to a verified copy $rto s (phases: $split)"
  fi
}
each_turn drill
set_archive_command /bin/true

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
# Neither round's repositories have seen these segments: every push is real.
wal_push() {
  local tool=$1 r=$2 dir before
  if [[ $tool == pgbr ]]; then
    dir=$WORK/pgbackrest-repo-$r/archive/bench
    before=$(archive_bytes "$dir")
    # shellcheck disable=SC2016  # the loop expands its own arguments
    timed bash -c 'for f in "${@:2}"; do pgbackrest --config="$1" --stanza=bench archive-push "$f" || exit 1; done' \
      push "$(pgbr_conf "$r")" "${WALFILES[@]}"
  else
    dir=$WORK/pgkeep-repo-$r/wal
    before=$(archive_bytes "$dir")
    # shellcheck disable=SC2016
    timed bash -c 'for f in "${@:3}"; do "$1" --config "$2" wal-push --db benchwal "$f" || exit 1; done' \
      push "$PGKEEP" "$(keep_conf "$r")" "${WALFILES[@]}"
  fi
  record "$tool" push "$r"
  R[$tool.push.$r.bytes]=$(($(archive_bytes "$dir") - before))
  echo "round $r: $(name "$tool") wal-push: $SEGMENTS segments in $WALL s"
}
each_turn wal_push

# --- the table -----------------------------------------------------------------
get() { echo "${R[$1]:--}"; }
# calc AWK-PROGRAM [A [B]]: runs the program with a and b set; "-" (a figure
# not measured, SKIP_PGKEEP=1) in, "-" out.
calc() {
  local program=$1 v
  shift
  for v; do
    if [[ $v == - ]]; then
      echo -
      return
    fi
  done
  awk -v a="${1:-}" -v b="${2:-}" "BEGIN { $program }"
}
# best TOOL STEP: the shortest wall time of the two rounds. worst_rss TOOL
# STEP: the larger peak RSS (a memory target holds for every run).
best() { calc 'printf "%.2f", (a < b ? a : b)' "$(get "$1.$2.1.wall")" "$(get "$1.$2.2.wall")"; }
worst_rss() { calc 'printf "%d", (a > b ? a : b)' "$(get "$1.$2.1.rss")" "$(get "$1.$2.2.rss")"; }
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
wall_row() {  # wall_row LABEL STEP TARGET
  local p k r
  p=$(best pgbr "$2")
  k=$(best keep "$2")
  r=$(ratio "$k" "$p")
  row "$1" "$p" "$k" "$r" "<= $3" "$(met '<=' "$3" "$r")"
}
bytes_row() {  # bytes_row LABEL STEP TARGET (round 1: the bytes do not depend on the order)
  local p k r
  p=$(get "pgbr.$2.1.bytes")
  k=$(get "keep.$2.1.bytes")
  r=$(ratio "$k" "$p")
  row "$1" "$(mb "$p")" "$(mb "$k")" "$r" "${3:+<= $3}" "${3:+$(met '<=' "$3" "$r")}"
}

echo
echo "pgBackRest: $PGBR_VERSION (zst, process-max=2, bundles, block incremental); pgkeep: $PGKEEP_VERSION"
echo "PostgreSQL: $("$PGBIN/postgres" --version); database bench: $(mb "$DB_BYTES") MB at scale $SCALE;" \
  "$(nproc) CPUs; MB = 10^6 bytes; times: the best of two rounds in alternating order"
echo
row measure pgBackRest pgkeep "pgkeep/pgBackRest" target met
row --- ---: ---: ---: --- ---
wall_row "full backup, wall (s)" full 0.8
bytes_row "full backup, stored (MB)" full 1.0
wall_row "incr backup after a day, wall (s)" incr 0.7
bytes_row "incr backup, added (MB)" incr 1.0
wall_row "restore latest, files only, wall (s)" restore 0.5
wall_row "drill: restore + start + recovery, to connectable (s)" drill 0.6
row "drill: pgkeep RTO to a verified copy (s)" "-" "$(calc 'printf "%.2f", (a < b ? a : b)' "$(get keep.rto.1.wall)" "$(get keep.rto.2.wall)")" "" "" ""
pr=$(rate "$(best pgbr push)")
kr=$(rate "$(best keep push)")
r=$(ratio "$kr" "$pr")
row "wal-push, $SEGMENTS segments (segments/s)" "$pr" "$kr" "$r" ">= 2.0" "$(met '>=' 2.0 "$r")"
bytes_row "wal-push, stored (MB)" push ""
for step in full incr restore push; do
  case $step in
    full) label="full backup" ;;
    incr) label="incr backup" ;;
    restore) label="restore" ;;
    push) label="wal-push, one process" ;;
  esac
  p=$(rss_mb "$(worst_rss pgbr $step)")
  k=$(rss_mb "$(worst_rss keep $step)")
  if [[ $step == full || $step == incr ]]; then
    row "peak RSS, $label (MB)" "$p" "$k" "$(ratio "$k" "$p")" "pgkeep <= 200 MB" "$(met '<=' 200 "$k")"
  else
    row "peak RSS, $label (MB)" "$p" "$k" "$(ratio "$k" "$p")" "" ""
  fi
done

echo
echo "Every round, wall seconds (round 1: pgBackRest first; round 2: pgkeep first):"
echo
printf '| %s | %s | %s | %s | %s |\n' step "pgBackRest, 1" "pgBackRest, 2" "pgkeep, 1" "pgkeep, 2"
printf '| %s | %s | %s | %s | %s |\n' --- ---: ---: ---: ---:
for step in full incr restore drill push; do
  printf '| %s | %s | %s | %s | %s |\n' "$step" "$(get "pgbr.$step.1.wall")" "$(get "pgbr.$step.2.wall")" \
    "$(get "keep.$step.1.wall")" "$(get "keep.$step.2.wall")"
done
