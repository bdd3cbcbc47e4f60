#!/usr/bin/env python3
"""Markdown table of finished runs, one row per output directory.

    scripts/results-table.py [--paper] [--test] [--versus REF] DIR [DIR ...]
    scripts/results-table.py --chosen [--paper] DIR [DIR ...]
    scripts/results-table.py --best-iteration DIR

Reads DIR/summary.json (written at the end of a run) and prints data set,
network, schedule, iterations, validation accuracy and, with --test, test
accuracy, training seconds and seconds per iteration. With --paper the
paper's Table 1 accuracy for the same network is shown beside it; with
--versus REF, each run's validation accuracy minus that of run directory
REF (in points) and its seconds per iteration. Directories without
summary.json are listed as "not finished", or with the error of their
DIR.log when the run failed.

--best-iteration prints the iteration of DIR/log.csv with the highest
validation accuracy (the val_acc column of eval.monitor_every; the
earliest on a tie) among those with a checkpoint in DIR/checkpoints.
--chosen tabulates the networks of scripts/table1.sh: each row is the
checkpoint at that iteration evaluated again (DIR/best.eval.json), with
the training seconds up to it (summed from log.csv) and the command that
trains exactly those weights.
"""
import argparse
import csv
import json
import os
import re
import sys

# Table 1 of arXiv:1902.00016: (set, mode, nodes, goal) -> test accuracy %
PAPER = {
    ("mnist", "sync", 4, 4): 98.75, ("mnist", "sync", 6, 6): 99.28,
    ("mnist", "sync", 6, 3): 98.98, ("mnist", "async", 4, 4): 98.57,
    ("mnist", "async", 6, 6): 99.01, ("mnist", "async", 6, 3): 98.91,
    ("fashion", "sync", 4, 4): 92.61, ("fashion", "sync", 6, 6): 93.23,
    ("fashion", "sync", 6, 3): 91.98, ("fashion", "async", 4, 4): 91.07,
    ("fashion", "async", 6, 6): 93.15, ("fashion", "async", 6, 3): 92.03,
}


def pct(x):
    return "-" if x is None or x < 0 else "%.2f" % (100.0 * x)


def log_rows(d):
    with open(os.path.join(d, "log.csv"), newline="") as f:
        return list(csv.DictReader(f))


def best_iteration(d):
    """the checkpointed iteration with the best monitored validation
    accuracy; the earliest on a tie"""
    have = set()
    for name in os.listdir(os.path.join(d, "checkpoints")):
        m = re.fullmatch(r"ckpt-(\d{8})\.h5", name)
        if m:
            have.add(int(m.group(1)))
    best, best_acc = None, -1.0
    for r in log_rows(d):
        it = int(r["iteration"])
        if r.get("val_acc", "") == "" or it not in have:
            continue
        acc = float(r["val_acc"])
        if acc > best_acc:
            best, best_acc = it, acc
    if best is None:
        sys.exit("results-table.py: %s has no checkpointed iteration with "
                 "a validation accuracy (train with eval.monitor_every and "
                 "checkpoint.every)" % d)
    return best


def failure(d):
    """why DIR has no summary.json: the first error line of DIR.log (what
    ablations.sh and table1.sh keep), else: not finished"""
    try:
        with open(os.path.normpath(d) + ".log", errors="replace") as f:
            for ln in f:
                if ln.startswith("nlpc_mpi: "):
                    msg = ln[len("nlpc_mpi: "):].strip()
                    m = re.match(r"rank \d+, node (\d+): iteration (\d+): "
                                 r".*running away", msg)
                    if m:
                        return "ran away (node %s, iteration %s)" % m.groups()
                    return "failed: " + msg[:100]
    except OSError:
        pass
    return "not finished"


def command(s, it):
    cfg = "configs/%s_%s_%dn_g%d.ini" % (s["data_set"], s["mode"],
                                         s["nodes"], s["goal_node"])
    return "`mpirun -np %d bin/nlpc_mpi --set train.iterations=%d %s`" % (
        s["nodes"], it, cfg)


