"""``wavesparse demo``: seven demos in a few seconds on an idle 2-core
machine: the original design's five, measured on built-in data (seeded random
weights), a training loop that prunes a real digits MLP gradually, and one that
trains it sparse from scratch with RigL (the last two need the ``quality``
extra and say so when it is missing).

Examples
--------
>>> import io
>>> from wavesparse.demo import memory_demo
>>> text = io.StringIO()
>>> memory_demo(text, sparsity=0.9)
>>> "1024-512-256-10" in text.getvalue()
True
"""

import time

import numpy as np

from wavesparse import formats, ops
from wavesparse._timing import median_seconds
from wavesparse.pruning import GradualPruner, MagnitudePruner, StructuredPruner


def _title(out, text):
    print("\n" + text, file=out)
    print("=" * len(text), file=out)


def _magnitude_demo(out, rng):
    _title(out, "1. Magnitude pruning of a 1024x512 layer (exact k smallest |w|)")
    w = rng.standard_normal((1024, 512)).astype(np.float32)
    print("%9s %12s %12s %10s" % ("target", "threshold", "achieved", "kept"), file=out)
    pruner = MagnitudePruner(0.5)
    for s in (0.5, 0.7, 0.9, 0.95):
        pruned, mask = pruner.prune_layer(w, sparsity=s)
        rec = pruner.history[-1]
        print("%8.0f%% %12.5f %11.2f%% %10d" % (100 * s, rec["threshold"],
                                               100 * rec["achieved_sparsity"],
                                               int(mask.sum())), file=out)


def _structured_demo(out, rng):
    _title(out, "2. Structured pruning: 64 output channels of a 64x128 layer, 50% by L1")
    w = rng.standard_normal((64, 128)).astype(np.float32) * rng.uniform(0.2, 2.0, (64, 1))
    pruner = StructuredPruner(0.5, importance_metric="l1")
    scores = pruner.importance_scores(w)
    pruned, kept = pruner.prune_channels(w)
    top = np.argsort(-scores)[:5]
    print("top channels by L1: " + ", ".join("#%d (%.1f)" % (i, scores[i]) for i in top),
          file=out)
    print("kept %d of 64 channels -> shape %s; lowest kept score %.1f, highest removed %.1f"
          % (len(kept), pruned.shape, scores[kept].min(),
             np.delete(scores, kept).max()), file=out)


def _schedule_demo(out):
    _title(out, "3. Gradual schedule (Zhu & Gupta), 0% -> 90% over steps 0..1000")
    g = GradualPruner(0.0, 0.9, begin_step=0, end_step=1000, frequency=100)
    for step, s in g.get_schedule():
        print("step %5d %6.1f%% %s" % (step, 100 * s, "#" * int(round(50 * s))), file=out)


def _product_demo(out, rng):
    _title(out, "4. Sparse x dense products, measured (1024x1024 weights, N=64)")
    X = rng.standard_normal((1024, 64)).astype(np.float32)
    w = rng.standard_normal((1024, 1024)).astype(np.float32)
    print("%9s %10s %10s %9s" % ("sparsity", "CSR ms", "dense ms", "speedup"), file=out)
    for s in (0.5, 0.7, 0.9, 0.95):
        pruned, _ = MagnitudePruner(s).prune_layer(w)
        A = formats.to_csr(pruned)
        t_sparse = median_seconds(lambda: ops.spmm(A, X, backend="cpu"), 5)
        t_dense = median_seconds(lambda: pruned @ X, 5)
        print("%8.0f%% %10.3f %10.3f %8.2fx" % (100 * s, 1e3 * t_sparse, 1e3 * t_dense,
                                                t_dense / t_sparse), file=out)


def memory_demo(out, sparsity=0.9, rng=None):
    """Memory of the 1024-512-256-10 MLP, dense and pruned to CSR."""
    rng = rng or np.random.default_rng(0)
    _title(out, "5. Memory of the 1024-512-256-10 MLP at %.0f%% (global magnitude)"
           % (100 * sparsity))
    sizes = [1024, 512, 256, 10]
    model = {"fc%d.weight" % i: rng.standard_normal((o, n)).astype(np.float32) / np.sqrt(n)
             for i, (n, o) in enumerate(zip(sizes, sizes[1:]), 1)}
    pruned, masks = MagnitudePruner(sparsity, scope="global").prune_model(model)
    dense_total = sparse_total = 0
    for name, w in pruned.items():
        r = formats.analyze_sparsity(w)
        dense_total += r["dense_bytes"]
        sparse_total += r["csr_bytes"]
        print("%-10s %-10s %6.1f%% zeros  dense %8d B  CSR %8d B"
              % (name, "%dx%d" % w.shape, 100 * r["sparsity"], r["dense_bytes"],
                 r["csr_bytes"]), file=out)
    print("total: dense %d B, CSR %d B: %.2fx smaller (%.1f%% less memory)"
          % (dense_total, sparse_total, dense_total / sparse_total,
             100 * (1 - sparse_total / dense_total)), file=out)


