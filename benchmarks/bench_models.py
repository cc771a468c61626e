"""Pruned real models end to end on wavesparse.runtime, in one run.

MiniLM (all-MiniLM-L6-v2) at 32 x 128 and 1 x 128 tokens, and the MNIST MLP
(784-512-256-10, scikit-learn, 4000 training images) at batch 256 and 1:
dense (the same runtime with OpenBLAS Linears, BLAS on all threads and on
one; the faster is the reference), unstructured 70 / 90% (CSR), block 32x32
70 / 90% (BSR) and structured 50% (heads and FFN units / hidden units
removed, physically smaller, dense).  Each row gives its quality beside its
speed: Lee r and WordSim-353 Spearman for MiniLM, test accuracy for the MLP
(pruned MLPs are fine-tuned with their masks for --finetune epochs).  The
plain numpy forward (the quality harness's former code) is a second
reference.  Ratios are the reference's time over the row's (above 1:
faster); medians of --repeat runs.  The machine is shared: state the load.

python benchmarks/bench_models.py [--quick] [--json out.json] [--plot out.png] [--profile]
"""

import argparse
import copy
import json
import os

import numpy as np
from threadpoolctl import threadpool_limits

from wavesparse import formats, io
from wavesparse._timing import median_seconds
from wavesparse.formats_nm import to_nm
from wavesparse.pruning import BlockPruner, MagnitudePruner, NMPruner, StructuredPruner, propagate
from wavesparse.quality import minilm
from wavesparse.quality import mlp as mlp_quality
from wavesparse.runtime import MLP, Encoder, reference
from wavesparse.runtime.encoder import PartTimer
from wavesparse.runtime.shrink import shrink_encoder

from _harness import blas_info


def median_ms(fn, repeat):
    """Median milliseconds after one warm-up run, with no pause before it: a
    model's forward follows numpy's own calls, as in a user's program."""
    return 1e3 * median_seconds(fn, repeat, settle=0.0)


# ------------------------------------------------------------------ MiniLM

def hardware_variants(weights, names):
    """The hardware-shaped layouts of the N:M and block issue: 2:4 and 1:4 in
    N:M storage, and exact 64x64 blocks at 90% (BSR)."""
    out = {}
    for n, m in ((2, 4), (1, 4)):
        pruned, _ = NMPruner(n, m).prune_model({k: weights[k] for k in names})
        w = dict(weights)
        w.update({k: to_nm(v, n, m) for k, v in pruned.items()})
        out["%d:%d (N:M)" % (n, m)] = w
    pruner = BlockPruner(0.9, block=64, norm="l2")
    w = dict(weights)
    for k in names:
        _, keep = pruner.prune_layer(weights[k])
        w[k] = formats.to_bsr(np.where(keep, weights[k], np.float32(0)), 64)
    out["block 64x64 90% (BSR)"] = w
    return out


def minilm_variants(weights, config, quick, hardware=False):
    names = [k for k in weights if k.startswith("encoder.layer.") and k.endswith(".weight")
             and "LayerNorm" not in k]
    out = {"dense": weights}
    for level in ([0.9] if quick else [0.7, 0.9]):
        pruned, _ = MagnitudePruner(level).prune_model({k: weights[k] for k in names})
        w = dict(weights)
        w.update({k: formats.to_csr(v) for k, v in pruned.items()})
        out["unstructured %d%% (CSR)" % round(100 * level)] = w
    for level in ([0.9] if quick else [0.7, 0.9]):
        pruner = BlockPruner(level, block=32, norm="l2")
        w = dict(weights)
        for k in names:
            _, keep = pruner.prune_layer(weights[k])
            w[k] = formats.to_bsr(np.where(keep, weights[k], np.float32(0)), 32)
        out["block 32x32 %d%% (BSR)" % round(100 * level)] = w
    out["structured 50% (smaller)"] = shrink_encoder(weights, config, 0.5)
    if hardware:
        out.update(hardware_variants(weights, names))
    return out


