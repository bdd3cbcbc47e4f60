#!/usr/bin/env bash
# tests/slurm/run.sh - the job scripts of jobs/ on a real SLURM cluster of
# one machine.
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge when they are
# missing, then starts a private cluster: munged, slurmctld and slurmd with
# their own configuration (SLURM_CONF in a temporary directory), ports,
# sockets, state, logs and PID files, so a system's /etc/slurm, /run/munge
# and daemons are left alone. It runs the tests below and stops what it
# started by PID, also on failure or interruption.
#
# Needs root (slurmd starts the jobs) and a build (`make`); runs from any
# directory. Prints cmocka-style [ RUN ] / [ OK ] / [ FAILED ] lines, which
# tests/run.sh counts (`NLPC_CHECK_SLURM=1 make check`), and ends with
# "N passed, N failed"; exits non-zero on any failure. About 2 minutes, most
# of it waiting for SLURM's time-limit signal.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
W=$ROOT/tests/tmp/slurm    # data, configs, job logs and training outputs
PKGS=(slurmctld slurmd slurm-client munge)

# the MPI environment of `make check`, for a run of this script alone
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export OPENBLAS_NUM_THREADS=1
# nothing of an enclosing SLURM job or site may leak into this cluster
for v in $(compgen -v | grep -E '^(SLURM|SBATCH|SRUN|SALLOC)_'); do
    unset "$v"
done

passed=0
failed=0
RUN=                # the cluster's private directory
ctld_pid=
slurmd_pid=
munged_pid=
up=0                # the cluster answered: the job tests can run

# a test's remarks go to stderr, out of the way of $(...)
note() {
    echo "  $*" >&2
}

# run test function $1: counted lines for tests/run.sh and the summary
t() {
    local t0=$SECONDS
    echo "[ RUN      ] $1"
    if "$1"; then
        echo "[       OK ] $1 ($((SECONDS - t0)) s)"
        passed=$((passed + 1))
    else
        echo "[  FAILED  ] $1 ($((SECONDS - t0)) s)"
        failed=$((failed + 1))
    fi
}

need_cluster() {
    [ "$up" -eq 1 ] && return 0
    note "skipped: the cluster did not start"
    return 1
}

# ---- the cluster ----------------------------------------------------------

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = \
      "install ok installed" ]
}

install_slurm() {
    local missing=() p
    for p in "${PKGS[@]}"; do
        installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    note "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends "${missing[@]}" >"$W/apt.log" 2>&1 || {
        apt-get update >>"$W/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y \
            --no-install-recommends "${missing[@]}" >>"$W/apt.log" 2>&1
    } || {
        tail -n 20 "$W/apt.log"
        note "apt-get could not install ${missing[*]} (see above)"
        return 1
    }
}

# two free TCP ports on the loopback interface
free_ports() {
    python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])'
}

write_conf() {
    local ports
    ports=$(free_ports) || return 1
    set -- $ports
    cat >"$RUN/slurm.conf" <<EOF
# private one-machine cluster of tests/slurm/run.sh
ClusterName=nlpctest
SlurmctldHost=localhost
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$RUN/munge/munge.socket
StateSaveLocation=$RUN/state
SlurmdSpoolDir=$RUN/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$RUN/log/slurmctld.log
SlurmdLogFile=$RUN/log/slurmd.log
PlugStackConfig=$RUN/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
SlurmdParameters=config_overrides
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=6 Sockets=1 CoresPerSocket=6 ThreadsPerCore=1 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$RUN/plugstack.conf"
}

# started PID NAME: the daemon started in the background runs NAME
started() {
    sleep 0.2
    if [ "$(readlink "/proc/$1/exe" 2>/dev/null)" != \
         "$(readlink -f "$(command -v "$2")")" ]; then
        note "$2 (PID $1) did not start; its output:"
        tail -n 20 "$RUN/log/$2.out" >&2
        return 1
    fi
}

