#!/usr/bin/env python3
"""bench.py - where the time of nlpc_mpi goes on this machine (make bench).

usage: bench/bench.py        from the repository root, after make

Environment:
  BENCH_QUICK=1        tiny sizes on synthetic data (seconds; make check)
  BENCH_OUT=dir        output directory (default bench/out)
  BENCH_ITERS=n        iterations per trainer run (default 4; the first
                       is dropped from every mean)
  BENCH_NET_GBPS=a,b   network bandwidths (Gbit/s) for the model of L
                       ranks on L machines (default 10,100)

Cases, each printed as one line when done and written to
<out>/bench.csv (columns case,metric,node,value,unit,note; node empty for
totals, value empty for a case that did not run, note saying why):
  peak        bin/peak: DGEMM and SGEMM at the trainer's shape, 1 core and
              all cores
  msg         bin/msgtime: one n x K block between two ranks
  sync_1r ... the 6-node network, full MNIST, batches of 15%: 1 rank on
  async_6r    1 core, 2 ranks on 2 cores, 6 ranks on 2 cores, sync and
              async; per-phase seconds per node and summed, GFLOP/s of
              the iteration and of each phase, ratio to the DGEMM peak of
              the cores used, measured again just before each run
              (peak_now: the machine is shared)
  speedup     sync and async, 2 and 6 ranks against 1
  model       the scaling model from the 1-rank phases and the message
              time, checked against the 1- and 2-rank runs, and L ranks on
              L machines at each network bandwidth
  batch_<f>   1 rank, batch_fraction f of the training images
  width_<N>   1 rank, synthetic IDX data of width N
  torch       bench/torch_mlp.py (back-propagation, PyTorch, as many
              threads as sync_2r has cores) to the test accuracy of
              sync_2r, the default job on 2 ranks; not in quick mode
  projection  120 iterations of the 6-node network against the paper's
              3.5 hours
A readable report of the same numbers goes to <out>/bench.md.

Flop counts (2 flops per multiply-add, n = width, K = batch; formulas in
flops_node below and in docs/performance.md): the forward product 2 n^2 K,
Gram SYRK n^2 K, cross product 2 n^2 K, propagation products 2 n^2 K each,
eigendecomposition 10/3 n^3 and each SVD 20/3 n^3 (their dense reductions
and back-transformations only: a lower bound), candidates and J 7 n^3
(V^T C, the SYRK of R's J, the two products of the candidate kept),
weight terms 5/3 n^3. The goal, top-k, c-sNT and scalar phases count as
0 (element-wise passes and n Newton solves: not flop-bound).

Every timing run except sync_2r trains on a subset of K training images
and takes all of them as its batch (train.batch_fraction = 1): the shapes
of a 15% batch of the full set, with a short evaluation afterwards.
sync_2r is the default job on 2 ranks (full training set, random 15%
batches, the configuration's iteration count), so that its test accuracy
and seconds are those of the real run; it is the baseline's target.
sync_2r_mb1, sync_1r_K and sync_2r_K are baselines of the same
invocation: no forward pipeline, and one candidate instead of two.
"""
import csv
import json
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
OUT = os.path.abspath(os.environ.get("BENCH_OUT",
                                     os.path.join(ROOT, "bench", "out")))
ITERS = int(os.environ.get("BENCH_ITERS", "4"))
NET_GBPS = [float(x) for x in
            os.environ.get("BENCH_NET_GBPS", "10,100").split(",") if x]
CORES = os.cpu_count() or 1
CONFIG = os.path.join(ROOT, "configs", "mnist_sync_6n_g6.ini")


def config_value(key, default):
    """a key of CONFIG, as its text"""
    with open(CONFIG) as f:
        m = re.search(r"^\s*%s\s*=\s*(\S+)" % key, f.read(), re.M)
    return m.group(1) if m else default


MB = int(config_value("microbatches", "1"))     # forward pipeline blocks
FULL_ITERS = int(config_value("iterations", "20"))
PHASES = ["fwd", "goal", "err", "halo", "csnt", "gram", "eig", "svd",
          "scalar", "cand", "bwd", "terms"]