def bench_minilm(args, rows):
    with open(os.path.join(minilm.model_dir(), "config.json")) as f:
        config = json.load(f)
    weights = io.load(minilm.checkpoint_path())
    rng = np.random.default_rng(0)
    shapes = [(32, 128), (1, 128)] if not args.quick else [(8, 128), (1, 128)]
    inputs = {s: (rng.integers(1000, 20000, s), np.ones(s, np.int64)) for s in shapes}
    profiles = {}
    for label, w in minilm_variants(weights, config, args.quick, args.hardware).items():
        if args.match and label != "dense" and not any(t in label for t in args.match):
            continue
        model = Encoder(w, config)
        row = {"model": "MiniLM", "variant": label}
        for shape, (ids, mask) in inputs.items():
            key = "%dx%d" % shape
            repeat = args.repeat if shape[0] == 1 else max(2, args.repeat // 3)
            row[key] = median_ms(lambda: model.forward(ids, mask), repeat)
            if all(layer.layout == "dense" for layer in model.linears()):
                with threadpool_limits(1, user_api="blas"):
                    row[key + " blas1"] = median_ms(lambda: model.forward(ids, mask), repeat)
            if label == "dense":
                row[key + " numpy"] = median_ms(
                    lambda: reference.encoder_forward(w, config, ids, mask), 1)
            if args.profile:
                timer = PartTimer()
                model.forward(ids, mask, timer)
                profiles["%s %s" % (label, key)] = {k: 1e3 * v for k, v in timer.seconds.items()}
        scores = minilm.scores(minilm.Encoder(w), limit=args.limit)
        row["quality"] = {"lee": scores["lee"], "wordsim353": scores["wordsim353"]}
        rows.append(row)
        print("  %s done" % label, flush=True)
    return profiles


# ------------------------------------------------------------------ MLP

def mlp_variants(clf, data, args):
    """(label, weights dict in scikit-learn naming, accuracy) per variant."""
    def as_weights(model, convert):
        w = {"coefs_.%d" % i: convert(i, c) for i, c in enumerate(model.coefs_)}
        w.update({"intercepts_.%d" % i: b for i, b in enumerate(model.intercepts_)})
        return w

    def finetune(model, masks):
        mlp_quality.apply_masks(model, masks)
        mlp_quality.fit_epochs(model, data, args.finetune, np.random.default_rng(1), masks)
        return model

    hidden = [0, 1]  # the 784x512 and 512x256 layers; the 256x10 output stays dense
    out = [("dense", as_weights(clf, lambda i, c: c), clf)]
    for level in ([0.9] if args.quick else [0.7, 0.9]):
        model = copy.deepcopy(clf)
        _, masks = MagnitudePruner(level).prune_model({i: model.coefs_[i] for i in hidden})
        finetune(model, masks)
        out.append(("unstructured %d%% (CSR)" % round(100 * level), as_weights(
            model, lambda i, c: formats.to_csr(c) if i in hidden else c), model))
    for level in ([0.9] if args.quick else [0.7, 0.9]):
        model = copy.deepcopy(clf)
        pruner = BlockPruner(level, block=32, norm="l2")
        masks = {i: pruner.prune_layer(model.coefs_[i])[1] for i in hidden}
        finetune(model, masks)

        def block(i, c):
            if i not in hidden:
                return c
            packed = formats.to_bsr(c, 32, pad=True)
            packed.original_shape = c.shape
            return packed
        out.append(("block 32x32 %d%% (BSR)" % round(100 * level), as_weights(model, block),
                    model))
    model = copy.deepcopy(clf)
    pruner = StructuredPruner(0.5)
    for i in hidden:
        small, kept = pruner.prune_channels(model.coefs_[i].T)
        model.coefs_[i] = np.ascontiguousarray(small.T)
        model.intercepts_[i] = model.intercepts_[i][kept]
        model.coefs_[i + 1] = np.ascontiguousarray(propagate(model.coefs_[i + 1].T, kept).T)
    if hasattr(model, "_optimizer"):
        del model._optimizer
    mlp_quality.fit_epochs(model, data, args.finetune, np.random.default_rng(1))
    out.append(("structured 50% (smaller)", as_weights(model, lambda i, c: c), model))
    return out


def bench_mlp(args, rows):
    data = mlp_quality.load("mnist")
    clf = mlp_quality.train_dense(data, seed=0, epochs=args.epochs)
    rng = np.random.default_rng(0)
    batches = {b: data.x_test[rng.choice(len(data.x_test), b, replace=False)]
               for b in (256, 1)}
    for label, weights, sk_model in mlp_variants(clf, data, args):
        model = MLP.from_weights(weights)
        logits = model.forward(data.x_test)
        row = {"model": "MNIST MLP", "variant": label,
               "quality": {"accuracy": float((logits.argmax(1) == data.y_test).mean()),
                           "sklearn accuracy": mlp_quality.accuracy(sk_model, data)}}
        layers = [(io.to_dense(l.weight)[:l.out_features, :l.in_features], l.bias[:l.out_features])
                  for l in model.layers]
        for b, x in batches.items():
            key = "batch %d" % b
            row[key] = median_ms(lambda: model.forward(x), args.repeat * 3)
            if all(layer.layout == "dense" for layer in model.layers):
                with threadpool_limits(1, user_api="blas"):
                    row[key + " blas1"] = median_ms(lambda: model.forward(x), args.repeat * 3)
            if label == "dense":
                row[key + " numpy"] = median_ms(lambda: reference.mlp_forward(layers, x),
                                                args.repeat * 3)
        rows.append(row)
        print("  %s done" % label, flush=True)


# ------------------------------------------------------------------ output

def best_ms(row, key):
    """A row's time: for all-dense models, the faster of BLAS on all threads
    and on one (under contention one thread can be many times faster)."""
    return min(row[key], row.get(key + " blas1", row[key]))


def print_table(rows, keys):
    dense = rows[0]
    for key in keys:
        best = best_ms(dense, key)
        print("\n%s %s: dense reference %.2f ms (BLAS all threads %.2f, one thread %.2f); "
              "plain numpy forward %.2f ms.  Rows with only dense Linears: the faster BLAS "
              "setting"
              % (dense["model"], key, best, dense[key], dense[key + " blas1"],
                 dense[key + " numpy"]))
        print("%-28s %10s %10s %10s   %s" % ("variant", "ms", "vs dense", "vs numpy",
                                            "quality"))
        for r in rows:
            q = ", ".join("%s %.4f" % kv for kv in r["quality"].items())
            t = best_ms(r, key)
            print("%-28s %10.2f %9.2fx %9.2fx   %s" % (r["variant"], t, best / t,
                                                      dense[key + " numpy"] / t, q))


def plot(path, minilm_rows, mlp_rows, minilm_key, mlp_key):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, rows, key, metric, title in (
            (axes[0], minilm_rows, minilm_key, "lee", "MiniLM %s tokens" % minilm_key),
            (axes[1], mlp_rows, mlp_key, "accuracy", "MNIST MLP, %s" % mlp_key)):
        if not rows:
            continue
        best = best_ms(rows[0], key)
        for r in rows:
            speed = best / best_ms(r, key)
            ax.plot(speed, r["quality"][metric], "o")
            ax.annotate(r["variant"], (speed, r["quality"][metric]), fontsize=7,
                        xytext=(4, 3), textcoords="offset points")
        ax.axvline(1.0, color="k", ls=":", lw=0.8)
        ax.set_xlabel("speed vs the dense runtime (x, higher is faster)")
        ax.set_ylabel({"lee": "Lee r (Pearson)", "accuracy": "test accuracy"}[metric])
        ax.set_title(title)
    fig.tight_layout()
    tmp = path + ".part.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer variants, 8x128 not 32x128")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--epochs", type=int, default=8, help="dense MLP training epochs")
    p.add_argument("--finetune", type=int, default=2, help="fine-tuning epochs after pruning")
    p.add_argument("--limit", type=int, default=None, help="word pairs per quality list")
    p.add_argument("--only", choices=["minilm", "mlp"])
    p.add_argument("--profile", action="store_true", help="time MiniLM's forward by parts")
    p.add_argument("--hardware", action="store_true",
                   help="also MiniLM at 2:4 and 1:4 (N:M storage) and 64x64 blocks at 90%%")
    p.add_argument("--match", action="append", metavar="TEXT",
                   help="only the MiniLM variants whose label holds TEXT (and dense)")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--plot", metavar="PNG")
    args = p.parse_args()
    print("load average %s; %s; OMP_NUM_THREADS=%s"
          % (" ".join("%.1f" % v for v in os.getloadavg()), blas_info(),
             os.environ.get("OMP_NUM_THREADS", "unset")), flush=True)
    minilm_rows, mlp_rows, profiles = [], [], {}
    if args.only != "mlp":
        profiles = bench_minilm(args, minilm_rows)
    if args.only != "minilm":
        bench_mlp(args, mlp_rows)
    if minilm_rows:
        print_table(minilm_rows, [k for k in minilm_rows[0] if k[0].isdigit() and " " not in k])
    if mlp_rows:
        print_table(mlp_rows, ["batch 256", "batch 1"])
    if profiles:
        print("\nMiniLM forward by part (ms, one forward)")
        parts = sorted({p for prof in profiles.values() for p in prof})
        print("%-40s" % "" + "".join("%18s" % p for p in parts))
        for name, prof in profiles.items():
            print("%-40s" % name + "".join("%18.1f" % prof.get(p, 0.0) for p in parts))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"minilm": minilm_rows, "mlp": mlp_rows, "profiles": profiles}, f, indent=1)
    if args.plot:
        plot(args.plot, minilm_rows, mlp_rows,
             [k for k in minilm_rows[0] if k[0].isdigit() and " " not in k][0]
             if minilm_rows else None, "batch 256")
    print("load average at the end %s" % " ".join("%.1f" % v for v in os.getloadavg()))


if __name__ == "__main__":
    main()