cluster_starts() {
    local i
    [ "$(id -u)" -eq 0 ] || {
        note "needs root: slurmd starts the jobs; run it as root (CI does)"
        return 1
    }
    [ -x bin/nlpc_mpi ] || { note "no bin/nlpc_mpi: run make first"; return 1; }
    install_slurm || return 1
    [ -r /etc/munge/munge.key ] ||
        runuser -u munge -- mungekey --create >/dev/null || return 1
    RUN=$(mktemp -d /tmp/nlpc-slurm.XXXXXX) || return 1
    chmod 755 "$RUN"        # munged (user munge) reaches its socket here
    mkdir -p "$RUN/munge" "$RUN/state" "$RUN/spool" "$RUN/log"
    chown munge:munge "$RUN/munge"
    write_conf || return 1
    export SLURM_CONF=$RUN/slurm.conf
    note "private cluster in $RUN"

    # munged forks into the background and writes its PID file
    runuser -u munge -- /usr/sbin/munged --socket="$RUN/munge/munge.socket" \
        --pid-file="$RUN/munge/munged.pid" --seed-file="$RUN/munge/seed" \
        --log-file="$RUN/munge/munged.log" || return 1
    munged_pid=$(cat "$RUN/munge/munged.pid") || return 1
    munge -S "$RUN/munge/munge.socket" -n |
        unmunge -S "$RUN/munge/munge.socket" >/dev/null || {
        note "munge credentials do not round-trip through the new munged"
        return 1
    }

    # the marker in the environment finds every process of this cluster
    NLPC_SLURM_TEST=$RUN setsid slurmctld -D -f "$SLURM_CONF" \
        </dev/null >"$RUN/log/slurmctld.out" 2>&1 &
    ctld_pid=$!
    started "$ctld_pid" slurmctld || return 1
    NLPC_SLURM_TEST=$RUN setsid slurmd -D -N localhost -f "$SLURM_CONF" \
        </dev/null >"$RUN/log/slurmd.out" 2>&1 &
    slurmd_pid=$!
    started "$slurmd_pid" slurmd || return 1
    for i in $(seq 60); do
        [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] && break
        sleep 0.5
    done
    sinfo
    [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] || {
        note "the node did not become idle in 30 s; slurmctld log:"
        tail -n 20 "$RUN/log/slurmctld.log"
        return 1
    }
    up=1
}

# ---- jobs -----------------------------------------------------------------

# submit NAME [VAR=value ...] -- SBATCH_ARGUMENTS: the job ID; the job's
# output goes to $W/NAME.out
submit() {
    local name=$1 envs=() id
    shift
    while [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    shift
    id=$(env "${envs[@]}" NLPC_SLURM_TEST="$RUN" \
         sbatch --parsable -o "$W/$name.out" "$@") || return 1
    echo "${id%%;*}"
}

# one field of every record of a job (array tasks: one line each)
job_field() {
    scontrol show job -o "$1" 2>/dev/null | grep -o " $2=[^ ]*" |
        cut -d= -f2-
}

# wait_job ID SECONDS: wait until every task of the job has ended; its
# final states in STATE. SLURM holds a requeued job back for about 2
# minutes: here it is made eligible 3 s after it is pending again. Not at
# once: slurmd refuses a credential issued in the same second as the
# revocation of the run before ("Job credential revoked"), and the job
# then fails. (No $(wait_job): a signal to this script would wait for
# the subshell.)
wait_job() {
    local id=$1 deadline=$((SECONDS + $2)) s done_ restarts pending=-1
    while [ "$SECONDS" -lt "$deadline" ]; do
        STATE=$(job_field "$id" JobState | sort -u | tr '\n' ' ')
        STATE=${STATE% }
        done_=1
        for s in $STATE; do
            case $s in
                COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | \
                OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) ;;
                *) done_=0 ;;
            esac
        done
        [ "$done_" -eq 1 ] && [ -n "$STATE" ] && return 0
        restarts=$(job_field "$id" Restarts | head -n 1)
        if [ "$STATE" = PENDING ] && [ "${restarts:-0}" -gt 0 ]; then
            [ "$pending" -ge 0 ] || pending=$SECONDS
            [ $((SECONDS - pending)) -ge 3 ] &&
                scontrol update JobId="$id" StartTime=now 2>/dev/null
        else
            pending=-1
        fi
        sleep 0.5
    done
    note "job $id is still ${STATE:-unknown} after $2 s; cancelling it"
    scancel "$id"
    STATE=NOT-ENDED
    return 1
}

