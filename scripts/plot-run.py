#!/usr/bin/python3
"""Plot one nlpc_mpi run as PNG images.

usage: scripts/plot-run.py [--out DIR] [--dpi N] RUN [SUMMARY]

RUN is a run's output directory (its [output] dir) or the log.csv in it;
SUMMARY is its summary.json, by default the one beside log.csv when there
is one (it names the run in the titles and gives the final accuracies).
The images go to DIR, by default a directory plots/ beside log.csv:

  terms.png       every per-node objective term (te, sparsity, goal, prop,
                  ge, frob, coher, logdet, J, cand, ge_rel and any other
                  the log holds), one panel per term, one line per node
  goal_error.png  the relative goal error at the goal node per iteration
  val_acc.png     the validation accuracy where the log measured it, with
                  the final validation and test accuracy of summary.json
                  (only when log.csv has a val_acc column)
  timing.png      seconds per iteration; per node, the mean busy and wait
                  seconds, the per-phase seconds (t_<phase>_<node>) and
                  the megabytes sent, for the columns the log holds

The columns are read from the header: per-node columns are <term>_<node>,
and an empty or nan cell means "not measured" (a node not updated in an
asynchronous iteration); such points are left out, and markers show the
iterations where a node was measured. A panel's y axis is logarithmic
when its values are positive and span two decades or more (symmetric-log
when they hold zeros or negatives and their magnitudes span two). Runs
headless (matplotlib's Agg backend). Needs Debian's python3-matplotlib
(make deps), hence Debian's /usr/bin/python3 rather than whichever python3
comes first on PATH.
"""
import argparse
import csv
import json
import math
import os
import re
import sys

try:
    import matplotlib
except ImportError:
    sys.exit("plot-run.py: error: %s has no matplotlib: run `make deps` "
             "(Debian's python3-matplotlib) and run this script with "
             "/usr/bin/python3" % sys.executable)
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
from matplotlib.ticker import (FixedLocator, MaxNLocator,  # noqa: E402
                               NullLocator)

PROG = "plot-run.py"
REQUIRED = ("iteration", "seconds", "goal_error", "updated")
PER_NODE = re.compile(r"^(.+)_([0-9]+)$")

# panel titles of the terms docs/algorithm.md (section 6) defines; a term
# not listed here is still plotted, under its column name
TERM_TITLES = {
    "te": r"te = $\|Y-Q\|^2$ (transform error)",
    "sparsity": r"sparsity = $\|Y\|_1$",
    "goal": r"goal = tr$((Y-Q)^T E)$",
    "prop": r"prop = tr$((Y-Q)^T P)$",
    "ge": r"ge = $\|E\|^2$",
    "frob": r"frob = $\|A\|^2$",
    "coher": r"coher = $\|AA^T-I\|^2$",
    "logdet": r"logdet = log det$(A^TA)$",
    "J": "J (forward update's objective)",
    "cand": "cand (winning candidate: 0 R, 1 K)",
    "ge_rel": r"ge_rel = $\|E\|^2/\|U\|^2$ (goal node)",
}


class PlotError(Exception):
    """A problem with the input, reported as one line and exit status 1."""


class RunLog:
    """log.csv as columns: cols[name] is a float array (nan: not measured),
    nodes[term][node] the per-node column of that term."""

    def __init__(self, path, header, rows):
        self.path = path
        self.cols = {h: np.array([r[i] for r in rows], dtype=float)
                     for i, h in enumerate(header)}
        self.it = self.cols["iteration"]
        self.nodes = {}
        for h in header:
            m = PER_NODE.match(h)
            if m:
                self.nodes.setdefault(m.group(1), {})[int(m.group(2))] = \
                    self.cols[h]
        self.node_ids = sorted({n for t in self.nodes.values() for n in t})
        self.other = [h for h in header
                      if h not in REQUIRED and not PER_NODE.match(h)]


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [-h] [--out DIR] [--dpi N] RUN [SUMMARY]")
    p.add_argument("run", metavar="RUN",
                   help="a run's output directory, or its log.csv")
    p.add_argument("summary", metavar="SUMMARY", nargs="?",
                   help="its summary.json (default: the one beside log.csv,"
                        " if any)")
    p.add_argument("--out", metavar="DIR",
                   help="where to write the PNG files (default: plots/"
                        " beside log.csv)")
    p.add_argument("--dpi", type=int, default=110,
                   help="resolution of the images (default 110)")
    args = p.parse_args(argv)
    if not 20 <= args.dpi <= 1000:
        p.error("--dpi %d is out of range: give 20 to 1000" % args.dpi)
    return args