UPDATE_PHASES = ["csnt", "gram", "eig", "svd", "scalar", "cand", "bwd",
                 "terms"]
PAPER_SECONDS = 3.5 * 3600      # the paper's sequential Matlab, 6 nodes
PAPER_ITERS = 120

# sizes: (width, image rows, cols) and the synthetic set of quick mode
if QUICK:
    WIDTH, SHAPE = 32, (4, 8)
    WIDTHS = [(16, 4, 4), (32, 4, 8), (64, 8, 8)]
    N_TRAIN, N_TEST, VALID = 600, 100, 100
    PEAK_ARGS = ["64", "256", "2"]
else:
    WIDTH, SHAPE = 784, (28, 28)
    WIDTHS = [(196, 14, 14), (392, 14, 28), (784, 28, 28)]
    N_TRAIN, N_TEST, VALID = 60000, 10000, 5000
    PEAK_ARGS = ["784", "8250", "5"]
BATCH_FRACTIONS = [0.05, 0.10, 0.15, 0.30]
MAIN_FRACTION = 0.15

ENV = dict(os.environ)
for k, v in (("OMPI_ALLOW_RUN_AS_ROOT", "1"),
             ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
             ("OMPI_MCA_rmaps_base_oversubscribe", "1"),
             ("OMPI_MCA_mpi_yield_when_idle", "1"),
             ("OPENBLAS_NUM_THREADS", "1")):
    ENV.setdefault(k, v)
ENV["OPENBLAS_NUM_THREADS"] = "1"   # one BLAS thread per rank, always

ROWS = []
RES = {}        # case -> analyse() result, for the report


def emit(case, metric, value, unit, node="", note=""):
    """one CSV row; value None for a case that did not run"""
    note = note.replace(",", ";").replace("\n", " ")
    ROWS.append([case, metric, node, "" if value is None else
                 "%.6g" % value, unit, note])


