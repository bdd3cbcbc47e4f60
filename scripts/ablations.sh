#!/usr/bin/env bash
# The ablations of docs/results.md: each choice the design leaves open,
# varied one at a time from the defaults on one network per data set,
# judged on the validation split. Runs one after the other; a run whose
# output directory already holds summary.json is skipped, so the script
# can be stopped and started again.
#
#   scripts/ablations.sh [mnist|fashion ...]      (default: both)
#
# Environment: NET (default "4n_g4": 4 nodes, goal at node 4), ITER (20),
# LIMIT (training-file images used, default 20000: 15,000 to learn from and
# for the SVM, 5,000 validation; 0 = all 60,000), OUT (runs/ablations).
# The table: scripts/results-table.py OUT/<set>/*
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export OPENBLAS_NUM_THREADS=1
NET=${NET:-4n_g4}
ITER=${ITER:-20}
LIMIT=${LIMIT:-20000}
OUT=${OUT:-runs/ablations}
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(mnist fashion)

variants=(
    "default|"
    "nogoal=literal|--set train.nogoal=literal"
    "nogoal=diffuse|--set train.nogoal=diffuse"
    "solver=R|--set train.solver=R"
    "solver=K|--set train.solver=K"
    "rho=0.1|--set train.rho=0.1"
    "rho=0.4|--set train.rho=0.4"
    "sparsity=N/2|--set network.sparsity=392"
    "sparsity=half|--set network.sparsity=HALF"
    "threshold=absolute|--set network.threshold=absolute --set network.tau=0.5"
    "goal=penalised|--set train.goal_solver=penalised"
    "scale=sum|--set train.scale=sum"
    "backward=untied|--set train.backward=untied"
    "target=csnt|--set train.target=csnt"
    "lf=lb=0|--set train.lf=0 --set train.lb=0"
)

make -s all
for set in "${sets[@]}"; do
    cfg=configs/${set}_sync_${NET}.ini
    [ -f "$cfg" ] || { echo "ablations.sh: no $cfg" >&2; exit 1; }
    nodes=$(awk -F= '/^nodes/ { gsub(/ /, "", $2); print $2 }' "$cfg")
    # half the default top-k levels N / (2 l)
    half=$(for l in $(seq 1 "$nodes"); do echo $((784 / (4 * l))); done \
           | paste -sd,)
    for v in "${variants[@]}"; do
        name=${v%%|*}
        opts=${v#*|}
        opts=${opts//HALF/$half}
        dir=$OUT/$set/$name
        if [ -f "$dir/summary.json" ]; then
            echo "== $set $name: done already ($dir)"
            continue
        fi
        echo "== $set $name: $opts"
        mkdir -p "$OUT/$set"
        # shellcheck disable=SC2086
        mpirun --bind-to none -np "$nodes" bin/nlpc_mpi \
            --set train.iterations="$ITER" --set output.dir="$dir" \
            --set data.train_limit="$LIMIT" \
            --set checkpoint.every=0 $opts "$cfg" > "$dir.log" 2>&1 \
            || { mkdir -p "$dir"; echo "   failed: see $dir.log"; continue; }
        grep -E "^validation accuracy" "$dir.log" || true
    done
done
