#!/usr/bin/env python3
"""Markdown table of finished runs, one row per output directory.

    scripts/results-table.py [--paper] [--test] DIR [DIR ...]

Reads DIR/summary.json (written at the end of a run) and prints data set,
network, schedule, iterations, validation accuracy and, with --test, test
accuracy, training seconds and seconds per iteration. With --paper the
paper's Table 1 accuracy for the same network is shown beside it.
Directories without summary.json are listed as "not finished".
"""
import argparse
import json
import os
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", metavar="DIR")
    ap.add_argument("--paper", action="store_true",
                    help="show the paper's Table 1 accuracy")
    ap.add_argument("--test", action="store_true",
                    help="show test accuracy and time (reported rows only)")
    a = ap.parse_args()

    head = ["run", "data", "nodes", "goal", "mode", "iterations",
            "validation %"]
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
        except FileNotFoundError:
            print("| %s | not finished |" % name + " |" * (len(head) - 2))
            continue
        except json.JSONDecodeError as e:
            sys.exit("results-table.py: %s is not valid JSON: %s" % (path, e))
        it = s["iterations_done"]
        ran = it - s.get("resumed_from_iteration", 0)
        row = [name, s["data_set"], str(s["nodes"]), str(s["goal_node"]),
               s["mode"], str(it), pct(s.get("validation_accuracy"))]
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
