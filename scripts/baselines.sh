#!/usr/bin/env bash
# The two baselines of docs/results.md, evaluated the way the trained
# networks are (bin/nlpc_eval: the same split, feature scaling and SVM):
#
#   raw        liblinear on the standardised raw pixels, the floor the
#              method has to clear;
#   untrained  the 4- and 6-node sNT networks with the initial weights the
#              trainer draws from seed 1, untrained: what learning adds.
#
#   scripts/baselines.sh [mnist|fashion ...]      (default: both)
#
# The goal node does not change an untrained network, and neither does
# the scale of its initial weights (the top-k soft threshold is positively
# homogeneous and the SVM features are rms-scaled), so the 6-node goal-at-6
# configuration stands for all three 6-node networks. Results go to
# OUT/<set>_<name>.eval.json (default OUT=runs/baselines); one that exists
# is not computed again. The table: the last lines printed.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
OUT=${OUT:-runs/baselines}
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(mnist fashion)

make -s all
scripts/fetch-data.sh data >/dev/null
mkdir -p "$OUT"
runs=()
for set in "${sets[@]}"; do
    for b in raw:6n_g6 untrained:4n_g4 untrained:6n_g6; do
        kind=${b%%:*}
        net=${b#*:}
        name=${set}_${kind}
        [ "$kind" = raw ] || name=${name}_${net}
        out=$OUT/$name.eval.json
        runs+=("$out")
        if [ -f "$out" ]; then
            echo "== $name: done already ($out)"
            continue
        fi
        echo "== $name: bin/nlpc_eval --baseline $kind" \
             "configs/${set}_sync_${net}.ini"
        start=$(date +%s.%N)
        if ! bin/nlpc_eval --baseline "$kind" --out "$out.tmp" \
                --model "$OUT/$name.svm" "configs/${set}_sync_${net}.ini" \
                > "$OUT/$name.log" 2>&1; then
            echo "   failed: see $OUT/$name.log"
            rm -f "$out.tmp"
            continue
        fi
        mv "$out.tmp" "$out"
        end=$(date +%s.%N)
        echo "   $(grep -E '^validation accuracy' "$OUT/$name.log")," \
             "$(grep -E '^test accuracy' "$OUT/$name.log")," \
             "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f s", b - a }')"
    done
done

echo
echo "| baseline | validation % | test % |"
echo "|---|---|---|"
for out in "${runs[@]}"; do
    [ -f "$out" ] || continue
    /usr/bin/python3 - "$out" <<'EOF'
import json, os, sys
p = sys.argv[1]
e = json.load(open(p))
name = os.path.basename(p)[:-len(".eval.json")]
print("| %s | %.2f | %.2f |" % (name, 100 * e["validation_accuracy"],
                                100 * e["test_accuracy"]))
EOF
done