def find_inputs(run, summary):
    """(log.csv path, summary.json path or None) for the command line."""
    if not os.path.exists(run):
        raise PlotError("%s does not exist: give a run's output directory "
                        "or its log.csv" % run)
    log = os.path.join(run, "log.csv") if os.path.isdir(run) else run
    if not os.path.isfile(log):
        raise PlotError("no log.csv in %s: is it a run's output directory"
                        " ([output] dir)?" % run)
    if summary is not None:
        if not os.path.isfile(summary):
            raise PlotError("%s does not exist: give the run's summary.json"
                            " or leave it out" % summary)
        return log, summary
    beside = os.path.join(os.path.dirname(log), "summary.json")
    return log, (beside if os.path.isfile(beside) else None)


def parse_cell(text, path, line, name):
    """A cell as a float; empty means not measured (nan)."""
    text = text.strip()
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise PlotError("%s line %d, column %s: '%s' is not a number"
                        % (path, line, name, text)) from None


def read_rows(path, header, reader):
    rows = []
    for rec in reader:
        line = reader.line_num
        if not rec:
            continue
        if len(rec) != len(header):
            rows.append((line, None))
            continue
        rows.append((line, [parse_cell(c, path, line, h)
                            for c, h in zip(rec, header)]))
    # a run writes one row per iteration and may be writing the last one
    if rows and rows[-1][1] is None:
        print("WARNING: %s: the last row (line %d) is incomplete (the run is"
              " still writing?); left out" % (path, rows[-1][0]))
        rows.pop()
    for line, r in rows:
        if r is None:
            raise PlotError("%s line %d has a different number of cells than"
                            " the header (%d)" % (path, line, len(header)))
    return [r for _, r in rows]


def read_log(path):
    """RunLog of path; PlotError when it is empty, has no rows or is not
    an nlpc_mpi log."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise PlotError("%s is empty: the run has not started writing it"
                            " (or it is not a log.csv)" % path)
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise PlotError("%s has no column %s: is it an nlpc_mpi log.csv?"
                            % (path, ", ".join(missing)))
        rows = read_rows(path, header, reader)
    if not rows:
        raise PlotError("%s has a header but no rows: the run has not"
                        " finished an iteration yet" % path)
    return RunLog(path, header, rows)


def read_summary(path):
    if path is None:
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise PlotError("cannot read %s (%s): give a complete summary.json"
                        " or leave it out" % (path, e)) from None


def run_title(log, summary):
    """'<run>: <data set>, <nodes> nodes, goal node <g>, <mode>'."""
    name = os.path.basename(os.path.dirname(os.path.abspath(log.path)))
    parts = []
    if "data_set" in summary:
        parts.append(str(summary["data_set"]))
    parts.append("%d nodes" % summary.get("nodes", len(log.node_ids)))
    if "width" in summary:
        parts.append("width %s" % summary["width"])
    if "goal_node" in summary:
        parts.append("goal node %s" % summary["goal_node"])
    if "mode" in summary:
        parts.append(str(summary["mode"]))
    if summary.get("resumed_from_iteration"):
        parts.append("resumed at %s" % summary["resumed_from_iteration"])
    return "%s: %s" % (name, ", ".join(parts))


def set_scale(ax, values):
    """Log y axis for positive values spanning two decades or more,
    symlog for values with zeros or negatives whose magnitudes do, else
    linear (over less, log axes show too few labelled ticks)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return
    mag = np.abs(v[v != 0])
    if (v > 0).all() and v.max() >= 100 * v.min():
        ax.set_yscale("log")
    elif mag.size and mag.max() >= 100 * mag.min():
        lo = math.floor(math.log10(mag.min()))
        ax.set_yscale("symlog", linthresh=10.0 ** lo)
        ax.yaxis.set_major_locator(FixedLocator(symlog_ticks(v, lo)))
        ax.yaxis.set_minor_locator(NullLocator())


def symlog_ticks(v, lo):
    """0 and at most about six powers of ten from 10^lo to the largest
    magnitude, on the signs v has (symlog's own locator also ticks inside
    the linear part, where labels overlap the one of 0)."""
    hi = math.ceil(math.log10(np.abs(v).max()))
    step = max(1, math.ceil((hi - lo + 1) / 6))
    powers = [10.0 ** k for k in range(lo, hi + 1, step)]
    ticks = [0.0]
    if (v > 0).any():
        ticks += powers
    if (v < 0).any():
        ticks += [-p for p in powers]
    return sorted(ticks)


def node_colours(node_ids):
    cmap = plt.get_cmap("tab10" if len(node_ids) <= 10 else "viridis")
    n = max(len(node_ids) - 1, 1)
    return {l: cmap(i if len(node_ids) <= 10 else i / n)
            for i, l in enumerate(node_ids)}


