#!/usr/bin/env bash
# Run every cmocka test program given on the command line (or a script
# that prints cmocka's [ RUN ] and [ OK ] lines, such as tests/slurm/run.sh)
# and end with one line CI can count: "N passed, N failed". A program that
# dies before its summary counts as one failure, so a crash can never pass
# unnoticed.
set -u
passed=0
failed=0
for t in "$@"; do
    name=$(basename "$t")
    out=$(mktemp)
    "$t" >"$out" 2>&1
    rc=$?
    cat "$out"
    ok=$(grep -c '^\[       OK \]' "$out")
    run=$(grep -c '^\[ RUN      \]' "$out")
    bad=$((run - ok))
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "run.sh: $name exited with status $rc before reporting a failure"
        bad=1
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    rm -f "$out"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
