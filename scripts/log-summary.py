#!/usr/bin/env python3
"""Summarise a run's log.csv: per node, the mean seconds per iteration its
rank computed (busy) and did not (the rest of the iteration: waiting for
messages, in the per-iteration decision, for a checkpoint), its share of
waiting, and the megabytes it sent per iteration.

usage: scripts/log-summary.py runs/<name>/log.csv [first_iteration]

Iterations before first_iteration (default 2: the first one includes
start-up) are left out.
"""
import csv
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with open(sys.argv[1], newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["iteration"]) >= first]
    if not rows:
        sys.exit("no iterations from %d on in %s" % (first, sys.argv[1]))
    nodes = sum(1 for k in rows[0] if k.startswith("wait_"))
    secs = sum(float(r["seconds"]) for r in rows) / len(rows)
    print("%d iterations from %d on, %.2f s per iteration" %
          (len(rows), first, secs))
    print("node  wait s  busy s  wait share  MB sent")
    for l in range(1, nodes + 1):
        busy = sum(float(r["busy_%d" % l]) for r in rows) / len(rows)
        wait = secs - busy
        sent = sum(float(r["sent_mb_%d" % l]) for r in rows) / len(rows)
        print("%4d  %6.2f  %6.2f  %9.0f%%  %7.0f" %
              (l, wait, busy, 100 * wait / (wait + busy), sent))


if __name__ == "__main__":
    main()
