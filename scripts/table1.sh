#!/usr/bin/env bash
# The twelve networks of the paper's Table 1 (configs/<set>_<mode>_<L>n_g<G>.ini)
# on this machine, each with one rank per node, the number of iterations
# chosen on the validation split, then the table of docs/results.md.
#
#   scripts/table1.sh [config ...]      (default: all twelve)
#
# Each network trains for up to MAXIT iterations with a checkpoint and a
# validation check (eval.monitor_every) every STEP iterations. The
# iteration with the best validation accuracy (the earliest on a tie) is
# the network's stopping point: its checkpoint is evaluated again with
# bin/nlpc_eval (the full training split for the SVM, validation and test
# accuracy) into <dir>/best.eval.json. Because runs are deterministic, that
# checkpoint holds the weights of a run stopped there,
#   mpirun -np L bin/nlpc_mpi --set train.iterations=N <config>,
# which is the command the table gives. The test set is read once per
# network, after the choice.
#
# A network whose directory already holds best.eval.json is skipped, so
# the script can be stopped and started again.
#
# Environment: OUT (default runs/table1), STEP (5), MAXIT_SYNC (40),
# MAXIT_ASYNC (80; an asynchronous iteration updates about half the
# nodes), EXTRA (more --set options for every run).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export OPENBLAS_NUM_THREADS=1
OUT=${OUT:-runs/table1}
STEP=${STEP:-5}
MAXIT_SYNC=${MAXIT_SYNC:-40}
MAXIT_ASYNC=${MAXIT_ASYNC:-80}
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
scripts/fetch-data.sh data >/dev/null
mkdir -p "$OUT"
dirs=()
for cfg in "${cfgs[@]}"; do
    name=$(basename "$cfg" .ini)
    dir=$OUT/$name
    dirs+=("$dir")
    # [network] nodes of the file (the table's default, 6, when unset)
    nodes=$(awk -F= '/^[[:space:]]*nodes[[:space:]]*=/ {
                gsub(/[[:space:]]/, "", $2); print $2; exit }' "$cfg")
    nodes=${nodes:-6}
    maxit=$MAXIT_SYNC
    grep -q '^mode *= *async' "$cfg" && maxit=$MAXIT_ASYNC
    if [ -f "$dir/best.eval.json" ]; then
        echo "== $name: done already ($dir)"
        continue
    fi
    echo "== $name: mpirun -np $nodes bin/nlpc_mpi, up to $maxit iterations"
    # shellcheck disable=SC2086
    if ! mpirun --bind-to none -np "$nodes" bin/nlpc_mpi \
            --set output.dir="$dir" --set train.iterations="$maxit" \
            --set eval.monitor_every="$STEP" --set checkpoint.every="$STEP" \
            --set checkpoint.keep=1000 ${EXTRA:-} "$cfg" > "$dir.log" 2>&1
    then
        echo "   failed: see $dir.log"
        tail -n 3 "$dir.log" | sed 's/^/   /'
        continue
    fi
    best=$(scripts/results-table.py --best-iteration "$dir")
    ckpt=$(printf '%s/checkpoints/ckpt-%08d.h5' "$dir" "$best")
    echo "   best validation at iteration $best: bin/nlpc_eval $ckpt"
    bin/nlpc_eval --out "$dir/best.eval.json" --model "$dir/best.svm" \
        "$ckpt" > "$dir.eval.log" 2>&1 \
        || { echo "   nlpc_eval failed: see $dir.eval.log"; continue; }
    grep -E "^(validation|test) accuracy" "$dir.eval.log" | sed 's/^/   /'
done
scripts/results-table.py --chosen --paper "${dirs[@]}"