def write_csv():
    with open(os.path.join(OUT, "bench.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "metric", "node", "value", "unit", "note"])
        w.writerows(ROWS)


def sh(cmd, env=None, timeout=None):
    """run cmd (a list), return its stdout; stop the benchmark on failure"""
    p = subprocess.run(cmd, cwd=ROOT, env=env or ENV, timeout=timeout,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        sys.exit("bench.py: %s failed (exit %d):\n%s" %
                 (" ".join(cmd), p.returncode, p.stdout[-3000:]))
    return p.stdout


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# ---- data --------------------------------------------------------------

def write_idx(directory, n_train, n_test, rows, cols, seed):
    """The four IDX files of a synthetic set of rows x cols images: per
    class a random prototype with a quarter of its pixels bright, each
    image the prototype with a random eighth of its pixels switched off
    and random noise added (the test harness's idea at any size)."""
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(seed)
    dim = rows * cols
    protos = [bytes(200 if rng.random() < 0.25 else 0 for _ in range(dim))
              for _ in range(10)]
    for name, n in (("train", n_train), ("t10k", n_test)):
        with open(os.path.join(directory, name + "-images-idx3-ubyte"),
                  "wb") as f:
            f.write(struct.pack(">IIII", 0x803, n, rows, cols))
            for k in range(n):
                keep = rng.randbytes(dim)
                noise = rng.randbytes(dim)
                f.write(bytes(min(255, (p if m >= 32 else 0) + (z >> 3))
                              for p, m, z in zip(protos[k % 10], keep,
                                                 noise)))
        with open(os.path.join(directory, name + "-labels-idx1-ubyte"),
                  "wb") as f:
            f.write(struct.pack(">II", 0x801, n))
            f.write(bytes(k % 10 for k in range(n)))


def data_sets():
    """data options of the main runs, and a directory per width"""
    synth = os.path.join(OUT, "data")
    if QUICK:
        main_dir = os.path.join(synth, "w%d" % WIDTH)
        write_idx(main_dir, N_TRAIN, N_TEST, SHAPE[0], SHAPE[1], 1)
        main = ["data.set=custom", "data.dir=" + main_dir,
                "data.validation=%d" % VALID, "network.width=%d" % WIDTH]
    else:
        sh(["scripts/fetch-data.sh", "data"])
        main = ["data.set=mnist", "data.dir=data"]
    widths = {}
    for n, r, c in WIDTHS:
        d = os.path.join(synth, "w%d" % n)
        # width runs use a batch of the whole (limited) training set
        k = int(MAIN_FRACTION * (N_TRAIN - VALID) + 0.5)
        if not os.path.exists(os.path.join(d, "t10k-labels-idx1-ubyte")):
            write_idx(d, k + VALID, N_TEST // 10, r, c, n)
        widths[n] = (d, k)
    return main, widths


# ---- the trainer -------------------------------------------------------

def flops_node(l, L, lG, n, K, updated, log_terms=True, best=True):
    """Flops of node l (1-based) in one iteration, per phase, for the tied
    network with nogoal = zero and propagate = true (the configurations
    benchmarked here): only nodes from lG on have a goal error."""
    has_err = (lambda j: lG <= j <= L)
    f = dict.fromkeys(PHASES, 0.0)
    nk = float(n) * n * K
    n3 = float(n) ** 3
    f["fwd"] = 2 * nk                               # Q = A U
    if l > lG:
        f["err"] = 2 * nk                           # A D_{l-1}
    if l >= 2 and has_err(l):
        f["halo"] += 2 * nk                         # A_{l-1}^T E_l
    if not updated:
        return f
    if has_err(l - 1):
        f["halo"] += 2 * nk                         # lb A E_{l-1}
    f["gram"] = nk + 2 * nk                         # SYRK + cross GEMM
    if has_err(l - 1):
        f["gram"] += 2 * nk                         # SYR2K
    # dsyevd: tridiagonal reduction 4/3 n^3, back-transformation 2 n^3;
    # dgesdd: bidiagonal reduction 8/3 n^3, U and V^T back-transformed
    # 2 n^3 each; the divide-and-conquer steps are not counted
    f["eig"] = 10 / 3 * n3
    f["svd"] = 20 / 3 * n3 * (2 if best else 1)
    # V^T C; J of R in closed form after one SYRK (K's is O(n^2)); the
    # two products that form the candidate kept
    f["cand"] = 2 * n3 + (n3 if best else 0.0) + 4 * n3
    if log_terms:
        f["terms"] = n3 + 2 / 3 * n3                # SYRK + LU
    return f


def pin(cmd, cores):
    """cmd restricted to the first `cores` cores"""
    if cores < CORES:
        return ["taskset", "-c", "0-%d" % (cores - 1)] + cmd
    return cmd


def peak_now(case, cores):
    """DGEMM rate on the cores a run is about to use, measured just
    before it: the machine is shared, and its load changes from run to
    run, so each run is compared with the peak of its own moment"""
    env = dict(ENV, OPENBLAS_NUM_THREADS=str(cores))
    text = sh(pin(["bin/peak", PEAK_ARGS[0], PEAK_ARGS[1], "3"], cores),
              env=env)
    rate = float(re.search(r"^dgemm .* ([0-9.]+) GFLOP/s$", text,
                           re.M).group(1))
    emit(case, "peak_now", rate, "GFLOP/s",
         note="DGEMM on %d core(s) just before the run" % cores)
    return rate


def run_trainer(case, np_, sets, cores, iters=None):
    """train `iters` (default ITERS) iterations into <OUT>/runs/<case> with
    np_ ranks on the first `cores` cores; the rows of log.csv after the
    first, and summary.json"""
    out = os.path.join(OUT, "runs", case)
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["mpirun", "--bind-to", "none", "-np", str(np_), "bin/nlpc_mpi",
           "--set", "train.iterations=%d" % (iters or ITERS),
           "--set", "output.dir=" + out,
           "--set", "checkpoint.every=0", "--set", "checkpoint.resume=never"]
    for s in sets:
        cmd += ["--set", s]
    cmd.append(CONFIG)
    cmd = pin(cmd, cores)
    t0 = time.time()
    text = sh(cmd)
    wall = time.time() - t0
    with open(os.path.join(out, "run.log"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "log.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    keep = rows[1:] if len(rows) > 1 else rows
    return keep, summary, wall


def mean(rows, key):
    vals = [float(r[key]) for r in rows if r.get(key, "") != ""]
    return sum(vals) / len(vals) if vals else 0.0


def analyse(case, rows, summary, L, lG, n, K, cores, best=True):
    """per-node and summed phase seconds, flops and rates of one run,
    against the DGEMM peak measured just before it"""
    peak = peak_now(case, cores)
    res = {"s": mean(rows, "seconds"), "phase": {}, "node": {},
           "flops": 0.0, "pflops": dict.fromkeys(PHASES, 0.0)}
    for l in range(1, L + 1):
        res["node"][l] = {p: mean(rows, "t_%s_%d" % (p, l)) for p in PHASES}
        res["node"][l]["wait"] = mean(rows, "t_wait_%d" % l)
        upd = [r for r in rows if r.get("J_%d" % l, "") != ""]
        share = len(upd) / len(rows)
        fu = flops_node(l, L, lG, n, K, True, best=best)
        fs = flops_node(l, L, lG, n, K, False, best=best)
        for p in PHASES:
            fl = share * fu[p] + (1 - share) * fs[p]
            res["pflops"][p] += fl
            res["flops"] += fl
    for p in PHASES + ["wait"]:
        res["phase"][p] = sum(res["node"][l][p] for l in res["node"])
    s = res["s"]
    emit(case, "s_per_iter", s, "s")
    emit(case, "gflop_per_iter", res["flops"] / 1e9, "GFLOP")
    emit(case, "gflops", res["flops"] / s / 1e9, "GFLOP/s")
    emit(case, "peak_ratio", res["flops"] / s / 1e9 / peak, "ratio",
         note="of measured DGEMM peak on %d core(s)" % cores)
    emit(case, "cores", cores, "cores")
    emit(case, "batch", K, "columns")
    emit(case, "width", n, "units")
    for p in PHASES + ["wait"]:
        emit(case, "t_" + p, res["phase"][p], "s")
        for l in range(1, L + 1):
            emit(case, "t_" + p, res["node"][l][p], "s", node=l)
    for p in PHASES:
        t = res["phase"][p]
        if res["pflops"][p] > 0 and t > 0:
            emit(case, "gflops_" + p, res["pflops"][p] / t / 1e9, "GFLOP/s")
    res.update(cores=cores, peak=peak, n=n, K=K)
    RES[case] = res
    res["accuracy"] = summary.get("test_accuracy")
    res["train_s"] = summary.get("train_seconds", 0.0)
    res["eval_s"] = summary.get("eval_seconds", 0.0)
    emit(case, "test_accuracy", res["accuracy"], "fraction",
         note="after %d iterations" % summary.get("iterations_done", ITERS))
    emit(case, "train_eval_seconds", res["train_s"] + res["eval_s"], "s")
    return res


# ---- cases -------------------------------------------------------------

def case_peak():
    peak = {}
    for threads in sorted({1, min(2, CORES), CORES}):
        env = dict(ENV, OPENBLAS_NUM_THREADS=str(threads))
        text = sh(["bin/peak"] + PEAK_ARGS, env=env)
        for m in re.finditer(r"^([ds])gemm .* ([0-9.]+) GFLOP/s$", text,
                             re.M):
            key = "%sgemm_%dcore" % (m.group(1), threads)
            peak[key] = float(m.group(2))
            emit("peak", key, peak[key], "GFLOP/s",
                 note="%s x %s x %s" % (PEAK_ARGS[0], PEAK_ARGS[0],
                                       PEAK_ARGS[1]))
    print("peak        DGEMM %.1f GFLOP/s on 1 core, %.1f on %d; SGEMM "
          "%.1f, %.1f" % (peak["dgemm_1core"], peak["dgemm_%dcore" % CORES],
                          CORES, peak["sgemm_1core"],
                          peak["sgemm_%dcore" % CORES]), flush=True)
    return peak


def case_msg(n, K):
    count = n * K
    text = sh(["mpirun", "--bind-to", "none", "-np", "2", "bin/msgtime",
               str(count), "5"])
    m = re.search(r"one-way ([0-9.]+) s\s+([0-9.]+) GB/s", text)
    sec, gbs = float(m.group(1)), float(m.group(2))
    emit("msg", "seconds", sec, "s", note="%d doubles one way" % count)
    emit("msg", "bandwidth", gbs, "GB/s")
    print("msg         %.1f MB block between 2 ranks: %.4f s (%.2f GB/s)" %
          (8e-6 * count, sec, gbs), flush=True)
    return sec


def line(case, r, extra=""):
    ph = r["phase"]
    upd = sum(ph[p] for p in UPDATE_PHASES)
    rate = r["flops"] / r["s"] / 1e9
    print("%-11s %6.3f s/iter  %6.1f GFLOP/s (%3.0f%% of %.1f)  fwd %.3f  "
          "goal %.3f  halo %.3f  update %.3f  wait %.3f%s" %
          (case, r["s"], rate, 100 * rate / r["peak"], r["peak"], ph["fwd"],
           ph["goal"], ph["halo"], upd, ph["wait"], extra), flush=True)


def subset(K):
    """the options of a run on K training images, all in every batch"""
    return ["data.train_limit=%d" % (K + VALID), "train.batch_fraction=1",
            "data.test_limit=%d" % (N_TEST // 10)]


def case_scaling(main, L, lG, K):
    """1, 2 and L ranks, sync and async; sync_2r is the default job (its
    iteration count, the full training set with random batches), the
    others train on a K-image subset for ITERS iterations. Then the same
    invocation's baselines: sync_2r_mb1 without the forward pipeline
    (train.microbatches = 1), and sync_1r_K and sync_2r_K with one
    candidate (train.solver = K)."""
    res = {}
    runs = [(mode, np_, cores, []) for mode in ("sync", "async")
            for np_, cores in ((1, 1), (2, min(2, CORES)),
                               (L, min(2, CORES)))]
    runs += [("sync", 2, min(2, CORES), ["train.microbatches=1"]),
             ("sync", 1, 1, ["train.solver=K"]),
             ("sync", 2, min(2, CORES), ["train.solver=K"])]
    for mode, np_, cores, extra in runs:
        case = "%s_%dr" % (mode, np_) + "".join(
            "_mb1" if "microbatches" in e else "_K" for e in extra)
        full = case == "sync_2r"
        rows, summ, _ = run_trainer(
            case, np_, main + ["train.mode=" + mode] + extra +
            ([] if full else subset(K)), cores,
            FULL_ITERS if full and not QUICK else None)
        r = analyse(case, rows, summ, L, lG, WIDTH, K, cores,
                    best="train.solver=K" not in extra)
        res[case] = r
        line(case, r, "  (%d ranks, %d cores%s)" %
             (np_, cores, "".join(", " + e for e in extra)))
    for mode in ("sync", "async"):
        base = res["%s_1r" % mode]["s"]
        for np_ in (2, L):
            sp = base / res["%s_%dr" % (mode, np_)]["s"]
            emit("speedup", "%s_%dr" % (mode, np_), sp, "x",
                 note="1-rank seconds per iteration / these")
        print("speedup     %s: %.2fx with 2 ranks, %.2fx with %d ranks "
              "(over 1 rank)" % (mode, base / res["%s_2r" % mode]["s"],
                                 base / res["%s_%dr" % (mode, L)]["s"], L),
              flush=True)
    for a, b, what in (("sync_2r_mb1", "sync_2r", "pipeline"),
                       ("sync_1r", "sync_1r_K", "solver_K_1r"),
                       ("sync_2r", "sync_2r_K", "solver_K_2r")):
        emit("speedup", what, res[a]["s"] / res[b]["s"], "x",
             note="%s seconds per iteration / %s" % (a, b))
    print("baselines   the pipeline: %.2fx (microbatches 1 -> %d, 2 ranks); "
          "solver K instead of best: %.2fx on 1 rank, %.2fx on 2" %
          (res["sync_2r_mb1"]["s"] / res["sync_2r"]["s"], MB,
           res["sync_1r"]["s"] / res["sync_1r_K"]["s"],
           res["sync_2r"]["s"] / res["sync_2r_K"]["s"]), flush=True)
    return res


def owner(l, P, L):
    """net_owner of src/net.c: contiguous blocks"""
    return (l - 1) * P // L


def model_time(node, L, lG, P, msg, other, M):
    """Seconds per sync iteration with P ranks on P cores or machines, for
    the schedule of src/train.c with goal at node lG, nogoal = zero and
    tied weights. The forward pass is a pipeline of M column blocks: rank
    r starts one block after rank r - 1 and ends no earlier than one
    block after it. While the goal travels (U_lG to rank 0, G back, one
    message each way when the goal node is elsewhere), every rank updates
    its nodes l <= lG - 2, which need no block, and prepares Gamma and its
    eigendecomposition (a third of the gram phase, and eig) for the
    others; the rest of their update waits for the goal. msg is the time
    of one n x K block, `other` the untimed remainder of the 1-rank
    run."""
    ranks = [[l for l in node if owner(l, P, L) == r] for r in range(P)]
    hop = msg / M
    start, end = [0.0] * P, [0.0] * P
    for r in range(P):
        F = sum(node[l]["fwd"] for l in ranks[r])
        if r == 0:
            end[r] = F
        else:
            start[r] = start[r - 1] + sum(
                node[l]["fwd"] for l in ranks[r - 1]) / M + hop
            end[r] = max(start[r] + F, end[r - 1] + F / M + hop)
    gown = owner(lG, P, L)
    away = msg if gown != 0 else 0.0
    goal = node[1]["goal"]
    t_goal = end[gown] + away + goal + away
    finish = []
    for r in range(P):
        t, rest = end[r] + (goal if r == 0 else 0.0), 0.0
        for l in ranks[r]:
            upd = sum(node[l][p] for p in UPDATE_PHASES)
            prep = node[l]["gram"] / 3 + node[l]["eig"]
            if l <= lG - 2:
                t += upd
            else:
                t += prep
                rest += upd - prep + node[l]["err"] + node[l]["halo"]
        if rest > 0:
            t = max(t, t_goal) + rest
        finish.append(t)
    return max(finish) + other


def case_model(res, msg, L, lG, K):
    one = res["sync_1r"]
    timed = sum(one["phase"][p] for p in PHASES) + one["phase"]["wait"]
    other = max(0.0, one["s"] - timed)
    emit("model", "untimed_1r", other, "s",
         note="iteration seconds not in any phase; added to every layout")
    for P in (1, 2):
        t = model_time(one["node"], L, lG, P, msg, other, MB)
        meas = res["sync_%dr" % P]["s"]
        emit("model", "sync_%dr" % P, t, "s",
             note="measured %.4g s; model/measured %.3f" % (meas, t / meas))
        emit("model", "sync_%dr_ratio" % P, t / meas, "ratio")
        print("model       sync, %d rank(s): %.3f s/iter predicted, %.3f "
              "measured (%.2f)" % (P, t, meas, t / meas), flush=True)
    # the same layout from the 2-rank run's own phase times: what is left
    # of the gap is the schedule, not the slower compute of two busy ranks
    t = model_time(res["sync_2r"]["node"], L, lG, 2, msg, other, MB)
    emit("model", "sync_2r_own_phases", t, "s",
         note="from sync_2r's own phase times; measured %.4g s" %
         res["sync_2r"]["s"])
    block = 8.0 * WIDTH * K
    for label, sec in [("shm", msg)] + [
            ("%gGbps" % g, block * 8 / (g * 1e9)) for g in NET_GBPS]:
        t = model_time(one["node"], L, lG, L, sec, other, MB)
        emit("model", "sync_%dmachines_%s" % (L, label), t, "s",
             note="%d ranks on %d machines; %.4g s per block" % (L, L, sec))
        emit("model", "speedup_%dmachines_%s" % (L, label), one["s"] / t,
             "x")
        print("model       sync, %d ranks on %d machines, %s messages "
              "(%.4f s each): %.3f s/iter, %.2fx over 1 rank" %
              (L, L, label, sec, t, one["s"] / t), flush=True)


def case_batch(main, L, lG):
    n_train = N_TRAIN - VALID
    for frac in BATCH_FRACTIONS:
        K = int(frac * n_train + 0.5)
        case = "batch_%.2f" % frac
        rows, summ, _ = run_trainer(case, 1, main + subset(K), 1)
        r = analyse(case, rows, summ, L, lG, WIDTH, K, 1)
        line(case, r, "  (K = %d)" % K)


def case_width(widths, L, lG):
    for n, (d, K) in sorted(widths.items()):
        case = "width_%d" % n
        rows, summ, _ = run_trainer(case, 1, [
            "data.set=custom", "data.dir=" + d, "network.width=%d" % n,
            "data.validation=%d" % VALID, "train.batch_fraction=1"], 1)
        r = analyse(case, rows, summ, L, lG, n, K, 1)
        line(case, r, "  (N = %d, K = %d)" % (n, K))


TORCH_PY = "/usr/bin/python3"     # Debian's python3-torch lives there


def case_torch(target, nlpc_seconds, threads):
    script = os.path.join(ROOT, "bench", "torch_mlp.py")
    why = None
    if QUICK:
        why = "quick mode"
    elif subprocess.run([TORCH_PY, "-c", "import torch"], cwd=ROOT,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL).returncode != 0:
        why = "python3-torch not installed (scripts/install-deps.sh --bench)"
    emit("torch", "nlpc_seconds_to_accuracy", nlpc_seconds, "s",
         note="sync_2r train + evaluation seconds to test accuracy %s" %
         target)
    metrics = ("seconds_to_target", "test_accuracy", "epochs", "threads",
               "reached")
    if why:
        for m in metrics:
            emit("torch", m, None, "", note="not run: " + why)
        print("torch       not run: %s" % why, flush=True)
        return
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    cmd = [TORCH_PY, script, "--target", "%.4f" % target, "--threads",
           str(threads), "--data", os.path.join(ROOT, "data", "mnist")]
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    m = re.search(r"^RESULT (.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        for mt in metrics:
            emit("torch", mt, None, "", note="not run: torch_mlp.py "
                 "exited %d without a RESULT line" % p.returncode)
        print("torch       failed: exit %d\n%s" % (p.returncode,
                                                    p.stdout[-2000:]),
              flush=True)
        return
    kv = dict(x.split("=", 1) for x in m.group(1).split())
    units = {"seconds_to_target": "s", "test_accuracy": "fraction",
             "epochs": "epochs", "threads": "threads", "reached": "flag"}
    for k, u in units.items():
        emit("torch", k, float(kv[k]) if k in kv else None, u,
             note=m.group(0))
    sec = float(kv.get("seconds_to_target", "nan"))
    emit("torch", "ratio_nlpc_to_torch", nlpc_seconds / sec, "x",
         note="nlpc seconds to the accuracy / torch seconds to it")
    print("torch       %s (nlpc: %.1f s to %s)" %
          (m.group(0), nlpc_seconds, target), flush=True)


def case_projection(res, L):
    best = min(("sync_1r", "sync_2r", "sync_%dr" % L),
               key=lambda c: res[c]["s"])
    total = res[best]["s"] * PAPER_ITERS
    emit("projection", "seconds_%d_iterations" % PAPER_ITERS, total, "s",
         note="%s seconds per iteration x %d" % (best, PAPER_ITERS))
    emit("projection", "paper_seconds", PAPER_SECONDS, "s",
         note="the paper's sequential Matlab; 3.5 hours")
    emit("projection", "ratio_to_paper", PAPER_SECONDS / total, "x")
    print("projection  %d iterations: %.0f s (%.1f min, %s) against the "
          "paper's 3.5 h: %.0fx" % (PAPER_ITERS, total, total / 60, best,
                                    PAPER_SECONDS / total), flush=True)


def table_cases(f):
    f.write("| case | cores | N | K | s/iter | GFLOP/iter | GFLOP/s | "
            "peak then | of peak | fwd | goal | halo | update | wait |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    for c, r in RES.items():
        ph = r["phase"]
        f.write("| %s | %d | %d | %d | %.3f | %.1f | %.1f | %.1f | %.0f%% "
                "| %.3f | %.3f | %.3f | %.3f | %.3f |\n" %
                (c, r["cores"], r["n"], r["K"], r["s"], r["flops"] / 1e9,
                 r["flops"] / r["s"] / 1e9, r["peak"],
                 100 * r["flops"] / r["s"] / 1e9 / r["peak"], ph["fwd"],
                 ph["goal"], ph["halo"],
                 sum(ph[p] for p in UPDATE_PHASES), ph["wait"]))


def table_phases(f, case):
    """phase x node seconds, the sum, flops and rate of one case"""
    r = RES[case]
    nodes = sorted(r["node"])
    f.write("### %s: seconds per iteration by phase and node\n\n"
            "| phase | %s | sum | GFLOP | GFLOP/s | of peak |\n|---|%s"
            "---|---|---|---|\n" % (case, " | ".join(str(l) for l in nodes),
                                     "---|" * len(nodes)))
    for p in PHASES + ["wait"]:
        t = r["phase"][p]
        fl = r["pflops"].get(p, 0.0)
        rate = "%.1f | %.0f%%" % (fl / t / 1e9, 100 * fl / t / 1e9 /
                                  r["peak"]) if fl > 0 and t > 0 else "- | -"
        f.write("| %s | %s | %.3f | %s | %s |\n" %
                (p, " | ".join("%.3f" % r["node"][l][p] for l in nodes), t,
                 "%.1f" % (fl / 1e9) if fl else "-", rate))
    f.write("| iteration | %s | %.3f | %.1f | %.1f | %.0f%% |\n\n" %
            (" | ".join("" for _ in nodes), r["s"], r["flops"] / 1e9,
             r["flops"] / r["s"] / 1e9,
             100 * r["flops"] / r["s"] / 1e9 / r["peak"]))


def report(path, start):
    """bench.md: the main tables, then every other row of the CSV"""
    with open(path, "w") as f:
        f.write("# make bench, %s%s\n\n## Trainer runs\n\n" %
                (start, " (quick mode)" if QUICK else ""))
        table_cases(f)
        f.write("\n")
        for c in ("sync_1r", "sync_2r"):
            table_phases(f, c)
        f.write("## Other measurements\n\n| case | metric | value | unit "
                "| note |\n|---|---|---|---|---|\n")
        for c, m, node, v, u, note in ROWS:
            if c not in RES:
                f.write("| %s | %s | %s | %s | %s |\n" % (c, m, v, u, note))


def main():
    os.makedirs(OUT, exist_ok=True)
    start = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    emit("machine", "load1_start", loadavg(), "load",
         note="1-minute load average when the benchmark started")
    emit("machine", "cores", CORES, "cores")
    emit("machine", "quick", 1 if QUICK else 0, "flag")
    emit("machine", "iterations_per_run", ITERS, "iterations",
         note="the first one is dropped from every mean")
    print("bench       %s, %d cores, load %.2f, %s mode, %d iterations per "
          "run, output %s" % (start, CORES, loadavg(),
                              "quick" if QUICK else "full", ITERS, OUT),
          flush=True)
    L, lG = 6, 6
    main_sets, widths = data_sets()
    K = int(MAIN_FRACTION * (N_TRAIN - VALID) + 0.5)
    case_peak()
    msg = case_msg(WIDTH, K)
    res = case_scaling(main_sets, L, lG, K)
    case_model(res, msg, L, lG, K)
    case_batch(main_sets, L, lG)
    case_width(widths, L, lG)
    two = res["sync_2r"]
    case_torch(two["accuracy"], two["train_s"] + two["eval_s"],
               two["cores"])
    case_projection(res, L)
    emit("machine", "load1_end", loadavg(), "load",
         note="1-minute load average when the benchmark ended")
    write_csv()
    report(os.path.join(OUT, "bench.md"), start)
    print("bench       done: %s/bench.csv, bench.md (load %.2f at the end)"
          % (OUT, loadavg()), flush=True)


if __name__ == "__main__":
    main()
