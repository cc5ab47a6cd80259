#!/usr/bin/env bash
# Whole-command comparison on one file, in one run: `pgkeep store FILE` versus
# `zstd -T2 -3 FILE`, both reading a file from the page cache and writing to
# tmpfs (/dev/shm), so neither pays for a disk. Also `pgkeep load` versus
# `zstd -d`. Runs alternate the order (zstd first, then pgkeep first, ...) so
# neither gains from going second; reports the best (shortest) time of each
# over RUNS as throughput and the ratio pgkeep/zstd.
#   bench/store-vs-zstd.sh [MIB] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-1024}
RUNS=${2:-4}
scripts/build >/dev/null
command -v zstd >/dev/null || scripts/install-deps
WORK=$(mktemp -d /dev/shm/pgkeep-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
DATA="$WORK/data.txt"
build/bench/gen_text "$MIB" 1 > "$DATA"
cat > "$WORK/pgkeep.toml" <<EOF2
[repository]
path = "$WORK/repo"
compression_level = 3
EOF2
export PGKEEP_CONFIG="$WORK/pgkeep.toml" PGKEEP_REPO_PASSWORD=bench-password
PGKEEP=build/pgkeep

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
best() { sort -g | head -n 1; }

zc=(); pc=(); zd=(); pd=()
for ((i = 0; i < RUNS; i++)); do
  rm -rf "$WORK/repo" "$WORK/out.zst"
  $PGKEEP init >/dev/null
  if ((i % 2 == 0)); then
    zc+=("$(seconds zstd -q -f -T2 -3 "$DATA" -o "$WORK/out.zst")")
    pc+=("$(seconds $PGKEEP store "$DATA")")
    zd+=("$(seconds sh -c "zstd -q -d -c '$WORK/out.zst' > /dev/null")")
    pd+=("$(seconds sh -c "$PGKEEP load latest --stdout > /dev/null")")
  else
    pc+=("$(seconds $PGKEEP store "$DATA")")
    zc+=("$(seconds zstd -q -f -T2 -3 "$DATA" -o "$WORK/out.zst")")
    pd+=("$(seconds sh -c "$PGKEEP load latest --stdout > /dev/null")")
    zd+=("$(seconds sh -c "zstd -q -d -c '$WORK/out.zst' > /dev/null")")
  fi
done
zc_m=$(printf '%s\n' "${zc[@]}" | best); pc_m=$(printf '%s\n' "${pc[@]}" | best)
zd_m=$(printf '%s\n' "${zd[@]}" | best); pd_m=$(printf '%s\n' "${pd[@]}" | best)
rate() { echo "$MIB * 1.048576 / $1" | bc -l | xargs printf '%.0f'; }
printf 'data: %d MiB of generated text, %d runs in alternating order, best wall time of each\n' "$MIB" "$RUNS"
printf '%-28s %8.2f s  %6s MB/s\n' "zstd -T2 -3 (compress)" "$zc_m" "$(rate "$zc_m")"
printf '%-28s %8.2f s  %6s MB/s   ratio %.2f\n' "pgkeep store" "$pc_m" "$(rate "$pc_m")" "$(echo "$zc_m / $pc_m" | bc -l)"
printf '%-28s %8.2f s  %6s MB/s\n' "zstd -d (decompress)" "$zd_m" "$(rate "$zd_m")"
printf '%-28s %8.2f s  %6s MB/s   ratio %.2f\n' "pgkeep load --stdout" "$pd_m" "$(rate "$pd_m")" "$(echo "$zd_m / $pd_m" | bc -l)"
printf 'stored: zstd %s bytes, pgkeep repository %s bytes\n' "$(stat -c %s "$WORK/out.zst")" "$(du -sb "$WORK/repo" | cut -f1)"
