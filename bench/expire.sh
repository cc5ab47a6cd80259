#!/usr/bin/env bash
# `pgkeep expire` on a repository of SNAPSHOTS snapshots and about
# SNAPSHOTS x CHUNKS chunks (default 1,000 and 1,000,000): wall time and peak
# memory of the dry run and of the real run (retention keeps the last 100).
#   bench/expire.sh [SNAPSHOTS] [CHUNKS_PER_SNAPSHOT]
set -euo pipefail
cd "$(dirname "$0")/.."
SNAPSHOTS=${1:-1000}
CHUNKS=${2:-1000}
scripts/build >/dev/null
WORK=$(mktemp -d /tmp/pgkeep-expire-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
t0=$EPOCHREALTIME
build/bench/make_expire_repo "$WORK/repo" bench-password "$SNAPSHOTS" "$CHUNKS"
echo "built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}') s: $(du -sh "$WORK/repo" | cut -f1)"
cat > "$WORK/pgkeep.toml" <<EOF2
[repository]
path = "$WORK/repo"
[database.db]
conninfo = "host=127.0.0.1 dbname=unused"
method = "logical"
retention = { last = 100, min_keep = 3 }
EOF2
export PGKEEP_CONFIG="$WORK/pgkeep.toml" PGKEEP_REPO_PASSWORD=bench-password
for mode in "--dry-run" ""; do
  /usr/bin/time -f "expire ${mode:-(real)}: %e s wall, peak RSS %M KiB" build/pgkeep expire $mode | tail -1
done
/usr/bin/time -f "verify after expire: %e s wall, peak RSS %M KiB" build/pgkeep verify | tail -1
