#!/usr/bin/python3
"""test_plot.py - scripts/plot-run.py on real runs of bin/nlpc_mpi.

Trains configs/tiny.ini for a few iterations under mpirun (3 ranks, a
synthetic data set written here), plots the run, and checks the images
with an independent reader: the PNG structure with zlib (signature, chunk
checksums, IHDR, the inflated image size, IEND) and the pixels with
Pillow (an image of empty axes has no coloured pixel, one with data
lines has thousands). Bad input must fail with a clear message.

Prints cmocka's [ RUN ] / [ OK ] / [ FAILED ] lines, which tests/run.sh
counts; exits 1 when a case failed. Run from anywhere: it works in the
repository root, scratch files under tests/tmp/plot.
"""
import csv
import os
import random
import shutil
import struct
import subprocess
import sys
import traceback
import zlib

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = "tests/tmp/plot"
DATA = TMP + "/data"
PLOT = "scripts/plot-run.py"
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1",
           "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1",
           "OMPI_MCA_mpi_yield_when_idle": "1",
           "OPENBLAS_NUM_THREADS": "1"}
# the per-node columns that are timing or traffic, not objective terms
NOT_TERMS = ("wait", "busy", "sent_mb")
# black, grey and white have saturation 0: a figure of empty axes has no
# pixel of saturation >= SATURATED (of 255); the tiny runs' figures,
# drawn in matplotlib's default colours, have over 900 each
SATURATED = 64
COLOURED_MIN = 500


# --- the synthetic data set: 4 x 8 images, ten classes ---------------------

def write_images(path, n, rng):
    with open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 4, 8))
        for k in range(n):
            c = k % 10
            f.write(bytes(min(255, int(90 * rng.random() +
                                       (140 if (j * 7 + c * 3) % 10 < 3
                                        else 20)))
                          for j in range(32)))


def write_labels(path, n):
    with open(path, "wb") as f:
        f.write(struct.pack(">II", 0x801, n))
        f.write(bytes(k % 10 for k in range(n)))


def setup():
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(DATA)
    rng = random.Random(7)
    write_images(DATA + "/train-images-idx3-ubyte", 400, rng)
    write_labels(DATA + "/train-labels-idx1-ubyte", 400)
    write_images(DATA + "/t10k-images-idx3-ubyte", 100, rng)
    write_labels(DATA + "/t10k-labels-idx1-ubyte", 100)


# --- running things ---------------------------------------------------------

def run(cmd):
    """(exit status, stdout, stderr) of cmd, with the MPI environment."""
    env = dict(os.environ)
    for k, v in MPI_ENV.items():
        env.setdefault(k, v)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def train(out, *extra):
    cmd = ["mpirun", "--bind-to", "none", "-np", "3", "bin/nlpc_mpi",
           "--set", "data.dir=" + DATA, "--set", "output.dir=" + out,
           "--set", "train.iterations=4"]
    for e in extra:
        cmd += ["--set", e]
    rc, so, se = run(cmd + ["configs/tiny.ini"])
    check(rc == 0, "training failed (%d):\n%s%s" % (rc, so, se))


def plot(*args):
    return run([PLOT] + list(args))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


# --- what a good image is ---------------------------------------------------

def png_chunks(path):
    """[(type, data)] of a PNG file; asserts its signature and every
    chunk's CRC."""
    with open(path, "rb") as f:
        b = f.read()
    check(b[:8] == b"\x89PNG\r\n\x1a\n", "%s: no PNG signature" % path)
    chunks, i = [], 8
    while i < len(b):
        check(i + 8 <= len(b), "%s: truncated chunk header" % path)
        n, kind = struct.unpack(">I4s", b[i:i + 8])
        data = b[i + 8:i + 8 + n]
        check(len(b) >= i + 12 + n, "%s: truncated %s chunk" % (path, kind))
        crc, = struct.unpack(">I", b[i + 8 + n:i + 12 + n])
        check(zlib.crc32(kind + data) == crc, "%s: bad CRC in %s"
              % (path, kind))
        chunks.append((kind, data))
        i += 12 + n
    return chunks


def check_png(path):
    """A complete PNG with data drawn in colour; returns (width, height)."""
    chunks = png_chunks(path)
    check(chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND",
          "%s: chunks do not run from IHDR to IEND" % path)
    w, h, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    check(depth == 8 and channels, "%s: unexpected depth %d colour type %d"
          % (path, depth, colour))
    raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    check(len(raw) == h * (1 + w * channels),
          "%s: image data of %d bytes, not %d x %d pixels"
          % (path, len(raw), w, h))
    check(w >= 400 and h >= 300, "%s: only %d x %d pixels" % (path, w, h))
    with Image.open(path) as im:
        check(im.size == (w, h), "%s: Pillow reads another size" % path)
        sat = im.convert("RGB").convert("HSV").getchannel("S").histogram()
        coloured = sum(sat[SATURATED:])
    check(coloured >= COLOURED_MIN, "%s: %d coloured pixels: no data drawn?"
          % (path, coloured))
    return w, h


def pngs(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".png"))


def header(log):
    with open(log, newline="") as f:
        return next(csv.reader(f))