def chosen_table(dirs, paper):
    head = ["network", "data", "paper test %", "test %", "validation %",
            "iterations (chosen)", "train s", "s/iteration", "ranks",
            "command"]
    if not paper:
        head.remove("paper test %")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for d in dirs:
        name = os.path.basename(os.path.normpath(d))
        try:
            with open(os.path.join(d, "best.eval.json")) as f:
                e = json.load(f)
            with open(os.path.join(d, "summary.json")) as f:
                s = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            print("| %s | %s |" % (name, failure(d)) + " |" * (len(head) - 2))
            continue
        it = e["iteration"]
        secs = sum(float(r["seconds"]) for r in log_rows(d)
                   if int(r["iteration"]) <= it)
        net = "%s, %d nodes, goal at %d" % (s["mode"], s["nodes"],
                                            s["goal_node"])
        row = [net, s["data_set"]]
        if paper:
            key = (s["data_set"], s["mode"], s["nodes"], s["goal_node"])
            row.append("%.2f" % PAPER[key] if key in PAPER else "-")
        row += [pct(e["test_accuracy"]), pct(e["validation_accuracy"]),
                "%d (of %d)" % (it, s["iterations_done"]), "%.0f" % secs,
                "%.2f" % (secs / max(it, 1)), str(s["ranks"]),
                command(s, it)]
        print("| " + " | ".join(row) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", metavar="DIR")
    ap.add_argument("--best-iteration", action="store_true",
                    help="print the best checkpointed iteration of DIR")
    ap.add_argument("--chosen", action="store_true",
                    help="the table of scripts/table1.sh's chosen "
                    "checkpoints")
    ap.add_argument("--paper", action="store_true",
                    help="show the paper's Table 1 accuracy")
    ap.add_argument("--test", action="store_true",
                    help="show test accuracy and time (reported rows only)")
    ap.add_argument("--versus", metavar="REF",
                    help="add the validation accuracy's difference from "
                    "run directory REF, in points, and seconds per "
                    "iteration")
    a = ap.parse_args()
    if a.best_iteration:
        for d in a.dirs:
            print(best_iteration(d))
        return
    if a.chosen:
        chosen_table(a.dirs, a.paper)
        return

    head = ["run", "data", "nodes", "goal", "mode", "iterations",
            "validation %"]
    ref = None
    if a.versus:
        with open(os.path.join(a.versus, "summary.json")) as f:
            ref = json.load(f)
        head += ["vs %s" % os.path.basename(os.path.normpath(a.versus)),
                 "s/iteration"]
    if a.test:
        head += ["test %", "train s", "s/iteration", "ranks"]
    if a.paper:
        head += ["paper test %"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for d in a.dirs:
        path = os.path.join(d, "summary.json")
        name = os.path.basename(os.path.normpath(d))
        try:
            with open(path) as f:
                s = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            print("| %s | %s |" % (name, failure(d)) + " |" * (len(head) - 2))
            continue
        except json.JSONDecodeError as e:
            sys.exit("results-table.py: %s is not valid JSON: %s" % (path, e))
        it = s["iterations_done"]
        ran = it - s.get("resumed_from_iteration", 0)
        row = [name, s["data_set"], str(s["nodes"]), str(s["goal_node"]),
               s["mode"], str(it), pct(s.get("validation_accuracy"))]
        if ref:
            row += ["%+.2f" % (100.0 * (s["validation_accuracy"] -
                                        ref["validation_accuracy"])),
                    "%.2f" % (s["train_seconds"] / max(ran, 1))]
        if a.test:
            row += [pct(s["test_accuracy"]), "%.0f" % s["train_seconds"],
                    "%.2f" % (s["train_seconds"] / max(ran, 1)),
                    str(s["ranks"])]
        if a.paper:
            key = (s["data_set"], s["mode"], s["nodes"], s["goal_node"])
            row += ["%.2f" % PAPER[key] if key in PAPER else "-"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
