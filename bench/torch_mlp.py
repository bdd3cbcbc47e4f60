#!/usr/bin/python3
"""torch_mlp.py - the back-propagation baseline of make bench.

Trains the fully connected network nlpc_mpi learns, with back-propagation:
the same `--nodes` 784 x 784 weights with ReLU after each (in place of the
sNT), a 784 x 10 linear classifier on the last one (in place of the
linear SVM on the last node's outputs), cross-entropy, Adam. Same data as
the trainer: MNIST images standardised to zero mean and unit variance
each, 5,000 training images held out at random (as data.validation does),
the rest to learn from. It stops as soon as the test accuracy, checked
every `--check` mini-batches, reaches `--target`, and prints one line

    RESULT seconds_to_target=S test_accuracy=A epochs=E threads=T ...

with the wall-clock seconds from the first mini-batch to that check
(checks included, data loading not). This is a timing benchmark: the test
set is its stopping rule, so its accuracy is not a result to report as
generalisation; nlpc_mpi's own accuracies are chosen on validation.

usage: bench/torch_mlp.py --target 0.94 [--threads 2] [--data data/mnist]
"""
import argparse
import os
import struct
import sys
import time

import numpy as np
import torch


def read_idx(path):
    """an IDX file (raw or .gz) as a numpy array"""
    import gzip
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory, name):
    for suffix in ("", ".gz"):
        img = os.path.join(directory, name + "-images-idx3-ubyte" + suffix)
        lab = os.path.join(directory, name + "-labels-idx1-ubyte" + suffix)
        if os.path.exists(img) and os.path.exists(lab):
            x = read_idx(img).reshape(-1, 28 * 28).astype(np.float32)
            x -= x.mean(axis=1, keepdims=True)
            x /= x.std(axis=1, keepdims=True) + 1e-12
            return torch.from_numpy(x), torch.from_numpy(
                read_idx(lab).astype(np.int64))
    sys.exit("torch_mlp.py: no %s images in %s (run make data)" %
             (name, directory))


def network(nodes, width):
    layers = []
    for _ in range(nodes):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", type=float, required=True,
                    help="test accuracy to reach, as a fraction")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="torch threads (default: every core)")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--nodes", type=int, default=6)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--check", type=int, default=50,
                    help="mini-batches between test-accuracy checks")
    ap.add_argument("--max-epochs", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    x, y = load(a.data, "train")
    xt, yt = load(a.data, "t10k")
    perm = torch.randperm(len(x))
    x, y = x[perm[5000:]], y[perm[5000:]]
    model = network(a.nodes, x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    per_epoch = (len(x) + a.batch - 1) // a.batch
    steps = 0
    acc = 0.0
    t0 = time.time()
    while steps < a.max_epochs * per_epoch:
        order = torch.randperm(len(x))
        for b in range(per_epoch):
            idx = order[b * a.batch:(b + 1) * a.batch]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
            steps += 1
            if steps % a.check == 0:
                acc = accuracy(model, xt, yt)
                if acc >= a.target:
                    break
        if acc >= a.target:
            break
    seconds = time.time() - t0
    reached = acc >= a.target
    print("RESULT seconds_to_target=%s test_accuracy=%.4f epochs=%.3f "
          "threads=%d reached=%d target=%.4f steps=%d batch=%d" %
          ("%.2f" % seconds if reached else "nan", acc, steps / per_epoch,
           a.threads, reached, a.target, steps, a.batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