# expect_completed ID SECONDS NAME: the job ended COMPLETED with status 0
expect_completed() {
    local code
    wait_job "$1" "$2"
    code=$(job_field "$1" ExitCode | sort -u | tr '\n' ' ')
    if [ "$STATE" != COMPLETED ] || [ "$code" != "0:0 " ]; then
        note "job $1 ($3) ended $STATE, exit code $code; its output:"
        tail -n 30 "$W/$3.out" | sed 's/^/    /' >&2
        return 1
    fi
}

mentions() {
    grep -q -- "$2" "$1" && return 0
    note "$(basename "$1") does not mention '$2'"
    return 1
}

# the number after `stopped by a signal after iteration`, one per stop
stops_in() {
    sed -n 's/^stopped by a signal after iteration \([0-9]*\) .*/\1/p' "$1"
}

json_value() {
    python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# ---- data and configurations ----------------------------------------------

# 400 training and 100 test images of 4 x 8 pixels in ten classes: a
# class-specific bar pattern plus noise
write_data() {
    python3 - "$W/data" <<'EOF'
import os, random, struct, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
r = random.Random(7)
def images(name, n):
    px = bytearray()
    for k in range(n):
        for j in range(32):
            bar = (j * 7 + (k % 10) * 3) % 10 < 3
            px.append(min(255, int(90 * r.random() + (140 if bar else 20))))
    with open(os.path.join(d, name), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 4, 8) + px)
def labels(name, n):
    with open(os.path.join(d, name), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(k % 10 for k in range(n)))
images("train-images-idx3-ubyte", 400)
labels("train-labels-idx1-ubyte", 400)
images("t10k-images-idx3-ubyte", 100)
labels("t10k-labels-idx1-ubyte", 100)
EOF
}

# tiny configuration with L nodes, its output in $W/NAME
write_config() {
    cat >"$W/$1.ini" <<EOF
[data]
set = custom
dir = $W/data
validation = 50
[network]
nodes = $2
width = 32
goal_node = $2
[train]
iterations = 4
batch_fraction = 0.5
[eval]
eval_chunk = 100
[output]
dir = $W/$1
EOF
}

# TINY: the arguments of configs/tiny.ini on the synthetic data, its
# output in $W/NAME
tiny() {
    TINY=(configs/tiny.ini --set "data.dir=$W/data" --set "output.dir=$W/$1")
}

# ---- tests ----------------------------------------------------------------

# (a) a short training job runs to the end under srun
train_job_completes() {
    local id out=$W/a
    need_cluster || return 1
    tiny a
    id=$(submit a NLPC_MAX_REQUEUES=0 -- -n 3 --time=5 jobs/train.sbatch \
         "${TINY[@]}" --set train.iterations=5) || return 1
    expect_completed "$id" 60 a || return 1
    mentions "$W/a.out" "3 ranks" || return 1
    # 5 iterations: the final checkpoint is the fifth
    [ -s "$out/checkpoints/ckpt-00000005.h5" ] ||
        { note "no checkpoint $out/checkpoints/ckpt-00000005.h5"; return 1; }
    # the three tasks formed one MPI job of 3 ranks, not 3 single runs
    [ "$(json_value "$out/summary.json" ranks)" = 3 ] ||
        { note "summary.json: ranks is not 3"; return 1; }
    python3 - "$out/summary.json" <<'EOF' || return 1
import json, sys
acc = float(json.load(open(sys.argv[1]))["test_accuracy"])
if not 0 <= acc <= 1:
    sys.exit("test_accuracy %r is not a fraction" % acc)
print("  test accuracy %.4f" % acc)
EOF
}

# (a) the ranks srun started compute what one process computes
slurm_run_has_the_weights_of_a_run_without_slurm() {
    need_cluster && [ -s "$W/a/weights.h5" ] ||
        { note "needs the weights of train_job_completes"; return 1; }
    tiny serial
    mpirun --bind-to none -np 1 bin/nlpc_mpi "${TINY[@]}" \
        --set train.iterations=5 >"$W/serial.log" 2>&1 || { tail "$W/serial.log" >&2; return 1; }
    h5diff -q "$W/a/weights.h5" "$W/serial/weights.h5" /weights
}

