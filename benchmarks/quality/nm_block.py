"""What N:M and block pruning cost in quality, and what their products buy.

Quality: all-MiniLM-L6-v2 (36 encoder Linear weights; WordSim-353, SimLex-999
Spearman, Lee Pearson r) and the MNIST MLP 784-512-256-10 (test accuracy,
without and with 10 epochs of masked fine-tuning), pruned to 2:4, 4:8, 1:4
(groups along the input features) and to blocks 16/32/64 at 50/70/90%, with
unstructured magnitude pruning at the same sparsity beside them.

Speed: the products of MiniLM's Linear shapes (out x in: 384x384, 1536x384,
384x1536) with 4096 token columns (32 x 128) and 128 (batch 1), each layout
against dense BLAS on the same thread count, measured in one run.

python benchmarks/quality/nm_block.py [--part minilm|mnist|speed|all] [--threads 1]
    [--seeds 1] [--dense-output] [--json out.json]
"""

import argparse
import copy
import json
import time

import numpy as np

from wavesparse import BlockPruner, MagnitudePruner, NMPruner, formats, ops
from wavesparse._timing import median_seconds
from wavesparse.formats_nm import nm_spmm, to_nm

PATTERNS = [(2, 4), (4, 8), (1, 4)]
BLOCKS = [16, 32, 64]
LEVELS = [0.5, 0.7, 0.9]


def cases(axis):
    """(label, pruner) of every row; ``axis`` is the input-feature axis."""
    out = []
    for n, m in PATTERNS:
        out.append(("%d:%d" % (n, m), NMPruner(n, m, axis=axis)))
        out.append(("unstructured %g%%" % (100 * (1 - n / m)), MagnitudePruner(1 - n / m)))
    for level in LEVELS:
        for b in BLOCKS:
            out.append(("block %dx%d %g%%" % (b, b, 100 * level), BlockPruner(level, block=b)))
        out.append(("unstructured %g%%" % (100 * level), MagnitudePruner(level)))
    seen, unique = set(), []
    for label, pruner in out:
        if label not in seen:
            seen.add(label)
            unique.append((label, pruner))
    return unique


def minilm_part(results):
    from wavesparse.quality import minilm
    base = minilm.Encoder()
    dense = minilm.scores(base)
    keys = ("wordsim353", "simlex999", "lee")
    print("\nMiniLM (36 encoder Linears)            WordSim-353 rho   SimLex-999 rho    Lee r")
    print("%-38s %s" % ("dense", "  ".join("%7.4f          " % dense[k] for k in keys)))
    results["minilm dense"] = dense
    for label, pruner in cases(axis=1):
        pruner.include, pruner.exclude = (minilm.ENCODER_LINEAR["include"],
                                          minilm.ENCODER_LINEAR["exclude"])
        pruned, _ = pruner.prune_model(base.w)
        r = minilm.scores(minilm.Encoder(pruned))
        results["minilm " + label] = r
        print("%-38s %s" % (label, "  ".join("%7.4f (%+.4f)" % (r[k], r[k] - dense[k])
                                              for k in keys)), flush=True)


def mnist_part(results, seeds, dense_output=False):
    from wavesparse.quality import mlp
    data = mlp.load("mnist")
    rows = {}
    for seed in range(seeds):
        dense = mlp.train_dense(data, seed)
        rows.setdefault("dense", []).append((mlp.accuracy(dense, data),) * 2)
        for label, pruner in cases(axis=0):  # coefs_ are (in, out)
            clf = copy.deepcopy(dense)
            layers = clf.coefs_[:-1] if dense_output else clf.coefs_
            pruned, masks = pruner.prune_model({i: w for i, w in enumerate(layers)})
            for i, w in pruned.items():
                clf.coefs_[i] = w
            before = mlp.accuracy(clf, data)
            mlp.fit_epochs(clf, data, 10, np.random.default_rng(seed + 1000), masks)
            rows.setdefault(label, []).append((before, mlp.accuracy(clf, data)))
    print("\nMNIST MLP 784-512-256-10, %d seed(s)%s: test accuracy %% one-shot, "
          "after 10 epochs masked fine-tuning"
          % (seeds, ", output layer dense" if dense_output else ""))
    for label, values in rows.items():
        a = 100 * np.mean(values, axis=0)
        print("%-26s %6.2f  %6.2f" % (label, a[0], a[1]))
        results["mnist%s %s" % (" dense-output" if dense_output else "", label)] = a.tolist()


def layouts(w, level):
    """(label, product) of every layout of ``w`` at ``level``."""
    out = []
    pruned, _ = MagnitudePruner(level).prune_layer(w)
    A = formats.to_csr(pruned)
    out.append(("csr %g%%" % (100 * level), lambda X, A=A: ops.spmm(A, X, backend="cpu")))
    for b in BLOCKS:
        p, _ = BlockPruner(level, block=b).prune_layer(w)
        A = formats.to_bsr(p, b)
        out.append(("bsr%d %g%%" % (b, 100 * level),
                    lambda X, A=A: ops.spmm(A, X, backend="cpu")))
    return out


def speed_part(results):
    rng = np.random.default_rng(0)
    print("\nProducts, float32, MiniLM shapes; ratio = dense BLAS time / layout time "
          "(>1: faster than dense)")
    for out_f, in_f in [(384, 384), (1536, 384), (384, 1536)]:
        w = rng.standard_normal((out_f, in_f)).astype(np.float32)
        for columns in (4096, 128):
            X = rng.standard_normal((in_f, columns)).astype(np.float32)
            dense = median_seconds(lambda: w @ X, repeat=5)
            entries = []
            for n, m in PATTERNS:
                A = to_nm(NMPruner(n, m).prune_layer(w)[0], n, m)
                entries.append(("%d:%d nm" % (n, m), lambda X, A=A: nm_spmm(A, X, backend="cpu")))
                C = formats.to_csr(A.toarray())
                entries.append(("%d:%d csr" % (n, m), lambda X, C=C: ops.spmm(C, X, backend="cpu")))
            for level in LEVELS:
                entries += layouts(w, level)
            line = []
            for label, product in entries:
                seconds = median_seconds(lambda: product(X), repeat=5)
                ratio = dense / seconds
                results["speed %dx%d N=%d %s" % (out_f, in_f, columns, label)] = ratio
                line.append("%s %.2fx" % (label, ratio))
            print("%dx%d N=%d dense %.2f ms: %s" % (out_f, in_f, columns, 1e3 * dense,
                                                    ", ".join(line)), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["minilm", "mnist", "speed", "all"], default="all")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--dense-output", action="store_true",
                   help="MNIST: leave the 256x10 output layer dense")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    from threadpoolctl import threadpool_limits
    start = time.perf_counter()
    results = {}
    with threadpool_limits(args.threads):
        if args.part in ("speed", "all"):
            speed_part(results)
        if args.part in ("mnist", "all"):
            mnist_part(results, args.seeds, args.dense_output)
        if args.part in ("minilm", "all"):
            minilm_part(results)
    print("\n%.0f s" % (time.perf_counter() - start))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