def expected_terms(log):
    """The objective terms of a log, in header order: every <term>_<node>
    column that is not timing (wait, busy, t_*) or traffic."""
    terms = []
    for h in header(log):
        term, _, node = h.rpartition("_")
        if node.isdigit() and term not in NOT_TERMS \
                and not term.startswith("t_") and term not in terms:
            terms.append(term)
    return terms


def line_of(text, start):
    hit = [ln for ln in text.splitlines() if ln.startswith(start)]
    check(len(hit) == 1, "no line starting %r in:\n%s" % (start, text))
    return hit[0]


# --- the cases --------------------------------------------------------------

def sync_run_gives_valid_pngs():
    run_dir = TMP + "/sync"
    train(run_dir)
    log = run_dir + "/log.csv"
    # without the monitor the trainer's val_acc column stays empty
    check("val_acc" in header(log), "log.csv lacks its val_acc column")
    rc, so, se = plot(run_dir)
    check(rc == 0, "plot-run.py failed (%d):\n%s%s" % (rc, so, se))
    out = run_dir + "/plots"
    check(pngs(out) == ["goal_error.png", "terms.png", "timing.png",
                        "val_acc.png"], "images written: %s" % pngs(out))
    for f in pngs(out):
        check_png(os.path.join(out, f))
    # no monitored point, only the final accuracies of summary.json
    check(line_of(so, "wrote %s/val_acc.png" % out).endswith(
        "0 measured iterations, 2 final marks"), so)
    terms = expected_terms(log)
    want = "wrote %s/terms.png: %d panels (%s), 3 nodes" % (
        out, len(terms), ", ".join(terms))
    check(want in so, "expected '%s' in:\n%s" % (want, so))
    check("busy/wait per node" in line_of(so, "wrote %s/timing.png" % out),
          "timing.png lacks the busy/wait split:\n" + so)


def async_run_with_val_acc_column():
    run_dir = TMP + "/async"
    train(run_dir, "train.mode=async", "eval.monitor_every=2")
    with open(run_dir + "/log.csv", newline="") as f:
        cells = [c for r in csv.reader(f) for c in r]
    check("" in cells, "an async run should leave terms of nodes that were"
          " not updated empty")
    out = run_dir + "/png"
    rc, so, se = plot("--out", out, run_dir + "/log.csv",
                      run_dir + "/summary.json")
    check(rc == 0, "plot-run.py failed (%d):\n%s%s" % (rc, so, se))
    check(pngs(out) == ["goal_error.png", "terms.png", "timing.png",
                        "val_acc.png"], "images written: %s" % pngs(out))
    for f in pngs(out):
        check_png(os.path.join(out, f))
    # the monitor measured iterations 2 and 4 of 4
    check(line_of(so, "wrote %s/val_acc.png" % out).endswith(
        "2 measured iterations, 2 final marks"), so)


def fails_clearly(args, message):
    rc, so, se = plot(*args)
    check(rc == 1, "exit status %d, not 1:\n%s%s" % (rc, so, se))
    check(message in se, "stderr lacks '%s':\n%s" % (message, se))
    check("Traceback" not in se, "a traceback, not a message:\n" + se)


def empty_log_is_an_error():
    d = TMP + "/empty"
    os.makedirs(d)
    open(d + "/log.csv", "w").close()
    fails_clearly([d], "log.csv is empty")
    check(not os.path.exists(d + "/plots") or not pngs(d + "/plots"),
          "images written for an empty log")


def log_without_rows_is_an_error():
    d = TMP + "/norows"
    os.makedirs(d)
    with open(d + "/log.csv", "w") as f:
        f.write(",".join(header(TMP + "/sync/log.csv")) + "\n")
    fails_clearly([d + "/log.csv"], "has a header but no rows")


def missing_files_are_errors():
    fails_clearly([TMP + "/nowhere"], "does not exist")
    os.makedirs(TMP + "/nolog")
    fails_clearly([TMP + "/nolog"], "no log.csv in")
    fails_clearly([TMP + "/sync", TMP + "/nolog/summary.json"],
                  "summary.json does not exist")


def help_explains_the_images():
    rc, so, se = plot("--help")
    check(rc == 0, "--help exited %d:\n%s" % (rc, se))
    for word in ("terms.png", "goal_error.png", "val_acc.png", "timing.png",
                 "--out", "summary.json"):
        check(word in so, "--help does not mention %s:\n%s" % (word, so))


CASES = [sync_run_gives_valid_pngs, async_run_with_val_acc_column,
         empty_log_is_an_error, log_without_rows_is_an_error,
         missing_files_are_errors, help_explains_the_images]


def main():
    os.chdir(ROOT)
    setup()
    print("[==========] Running %d test(s)." % len(CASES))
    failed = []
    for case in CASES:
        print("[ RUN      ] %s" % case.__name__, flush=True)
        try:
            case()
            print("[       OK ] %s" % case.__name__)
        except Exception:
            traceback.print_exc(file=sys.stdout)
            print("[  FAILED  ] %s" % case.__name__)
            failed.append(case.__name__)
    print("[==========] %d test(s) run." % len(CASES))
    print("[  PASSED  ] %d test(s)." % (len(CASES) - len(failed)))
    for name in failed:
        print("[  FAILED  ] %s" % name)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
