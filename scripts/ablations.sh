#!/usr/bin/env bash
# The ablations of docs/results.md: each choice the design leaves open,
# varied one at a time from a Table 1 configuration, on one network per
# data set, judged on the validation split (the test accuracy is in each
# summary.json but chooses nothing). A run whose output directory already
# holds summary.json is skipped, so the script can be stopped and started
# again; a run that fails keeps its log (<dir>.log) and is shown as failed.
#
#   scripts/ablations.sh [mnist|fashion ...]      (default: both)
#
# Environment: NET (default "6n_g6": 6 nodes, goal at node 6, the default
# job's network), ITER (20), LIMIT (training-file images used, default
# 20000: 15,000 to learn from and for the SVM, 5,000 validation; 0 = all
# 60,000), JOBS (runs at once, each one process pinned to its own core;
# default: the number of cores), SVM_C (the C values tried on the default
# run's weights with bin/nlpc_eval, default "0.1 0.3 3 10"; empty: none),
# EXTRA (more --set options for every run, e.g. another starting point), ONLY (an
# extended regular expression: run only the variants whose names match),
# OUT (runs/ablations).
# The table: scripts/results-table.py --versus OUT/<set>/default OUT/<set>/*/
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export OPENBLAS_NUM_THREADS=1
NET=${NET:-6n_g6}
ITER=${ITER:-20}
LIMIT=${LIMIT:-20000}
JOBS=${JOBS:-$(nproc)}
OUT=${OUT:-runs/ablations}
EXTRA=${EXTRA:-}
ONLY=${ONLY:-}
SVM_C=${SVM_C-0.1 0.3 3 10}
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(mnist fashion)

# name|options; HALF becomes half the default top-k levels N / (2 l)
variants=(
    "default|"
    "seed=2|--set train.seed=2"
    "seed=3|--set train.seed=3"
    "init=scaled|--set network.init=scaled"
    "nogoal=literal|--set train.nogoal=literal"
    "nogoal=diffuse|--set train.nogoal=diffuse"
    "solver=R|--set train.solver=R"
    "solver=K|--set train.solver=K"
    "step=proximal|--set train.step=proximal"
    "rho=0.1|--set train.rho=0.1"
    "rho=0.4|--set train.rho=0.4"
    "rho_decay=10|--set train.rho_decay=10"
    "rho_decay=10,rho=0.4|--set train.rho_decay=10 --set train.rho=0.4"
    "l2=l3=l4=1|--set train.l2=1 --set train.l3=1 --set train.l4=1"
    "l2=l3=l4=3|--set train.l2=3 --set train.l3=3 --set train.l4=3"
    "l2=l3=l4=100|--set train.l2=100 --set train.l3=100 --set train.l4=100"
    "sparsity=392|--set network.sparsity=392"
    "sparsity=half|--set network.sparsity=HALF"
    "threshold=absolute|--set network.threshold=absolute --set network.tau=0.5"
    "goal=penalised|--set train.goal_solver=penalised"
    "scale=sum|--set train.scale=sum"
    "backward=untied|--set train.backward=untied"
    "target=csnt|--set train.target=csnt"
    "lf=lb=0|--set train.lf=0 --set train.lb=0"
)

# one run, pinned to core $1
run_one() {
    local core=$1 cfg=$2 dir=$3 nodes=$4 opts=$5
    # shellcheck disable=SC2086
    if taskset -c "$core" mpirun --bind-to none -np 1 bin/nlpc_mpi \
            --set train.iterations="$ITER" --set output.dir="$dir" \
            --set data.train_limit="$LIMIT" --set checkpoint.every=0 \
            --set checkpoint.resume=never $EXTRA $opts "$cfg" \
            > "$dir.log" 2>&1
    then
        echo "== $dir: $(grep -E '^validation accuracy' "$dir.log")"
    else
        echo "== $dir: failed: $(grep -m 1 -E '^nlpc_mpi: ' "$dir.log" \
                                 | cut -c1-160)"
    fi
}

# a core with no run on it, waiting for one to end when all are busy
declare -a busy
free_core() {
    while :; do
        for ((c = 0; c < JOBS; c++)); do
            if [ -z "${busy[c]:-}" ] || ! kill -0 "${busy[c]}" 2>/dev/null
            then
                echo "$c"
                return
            fi
        done
        sleep 1
    done
}

make -s all
scripts/fetch-data.sh data >/dev/null
for set in "${sets[@]}"; do
    cfg=configs/${set}_sync_${NET}.ini
    [ -f "$cfg" ] || { echo "ablations.sh: no $cfg" >&2; exit 1; }
    nodes=$(awk -F= '/^[[:space:]]*nodes[[:space:]]*=/ {
                gsub(/[[:space:]]/, "", $2); print $2; exit }' "$cfg")
    nodes=${nodes:-6}
    half=$(for l in $(seq 1 "$nodes"); do echo $((784 / (4 * l))); done \
           | paste -sd,)
    mkdir -p "$OUT/$set"
    for v in "${variants[@]}"; do
        name=${v%%|*}
        opts=${v#*|}
        opts=${opts//HALF/$half}
        if [ -n "$ONLY" ] && ! grep -qE -- "$ONLY" <<< "$name"; then
            continue
        fi
        dir=$OUT/$set/$name
        if [ -f "$dir/summary.json" ]; then
            echo "== $dir: done already"
            continue
        fi
        core=$(free_core)
        run_one "$core" "$cfg" "$dir" "$nodes" "$opts" &
        busy[core]=$!
    done
done
wait

# The SVM's C, on the default run's weights (the network does not depend
# on it): bin/nlpc_eval with another eval.svm_c, the same split.
for set in "${sets[@]}"; do
    w=$OUT/$set/default/weights.h5
    [ -f "$w" ] || continue
    for c in $SVM_C; do
        out=$OUT/$set/svm_c=$c.eval.json
        [ -f "$out" ] || bin/nlpc_eval --set eval.svm_c="$c" --out "$out" \
            --model "$OUT/$set/svm_c=$c.svm" "$w" > "${out%.json}.log" 2>&1 \
            || { echo "== $out: failed"; continue; }
        echo "== $out: $(grep -E '^validation accuracy' "${out%.json}.log")"
    done
done
