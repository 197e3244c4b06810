#!/usr/bin/env python3
"""The study's network in PyTorch (eager) or TensorFlow (v1 graph + Session), for timing next to
handprop. Run on demand only (`cargo xtask compare` calls it; never from `cargo test`).

Network, as handprop's (docs/ARCHITECTURE.md): 784-H-H-H-H-10 dense layers without biases,
arctan after every layer (the output layer too), p = softmax(a_5), cost
C = sum_i sum_c -[y log p + (1 - y) log(1 - p)] (summed over the batch and the classes),
weights N(0, 1) unscaled, Adam (lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8), batch 1000 over
55,000 training images, and after every epoch the accuracy on the 55,000 training and 10,000 test
images. One thread (intra- and inter-op), as handprop's one cell per core.

Data: real MNIST from the four IDX .gz files in --mnist DIR (or $HANDPROP_MNIST_DIR), the study's
split (first 55,000 training images); without it, synthetic data of the same shapes (timing only).

Output, one line per epoch (parsed by `cargo xtask compare`):
    epoch <i> cpu_s <process CPU s> wall_s <s> train_acc <f> test_acc <f>
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np

BATCH = 1000
N_TRAIN = 55_000


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        sys.exit(f"{path}: {arr.size} values for dims {dims}")
    return arr.reshape(dims)


def load(mnist_dir):
    if mnist_dir:
        tr_x = read_idx(os.path.join(mnist_dir, "train-images-idx3-ubyte.gz"))
        tr_y = read_idx(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"))
        te_x = read_idx(os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz"))
        te_y = read_idx(os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz"))
        x = tr_x[:N_TRAIN].reshape(N_TRAIN, 784).astype(np.float32) / 255.0
        xt = te_x.reshape(-1, 784).astype(np.float32) / 255.0
        return x, tr_y[:N_TRAIN].astype(np.int64), xt, te_y.astype(np.int64)
    rng = np.random.default_rng(7)
    x = rng.random((N_TRAIN, 784), dtype=np.float32)
    xt = rng.random((10_000, 784), dtype=np.float32)
    return x, rng.integers(0, 10, N_TRAIN), xt, rng.integers(0, 10, 10_000)


def onehot(labels):
    y = np.zeros((labels.size, 10), dtype=np.float32)
    y[np.arange(labels.size), labels] = 1.0
    return y


def run_torch(args, x, lab, xt, labt):
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    gen = torch.Generator().manual_seed(1)
    widths = [784] + [args.hidden] * 4 + [10]
    ws = [torch.randn(widths[i], widths[i + 1], generator=gen).requires_grad_() for i in range(5)]
    opt = torch.optim.Adam(ws, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    xs, ys = torch.from_numpy(x), torch.from_numpy(onehot(lab))
    xts = torch.from_numpy(xt)

    def forward(a):
        for w in ws:
            a = torch.atan(a @ w)
        return torch.softmax(a, dim=1)

    def correct(xx, labels):
        with torch.no_grad():
            n = 0
            for s in range(0, xx.shape[0], 5000):
                p = forward(xx[s:s + 5000])
                n += int((p.argmax(1).numpy() == labels[s:s + 5000]).sum())
            return n

    for epoch in range(args.epochs):
        c0, t0 = time.process_time(), time.perf_counter()
        for s in range(0, N_TRAIN, BATCH):
            p = forward(xs[s:s + BATCH])
            y = ys[s:s + BATCH]
            cost = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()
            opt.zero_grad(set_to_none=False)
            cost.backward()
            opt.step()
        tr, te = correct(xs, lab), correct(xts, labt)
        report(epoch, c0, t0, tr / N_TRAIN, te / xt.shape[0])


def run_tf(args, x, lab, xt, labt):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    widths = [784] + [args.hidden] * 4 + [10]
    xp = tf1.placeholder(tf.float32, [None, 784])
    yp = tf1.placeholder(tf.float32, [None, 10])
    ws = [tf1.Variable(tf1.random_normal([widths[i], widths[i + 1]], seed=i + 1)) for i in range(5)]
    a = xp
    for w in ws:
        a = tf.atan(tf.matmul(a, w))
    p = tf.nn.softmax(a)
    cost = -tf.reduce_sum(yp * tf1.log(p) + (1 - yp) * tf1.log(1 - p))
    train = tf1.train.AdamOptimizer(1e-3, 0.9, 0.999, 1e-8).minimize(cost)
    pred = tf.argmax(p, 1)
    cfg = tf1.ConfigProto(intra_op_parallelism_threads=args.threads,
                          inter_op_parallelism_threads=1)
    y = onehot(lab)
    with tf1.Session(config=cfg) as sess:
        sess.run(tf1.global_variables_initializer())

        def correct(xx, labels):
            n = 0
            for s in range(0, xx.shape[0], 5000):
                n += int((sess.run(pred, {xp: xx[s:s + 5000]}) == labels[s:s + 5000]).sum())
            return n

        for epoch in range(args.epochs):
            c0, t0 = time.process_time(), time.perf_counter()
            for s in range(0, N_TRAIN, BATCH):
                sess.run(train, {xp: x[s:s + BATCH], yp: y[s:s + BATCH]})
            tr, te = correct(x, lab), correct(xt, labt)
            report(epoch, c0, t0, tr / N_TRAIN, te / xt.shape[0])


def report(epoch, c0, t0, train_acc, test_acc):
    print(f"epoch {epoch} cpu_s {time.process_time() - c0:.3f} wall_s {time.perf_counter() - t0:.3f} "
          f"train_acc {train_acc:.4f} test_acc {test_acc:.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--framework", choices=["torch", "tf"], required=True)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mnist", default=os.environ.get("HANDPROP_MNIST_DIR"),
                    help="directory with the four MNIST .gz files (default: synthetic data)")
    args = ap.parse_args()
    x, lab, xt, labt = load(args.mnist)
    (run_torch if args.framework == "torch" else run_tf)(args, x, lab, xt, labt)


if __name__ == "__main__":
    main()