# (b) the time-limit signal: a run far longer than the 1-minute limit gets
# SIGUSR1 about 10-40 s after it starts (--signal=USR1@20 asks for 20 s
# before the end; SLURM checks every 30 s and may send it up to a minute
# early), checkpoints, stops and requeues itself; the requeued run resumes,
# is stopped the same way and, its one requeue used, is not requeued.
# Checkpoints after every iteration slow this run down, so that the
# reference below has fewer iterations to repeat.
LONG=(--set train.iterations=100000 --set checkpoint.every=1)
stop1=
stop2=

signal_stops_the_job_with_a_checkpoint_and_requeues_it() {
    local id stops
    need_cluster || return 1
    tiny b
    id=$(submit b1 NLPC_MAX_REQUEUES=1 -- -n 3 --time=1 --signal=USR1@20 \
         jobs/train.sbatch "${TINY[@]}" "${LONG[@]}") || return 1
    wait_job "$id" 170
    note "job $id: $STATE after $(job_field "$id" Restarts) requeue(s)"
    grep -E '^(train.sbatch|stopped|resumed)|CANCEL|TIME' "$W/b1.out" |
        sed 's/^/    /' >&2
    [ "$STATE" = COMPLETED ] || return 1
    [ "$(job_field "$id" Restarts)" = 1 ] || { note "not requeued once"; return 1; }
    mapfile -t stops < <(stops_in "$W/b1.out")
    [ "${#stops[@]}" -eq 2 ] ||
        { note "expected 2 stops by the signal, got ${#stops[@]}"; return 1; }
    stop1=${stops[0]}
    stop2=${stops[1]}
    mentions "$W/b1.out" "checkpoint $W/b/checkpoints/ckpt-$(printf %08d "$stop1").h5" &&
        mentions "$W/b1.out" "requeueing job $id (1 of NLPC_MAX_REQUEUES=1)" &&
        mentions "$W/b1.out" "resumed from the checkpoint after iteration $stop1" &&
        mentions "$W/b1.out" "not requeued (1 of NLPC_MAX_REQUEUES=1" || return 1
    [ "$stop2" -gt "$stop1" ] || { note "no progress after the requeue"; return 1; }
    [ -s "$W/b/checkpoints/ckpt-$(printf %08d "$stop2").h5" ] ||
        { note "no checkpoint of iteration $stop2"; return 1; }
    ! grep -q "DUE TO TIME LIMIT" "$W/b1.out" ||
        { note "a run reached the time limit"; return 1; }
}

# finish JOB OUTPUT: train configs/tiny.ini into $W/OUTPUT for stop2 + 100
# iterations, a count the resumed run can finish well within its limit
finish() {
    local id
    tiny "$2"
    id=$(submit "$1" NLPC_MAX_REQUEUES=0 -- -n 3 --time=3 --signal=USR1@20 \
         jobs/train.sbatch "${TINY[@]}" \
         --set "train.iterations=$((stop2 + 100))") || return 1
    expect_completed "$id" 170 "$1"
}

# (b) submitted again, with a count of iterations it can finish, the run
# continues from the newest checkpoint and completes
resubmitted_job_resumes_and_completes() {
    need_cluster && [ -n "$stop2" ] ||
        { note "needs the stopped run of the previous test"; return 1; }
    finish b2 b || return 1
    mentions "$W/b2.out" "resumed from the checkpoint after iteration $stop2" ||
        return 1
    [ "$(json_value "$W/b/summary.json" resumed_from_iteration)" = "$stop2" ] &&
        [ "$(json_value "$W/b/summary.json" iterations_done)" = \
          $((stop2 + 100)) ] ||
        { note "summary.json: resumed_from_iteration or iterations_done wrong"
          return 1; }
}

# (b) independent check: two stops, a requeue and a resubmission end with
# the weights of one uninterrupted run of the same configuration
resumed_weights_equal_an_uninterrupted_run() {
    need_cluster && [ -s "$W/b/weights.h5" ] ||
        { note "needs the weights of the resumed run"; return 1; }
    finish ref ref || return 1
    ! grep -q "resumed from" "$W/ref.out" ||
        { note "the reference resumed: it is not uninterrupted"; return 1; }
    h5diff -q "$W/b/weights.h5" "$W/ref/weights.h5" /weights || {
        note "weights differ from the uninterrupted run's"
        return 1
    }
    # and the comparison can fail: other weights do differ
    if h5diff -q "$W/a/weights.h5" "$W/ref/weights.h5" /weights >/dev/null 2>&1
    then
        note "h5diff finds no difference between different runs"
        return 1
    fi
}

