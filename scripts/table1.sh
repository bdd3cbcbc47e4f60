#!/usr/bin/env bash
# The twelve networks of the paper's Table 1 (configs/<set>_<mode>_<L>n_g<G>.ini),
# one after the other on this machine, each with one rank per node, then
# the table of docs/results.md. A run whose output directory already holds
# summary.json is skipped, so the script can be stopped and started again.
#
#   scripts/table1.sh [config ...]      (default: all twelve)
#
# Environment: OUT (default runs/table1), MONITOR (validation check every
# this many iterations, default 5), EXTRA (more --set options).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export OPENBLAS_NUM_THREADS=1
OUT=${OUT:-runs/table1}
MONITOR=${MONITOR:-5}
cfgs=("$@")
if [ ${#cfgs[@]} -eq 0 ]; then
    for set in mnist fashion; do
        for mode in sync async; do
            for net in 4n_g4 6n_g6 6n_g3; do
                cfgs+=("configs/${set}_${mode}_${net}.ini")
            done
        done
    done
fi

make -s all
mkdir -p "$OUT"
dirs=()
for cfg in "${cfgs[@]}"; do
    name=$(basename "$cfg" .ini)
    dir=$OUT/$name
    dirs+=("$dir")
    nodes=$(awk -F= '/^nodes/ { gsub(/ /, "", $2); print $2 }' "$cfg")
    if [ -f "$dir/summary.json" ]; then
        echo "== $name: done already ($dir)"
        continue
    fi
    echo "== $name: mpirun -np $nodes bin/nlpc_mpi $cfg"
    # shellcheck disable=SC2086
    if ! mpirun --bind-to none -np "$nodes" bin/nlpc_mpi \
            --set output.dir="$dir" --set eval.monitor_every="$MONITOR" \
            ${EXTRA:-} "$cfg" > "$dir.log" 2>&1; then
        echo "   failed: see $dir.log"
        continue
    fi
    grep -E "^(validation|test) accuracy" "$dir.log" || true
done
scripts/results-table.py --test --paper "${dirs[@]}"