def _training_demo(out):
    """Gradual pruning of the digits MLP during training (needs scikit-learn)."""
    _title(out, "6. Gradual pruning during training: digits MLP 64-256-128-10 to 90%")
    try:
        from threadpoolctl import threadpool_limits
        from wavesparse.quality import mlp
        data = mlp.load("digits")
    except ImportError as exc:
        print("skipped: needs the quality extra (pip install 'wavesparse[quality]'): %s"
              % exc, file=out)
        return
    with threadpool_limits(1):
        dense = mlp.train_dense(data, seed=0, epochs=20)
        print("dense after 20 epochs: %.1f%% test accuracy" % (100 * mlp.accuracy(dense, data)),
              file=out)
        print("pruning steps (twice an epoch, 0 -> 90%% over 7 of 10 epochs; %d steps an "
              "epoch):" % mlp.steps_per_epoch(data), file=out)
        print("%6s %9s %9s" % ("step", "sparsity", "accuracy"), file=out)

        def report(model, step, target):
            print("%6d %8.1f%% %8.1f%%" % (step, 100 * mlp.sparsity(model),
                                           100 * mlp.accuracy(model, data)), file=out)

        final = mlp.gradual(dense, data, 0.9, 10, seed=0, on_prune=report)
    print("after 10 epochs of gradual pruning: 90.0%% sparse, %.1f%% test accuracy"
          % (100 * final), file=out)


def _rigl_demo(out):
    """RigL training of the digits MLP from scratch, 90% sparse (needs scikit-learn
    for the data)."""
    _title(out, "7. Sparse training from scratch (RigL, ERK): digits MLP 64-256-128-10 at 90%")
    try:
        from threadpoolctl import threadpool_limits
        from wavesparse.quality import mlp, numpy_mlp
        data = mlp.load("digits")
    except ImportError as exc:
        print("skipped: needs the quality extra (pip install 'wavesparse[quality]'): %s"
              % exc, file=out)
        return
    from wavesparse.pruning import DynamicSparsePruner
    epochs = 30
    steps = epochs * -(-len(data.y_train) // numpy_mlp.BATCH)
    dsp = DynamicSparsePruner(0.9, method="rigl", distribution="erk", drop_fraction=0.3,
                              update_every=20, end_step=int(0.75 * steps), seed=0)
    print("%d steps; masks updated every 20 until step %d (drop fraction 0.3, cosine)"
          % (steps, dsp.end_step), file=out)
    print("%6s %8s %8s %8s %7s %9s" % ("step", "fc1", "fc2", "fc3", "grown", "accuracy"),
          file=out)
    previous = {}

    def report(step, params, masks):
        grown = sum(int((m & ~previous[n]).sum()) for n, m in masks.items()) if previous else 0
        print("%6d %s %7d %8.1f%%" % (
            step, " ".join("%7.1f%%" % (100 * m.mean()) for m in masks.values()), grown,
            100 * numpy_mlp.accuracy(params, data.x_test, data.y_test)), file=out)
        previous.update({n: m.copy() for n, m in masks.items()})

    with threadpool_limits(1):
        dense = numpy_mlp.train(data, (256, 128), epochs, seed=0)
        result = numpy_mlp.train(
            data, (256, 128), epochs, seed=0, dsp=dsp, on_update=report,
            on_step=lambda step, params, masks: report(0, params, masks) if step == 0 else None)
    print("after %d epochs: %.1f%% test accuracy at 90%% sparsity (dense: %.1f%%), "
          "training multiply-adds %.3f of dense"
          % (epochs, 100 * numpy_mlp.accuracy(result.params, data.x_test, data.y_test),
             100 * numpy_mlp.accuracy(dense.params, data.x_test, data.y_test),
             result.flops_fraction), file=out)


def run(out):
    """Run the demos, printing to ``out``; returns 0.

    Examples
    --------
    >>> import io
    >>> from wavesparse.demo import run
    >>> text = io.StringIO()
    >>> run(text)
    0
    >>> [line[:22] for line in text.getvalue().splitlines() if line[:2] in ("1.", "7.")]
    ['1. Magnitude pruning o', '7. Sparse training fro']
    """
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    _magnitude_demo(out, rng)
    _structured_demo(out, rng)
    _schedule_demo(out)
    _product_demo(out, rng)
    memory_demo(out, rng=rng)
    _training_demo(out)
    _rigl_demo(out)
    print("\nDone in %.1f s." % (time.perf_counter() - start), file=out)
    return 0
