"""Per-layer budgets on the MNIST MLP (784-512-256-10): one-shot and fine-tuned.

The three weight matrices of one seed's dense model are pruned to 90/95/98%
by each budget of ``wavesparse.sensitivity`` (magnitude scores), then
fine-tuned for ``--epochs`` epochs with the masks held.  The sensitivity
scan's score is minus the log loss on the first 1000 training images (the
test set is never scored before the final evaluation).

python benchmarks/quality/budgets_mnist.py [--seed 0] [--epochs 10] [--json out.json]
"""

import argparse
import copy
import json
import time

import numpy as np

from wavesparse import MagnitudePruner
from wavesparse.quality import mlp
from wavesparse.sensitivity import allocate, scan

BUDGETS = ["uniform", "global", "erk", "owl", "sensitivity"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs")
    p.add_argument("--levels", type=float, nargs="+", default=[0.9, 0.95, 0.98])
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    start = time.perf_counter()
    from threadpoolctl import threadpool_limits
    from sklearn.metrics import log_loss
    with threadpool_limits(1):
        data = mlp.load("mnist")
        dense = mlp.train_dense(data, args.seed)
        weights = {"coefs_%d" % i: w for i, w in enumerate(dense.coefs_)}
        x_score, y_score = data.x_train[:1000], data.y_train[:1000]

        def train_log_loss(w):
            clf = copy.deepcopy(dense)
            clf.coefs_ = [w["coefs_%d" % i] for i in range(len(clf.coefs_))]
            return -log_loss(y_score, clf.predict_proba(x_score), labels=data.classes)

        table = scan(weights, train_log_loss,
                     sparsities=(0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99), progress=False)
        print(table, flush=True)
        base = mlp.accuracy(dense, data)
        print("dense test accuracy %.2f%%" % (100 * base))
        print("%-12s %6s  %-24s %-24s %s" % ("budget", "level", "one-shot (change)",
                                               "+ %d ep. FT (change)" % args.epochs,
                                               "layer sparsities"))
        results = {"dense": base, "scan": table.to_dict()}
        for level in args.levels:
            for method in BUDGETS:
                plan = allocate(level, weights, method, table)
                clf = copy.deepcopy(dense)
                pruned, masks = MagnitudePruner(plan=plan).prune_model(weights)
                clf.coefs_ = [pruned["coefs_%d" % i] for i in range(len(clf.coefs_))]
                before = mlp.accuracy(clf, data)
                mlp.fit_epochs(clf, data, args.epochs, np.random.default_rng(args.seed + 1000),
                               {i: masks["coefs_%d" % i] for i in range(len(clf.coefs_))})
                after = mlp.accuracy(clf, data)
                results["%g %s" % (level, method)] = {"one_shot": before, "finetuned": after,
                                                      "plan": plan.layers}
                print("%-12s %5.0f%%  %6.2f%% (%+6.2f)         %6.2f%% (%+6.2f)         %s"
                      % (method, 100 * level, 100 * before, 100 * (before - base),
                         100 * after, 100 * (after - base),
                         " ".join("%.3f" % plan.layers[n] for n in weights)), flush=True)
    print("%.0f s" % (time.perf_counter() - start))
    if args.json:
        with open(args.json + ".part", "w") as f:
            json.dump(results, f, indent=1)
        import os
        os.replace(args.json + ".part", args.json)


if __name__ == "__main__":
    main()