def plot_series(ax, x, y, marker=True, **kw):
    """y against x where y is measured; markers show where."""
    ok = np.isfinite(y)
    ax.plot(x[ok], y[ok], marker="o" if marker else None, markersize=3,
            linewidth=1.2, **kw)


def style_axis(ax, log, title, ylabel=None):
    """Title and labels; the x axis spans every iteration of the log, also
    where a panel's own points do not."""
    pad = max(0.5, 0.02 * (log.it[-1] - log.it[0]))
    ax.set_xlim(log.it[0] - pad, log.it[-1] + pad)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("iteration", fontsize=9)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    if len(log.it) > 1:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.set_xticks(log.it)
    ax.tick_params(labelsize=8)
    ax.grid(True, which="major", alpha=0.3)


def save(fig, out, name, dpi, what):
    path = os.path.join(out, name)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print("wrote %s: %s" % (path, what))


def is_timing(term):
    return term in ("wait", "busy") or term.startswith("t_")


def is_traffic(term):
    return term.endswith("_mb")


def measured(log, term):
    return any(np.isfinite(c).any() for c in log.nodes[term].values())


def objective_terms(log):
    """Per-node terms that are neither timing nor traffic, in log order;
    those never measured are reported and left out."""
    terms = [t for t in log.nodes if not is_timing(t) and not is_traffic(t)]
    empty = [t for t in terms if not measured(log, t)]
    if empty:
        print("not plotted (no values in the log): %s" % ", ".join(empty))
    return [t for t in terms if t not in empty]


def plot_terms(log, title, out, dpi):
    terms = objective_terms(log)
    if not terms:
        print("no objective terms in %s ([output] log_terms = false?):"
              " terms.png not written" % log.path)
        return
    ncol = 3 if len(terms) <= 9 else 4
    nrow = -(-len(terms) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.3 * ncol, 3.0 * nrow),
                             squeeze=False)
    colours = node_colours(log.node_ids)
    marker = len(log.it) <= 60 or log.cols["updated"].min() < len(
        log.node_ids)
    for ax, term in zip(axes.flat, terms):
        cols = log.nodes[term]
        for l in sorted(cols):
            plot_series(ax, log.it, cols[l], marker, color=colours[l],
                        label="node %d" % l)
        set_scale(ax, np.concatenate(list(cols.values())))
        style_axis(ax, log, TERM_TITLES.get(term, term))
    for ax in axes.flat[len(terms):]:
        ax.remove()
    handles = [plt.Line2D([], [], color=colours[l], marker="o",
                          markersize=4, label="node %d" % l)
               for l in log.node_ids]
    fig.legend(handles=handles, loc="upper right",
               ncol=min(len(handles), 10), fontsize=9, frameon=False)
    fig.suptitle("%s\nobjective terms per node, per sample (markers: "
                 "iterations where the node was updated)" % title,
                 x=0.01, ha="left", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / (3.0 * nrow)))
    save(fig, out, "terms.png", dpi,
         "%d panels (%s), %d nodes" % (len(terms), ", ".join(terms),
                                        len(log.node_ids)))


def plot_goal_error(log, title, out, dpi):
    y = log.cols["goal_error"]
    if not np.isfinite(y).any():
        print("goal_error has no values in %s: goal_error.png not written"
              % log.path)
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    plot_series(ax, log.it, y, len(log.it) <= 60, color="C3")
    set_scale(ax, y)
    style_axis(ax, log, title, r"$\|E\|^2 / \|U\|^2$ at the goal node")
    fig.suptitle("relative goal error", fontsize=11)
    fig.tight_layout()
    n = int(np.isfinite(y).sum())
    save(fig, out, "goal_error.png", dpi, "%d measured iterations" % n)


def as_percent(v):
    """Accuracies as percentages: fractions (all <= 1) are scaled."""
    v = np.asarray(v, dtype=float)
    fin = v[np.isfinite(v)]
    return v * 100 if fin.size and fin.max() <= 1.0 else v


def final_marks(ax, log, summary):
    """The summary's final validation and test accuracy, at the last
    iteration; the number of marks made."""
    x = summary.get("iterations_done", log.it[-1])
    marks = (("validation_accuracy", "final validation (SVM)", "*", "C2"),
             ("test_accuracy", "final test (SVM)", "D", "C1"))
    n = 0
    for key, label, shape, colour in marks:
        v = summary.get(key)
        if isinstance(v, (int, float)) and v >= 0:
            p = float(as_percent([v])[0])
            ax.plot([x], [p], shape, color=colour, markersize=10,
                    linestyle="none", label="%s %.2f%%" % (label, p))
            n += 1
    return n