# batch_shell_signal LAUNCHER: a signal sent to the batch shell only (what
# sbatch --signal=B:USR1@... does, and what mpirun needs) is forwarded to
# the launcher and by it to every rank: one stop, with a checkpoint
batch_shell_signal() {
    local id i n p exes name=sig_$1
    need_cluster || return 1
    tiny "$name"
    id=$(submit "$name" NLPC_LAUNCHER="$1" NLPC_MAX_REQUEUES=0 -- -n 3 \
         --time=5 jobs/train.sbatch "${TINY[@]}" "${LONG[@]}") || return 1
    for i in $(seq 120); do
        n=$(grep -c '^iter ' "$W/$name.out" 2>/dev/null)
        [ "${n:-0}" -ge 20 ] && break
        sleep 0.5
    done
    # the final check for processes left behind sees a job's processes
    exes=$(for p in $(marked_pids); do
               readlink "/proc/$p/exe"
           done 2>/dev/null | sort | uniq -c)
    [[ $exes =~ " 3 $(readlink -f bin/nlpc_mpi)" ]] &&
        [[ $exes =~ /slurmstepd ]] || {
        note "the marker does not find the job's 3 ranks and slurmstepd:" \
            $exes
        return 1
    }
    scancel --batch --signal=USR1 "$id" || return 1
    expect_completed "$id" 60 "$name" || return 1
    n=$(stops_in "$W/$name.out" | head -n 1)
    [ "$(stops_in "$W/$name.out" | wc -l)" -eq 1 ] &&
        [ -s "$W/$name/checkpoints/ckpt-$(printf %08d "$n").h5" ] ||
        { note "not stopped once with a checkpoint"; return 1; }
    mentions "$W/$name.out" "not requeued (0 of NLPC_MAX_REQUEUES=0"
}

srun_forwards_a_signal_sent_to_the_batch_shell() {
    batch_shell_signal srun
}

mpirun_forwards_a_signal_sent_to_the_batch_shell() {
    batch_shell_signal mpirun
}