def plot_val_acc(log, summary, title, out, dpi):
    if "val_acc" not in log.cols:
        return
    y = as_percent(log.cols["val_acc"])
    n = int(np.isfinite(y).sum())
    if n == 0 and not summary:
        print("val_acc has no values in %s: val_acc.png not written"
              % log.path)
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    plot_series(ax, log.it, y, True, color="C0",
                label="validation during training")
    marks = final_marks(ax, log, summary)
    style_axis(ax, log, title, "accuracy (%)")
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("validation accuracy", fontsize=11)
    fig.tight_layout()
    save(fig, out, "val_acc.png", dpi,
         "%d measured iterations, %d final marks" % (n, marks))


def steady(log):
    """The rows the bar charts average: all but the first (which includes
    the start-up) when there are several."""
    return log.it > log.it[0] if len(log.it) > 1 else log.it == log.it[0]


def steady_mean(log, col):
    """col's mean over the steady rows where it was measured, else 0."""
    v = col[steady(log)]
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else 0.0


def stacked_bars(ax, log, parts, xlabel, title):
    """One horizontal bar per node, stacked from the given terms' means."""
    y = np.arange(len(log.node_ids))
    left = np.zeros(len(y))
    for i, term in enumerate(parts):
        cols = log.nodes[term]
        vals = [steady_mean(log, cols[l]) if l in cols else 0.0
                for l in log.node_ids]
        ax.barh(y, vals, left=left, color="C%d" % i, label=term)
        left += vals
    it = log.it[steady(log)]
    span = ("iterations %d-%d" % (it[0], it[-1]) if len(it) > 1
            else "iteration %d" % it[0])
    ax.set_yticks(y, ["node %d" % l for l in log.node_ids], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_title("%s, mean over %s" % (title, span), fontsize=10)
    ax.tick_params(labelsize=8)


def side_legend(ax):
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1),
              frameon=False)


def timing_panels(log):
    """(draw function, ...) for the timing figure: seconds per iteration,
    then whichever per-node timing and traffic columns the log holds."""
    panels = [plot_seconds]
    if "busy" in log.nodes and "wait" in log.nodes:
        panels.append(plot_busy_wait)
    if [t for t in log.nodes if t.startswith("t_") and measured(log, t)]:
        panels.append(plot_phases)
    if [t for t in log.nodes if is_traffic(t) and measured(log, t)]:
        panels.append(plot_traffic)
    return panels


def plot_seconds(ax, log):
    plot_series(ax, log.it, log.cols["seconds"], len(log.it) <= 60,
                color="C0")
    ax.set_ylim(bottom=0)
    style_axis(ax, log, "seconds per iteration", "s")
    return "seconds per iteration"


def plot_busy_wait(ax, log):
    stacked_bars(ax, log, ["busy", "wait"], "s per iteration",
                 "busy and waiting, per node's rank")
    whole = steady_mean(log, log.cols["seconds"])
    ax.axvline(whole, color="k", linestyle="--", linewidth=1,
               label="whole\niteration")
    side_legend(ax)
    return "busy/wait per node"


def plot_phases(ax, log):
    phases = [t for t in log.nodes if t.startswith("t_") and
              measured(log, t)]
    stacked_bars(ax, log, phases, "s per iteration", "phases")
    side_legend(ax)
    return "phases (%s)" % ", ".join(phases)


def plot_traffic(ax, log):
    terms = [t for t in log.nodes if is_traffic(t) and measured(log, t)]
    stacked_bars(ax, log, terms, "MB per iteration", "sent by the rank")
    side_legend(ax)
    return ", ".join(terms)


def plot_timing(log, title, out, dpi):
    panels = timing_panels(log)
    height = max(2.6, 0.3 * len(log.node_ids) + 1.3)
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(9, 0.6 + height * len(panels)))
    what = [draw(ax, log) for draw, ax in zip(panels, axes.flat)]
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save(fig, out, "timing.png", dpi, "; ".join(what))


def main(argv):
    args = parse_args(argv)
    try:
        log_path, summary_path = find_inputs(args.run, args.summary)
        log = read_log(log_path)
        summary = read_summary(summary_path)
    except (PlotError, OSError) as e:
        sys.exit("%s: error: %s" % (PROG, e))
    if summary_path is None:
        print("no summary.json beside %s: titles without data set and mode"
              % log_path)
    out = args.out or os.path.join(os.path.dirname(log_path), "plots")
    os.makedirs(out, exist_ok=True)
    title = run_title(log, summary)
    plot_terms(log, title, out, args.dpi)
    plot_goal_error(log, title, out, args.dpi)
    plot_val_acc(log, summary, title, out, args.dpi)
    plot_timing(log, title, out, args.dpi)
    ignored = [h for h in log.other if h != "val_acc"]
    if ignored:
        print("columns not plotted: %s" % ", ".join(ignored))


if __name__ == "__main__":
    main(sys.argv[1:])