# sweep.sbatch run directly: one array per node count, each task with its
# configuration's number of ranks
sweep_submits_one_array_per_node_count() {
    local ids id n cfg
    need_cluster || return 1
    write_config sweep_a 2
    write_config sweep_b 3
    write_config sweep_c 2
    printf '# a test list\n%s\n\n%s\n%s\n' "$W/sweep_a.ini" "$W/sweep_b.ini" \
        "$W/sweep_c.ini" >"$W/sweep.list"
    NLPC_SLURM_TEST=$RUN jobs/sweep.sbatch "$W/sweep.list" --time=5 \
        -o "$W/sweep-%A_%a.out" >"$W/sweep.log" 2>&1 ||
        { cat "$W/sweep.log"; return 1; }
    sed 's/^/    /' "$W/sweep.log" >&2
    mentions "$W/sweep.log" "nodes=2 array=0,2 job=" &&
        mentions "$W/sweep.log" "nodes=3 array=1 job=" || return 1
    ids=$(sed -n 's/.*job=\([0-9]*\)$/\1/p' "$W/sweep.log")
    for id in $ids; do
        wait_job "$id" 90
        [ "$STATE" = COMPLETED ] ||
            { note "array $id did not complete"
              tail "$W"/sweep-"$id"_*.out >&2; return 1; }
    done
    for cfg in sweep_a:2 sweep_b:3 sweep_c:2; do
        n=${cfg#*:}
        [ "$(json_value "$W/${cfg%:*}/summary.json" ranks)" = "$n" ] ||
            { note "${cfg%:*} did not run with $n ranks"; return 1; }
    done
}

# the directives of every script are accepted by sbatch, and the list
# names the twelve networks of Table 1
scripts_and_table1_list_are_valid() {
    local f want
    need_cluster || return 1
    for f in jobs/train.sbatch jobs/sweep.sbatch jobs/bench.sbatch; do
        sbatch --test-only "$f" >"$W/test-only.log" 2>&1 ||
            { note "sbatch --test-only $f:"; cat "$W/test-only.log"; return 1; }
    done
    want=$(printf '%s\n' \
        configs/{mnist,fashion}_{sync,async}_{4n_g4,6n_g6,6n_g3}.ini | sort)
    [ "$(grep -v '^#' jobs/table1.list | grep . | sort)" = "$want" ] ||
        { note "jobs/table1.list does not list the twelve Table 1 configs"
          return 1; }
}

# ---- stopping -------------------------------------------------------------

# PIDs of every process of this cluster: the daemons and each job's
# processes carry the marker in their environment; slurmstepd, which starts
# with an environment of its own, has the cluster's slurmd.log open
marked_pids() {
    local d
    [ -n "$RUN" ] || return 0
    for d in /proc/[0-9]*; do
        # (no `| grep -q`: under pipefail its early exit can fail the pipe)
        if grep -qzxF "NLPC_SLURM_TEST=$RUN" "$d/environ" 2>/dev/null ||
            [ -n "$(find "$d/fd" -maxdepth 1 -lname "$RUN/*" -print -quit \
                    2>/dev/null)" ]; then
            echo "${d#/proc/}"
        fi
    done
}

# PID runs (a zombie, ended but not yet reaped by its parent, does not)
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# stop_pid PID: TERM, then KILL after 10 s
stop_pid() {
    local i
    [ -n "$1" ] && alive "$1" || return 0
    kill -TERM "$1" 2>/dev/null
    for i in $(seq 100); do
        alive "$1" || return 0
        sleep 0.1
    done
    note "PID $1 ignored SIGTERM; sending SIGKILL"
    kill -KILL "$1" 2>/dev/null
    sleep 0.2
}

stopped_=0
stop_cluster() {
    local ids id i left rc
    [ "$stopped_" -eq 1 ] && return 0
    stopped_=1
    if [ -n "$ctld_pid" ] && alive "$ctld_pid"; then
        ids=$(squeue -h -o %A 2>/dev/null | sort -u)
        for id in $ids; do
            scancel "$id"
        done
        for i in $(seq 60); do
            [ -z "$(squeue -h 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    stop_pid "$slurmd_pid"
    stop_pid "$ctld_pid"
    stop_pid "$munged_pid"
    # processes of cancelled jobs may take a moment to end
    for i in $(seq 20); do
        left=$(marked_pids)
        [ -z "$left" ] && break
        sleep 0.5
    done
    rc=0
    if [ -n "$left" ]; then
        note "processes left behind, killed now:"
        for id in $left; do
            note "$id $(tr '\0' ' ' 2>/dev/null <"/proc/$id/cmdline")"
            kill -KILL "$id" 2>/dev/null
        done
        rc=1
    fi
    if [ -n "$munged_pid" ] && alive "$munged_pid"; then
        note "munged (PID $munged_pid) is still running"
        rc=1
    fi
    if [ -n "$RUN" ]; then
        mkdir -p "$W/daemon-logs"
        cp "$RUN"/log/* "$RUN/munge/munged.log" "$RUN/slurm.conf" \
            "$W/daemon-logs/" 2>/dev/null
        rm -rf "$RUN"
    fi
    return "$rc"
}

daemons_stop_and_leave_no_process() {
    stop_cluster
}

# on an interruption or an early exit: stop the cluster all the same
on_exit() {
    local rc=$?
    if [ "$stopped_" -eq 0 ]; then
        echo "tests/slurm/run.sh: stopping the cluster after an interruption"
        stop_cluster
        echo "$passed passed, $((failed + 1)) failed"
        [ "$rc" -ne 0 ] || rc=1
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TESTS=(
    train_job_completes
    slurm_run_has_the_weights_of_a_run_without_slurm
    signal_stops_the_job_with_a_checkpoint_and_requeues_it
    resubmitted_job_resumes_and_completes
    resumed_weights_equal_an_uninterrupted_run
    srun_forwards_a_signal_sent_to_the_batch_shell
    mpirun_forwards_a_signal_sent_to_the_batch_shell
    sweep_submits_one_array_per_node_count
    scripts_and_table1_list_are_valid
)
for test in "$@"; do
    [[ " ${TESTS[*]} " =~ " $test " ]] || {
        echo "tests/slurm/run.sh: no test '$test'; the tests: ${TESTS[*]}" >&2
        exit 2
    }
done
rm -rf "$W"
mkdir -p "$W"
write_data
t cluster_starts
for test in "${@:-${TESTS[@]}}"; do
    t "$test"
done
t daemons_stop_and_leave_no_process
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
