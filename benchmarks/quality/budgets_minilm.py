"""Per-layer budgets on all-MiniLM-L6-v2: which layer gets how much of a target.

One-shot magnitude pruning of the 36 encoder Linear weights, each level
shared among the layers by the budgets of ``wavesparse.sensitivity``:
uniform, global (one threshold), ERK, OWL (weights only) and sensitivity.
The sensitivity budget's scan never sees the evaluation sets: its score is
the mean cosine between the pruned and the dense model's embeddings of the
first ``--docs`` documents of gensim's ``lee_background.cor`` (the 300-document
background corpus, not the 50 scored Lee documents), truncated to
``--tokens`` tokens.  "sensitivity (proxy)" plans on the model-free proxy scan
instead; "sensitivity +-10" keeps every layer within 10 points of the
target (``min_sparsity``/``max_sparsity``).  Evaluation: WordSim-353 rho, SimLex-999 rho, Lee r
(:func:`wavesparse.quality.minilm.scores`).

python benchmarks/quality/budgets_minilm.py [--levels 0.5 0.6 0.7 0.8] [--json out.json]
    [--plot docs/budgets.png] [--scan scan.json] [--dense 0.7289 0.4462 0.6564]
"""

import argparse
import json
import os
import time

import numpy as np

from wavesparse import MagnitudePruner
from wavesparse.pruning import select_layers
from wavesparse.quality import minilm
from wavesparse.sensitivity import Sensitivity, allocate, scan

BUDGETS = ["uniform", "global", "erk", "owl", "sensitivity", "sensitivity +-10",
           "sensitivity (proxy)"]


def background(count):
    with open(os.path.join(minilm.data_dir(), "lee_background.cor"), encoding="latin-1") as f:
        return [line.strip() for line in f if line.strip()][:count]


def agreement_score(encoder, docs):
    """score(weights): mean cosine with the dense embeddings of ``docs``."""
    reference = encoder.encode(docs, batch_size=16)

    def lee_background_agreement(weights):
        dense_w, encoder.w = encoder.w, weights
        try:
            e = encoder.encode(docs, batch_size=16)
        finally:
            encoder.w = dense_w
        return float(np.mean(np.sum(e * reference, axis=1)))

    return lee_background_agreement


def merge(first, second):
    """One table holding the sparsities of two scans of the same layers."""
    levels = sorted(set(first.sparsities) | set(second.sparsities))
    scores = {}
    for name in first.layers:
        by_level = dict(zip(first.sparsities, first.scores[name]))
        by_level.update(zip(second.sparsities, second.scores[name]))
        scores[name] = [by_level[v] for v in levels]
    return Sensitivity(levels, scores, first.baseline, first.params, first.score)


def row(label, result, dense):
    cells = " ".join("%7.4f (%+.4f)" % (result[k], result[k] - dense[k])
                     for k in ("wordsim353", "simlex999", "lee"))
    print("%-28s %s" % (label, cells), flush=True)


def plot_plans(plans, layers, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    levels = sorted({lv for lv, _ in plans})
    fig, axes = plt.subplots(len(levels), 1, figsize=(12, 3.2 * len(levels)), squeeze=False)
    short = [n.replace("encoder.layer.", "").replace(".weight", "")
             .replace("attention.self.", "").replace("attention.output.dense", "attn.out")
             .replace("intermediate.dense", "ffn.in").replace("output.dense", "ffn.out")
             for n in layers]
    for ax, level in zip(axes[:, 0], levels):
        for method in BUDGETS:
            if (level, method) in plans:
                ax.plot(range(len(layers)), [100 * plans[level, method][n] for n in layers],
                        "o-" if method == "sensitivity" else ".-", ms=3, lw=1, label=method)
        ax.axhline(100 * level, color="k", ls=":", lw=0.8)
        ax.set_ylabel("sparsity (%%), target %.0f%%" % (100 * level))
        ax.set_xticks(range(len(layers)))
        ax.set_xticklabels(short, rotation=90, fontsize=6)
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--levels", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8])
    p.add_argument("--budgets", nargs="+", default=BUDGETS)
    p.add_argument("--docs", type=int, default=16, help="background documents scored")
    p.add_argument("--tokens", type=int, default=64, help="tokens per background document")
    p.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.9],
                   help="the scan's sparsities")
    p.add_argument("--scan", metavar="JSON", help="reuse (or write, when missing) the scan")
    p.add_argument("--plans-only", action="store_true", help="plans and plot, no scores")
    p.add_argument("--dense", type=float, nargs=3, metavar=("WS", "SL", "LEE"),
                   help="the dense model's scores, when known (skips scoring it)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--plot", metavar="PNG")
    args = p.parse_args()
    start = time.perf_counter()
    from threadpoolctl import threadpool_limits
    # One BLAS thread: on a loaded machine two threads waiting on each other ran
    # the encoder 8x slower (7 s against 55 s for the same call).
    with threadpool_limits(args.threads):
        base = minilm.Encoder()
        layers = select_layers(base.w, **minilm.ENCODER_LINEAR)
        table = None
        if any(b.startswith("sensitivity +-") or b == "sensitivity" for b in args.budgets):
            table = Sensitivity.load(args.scan) if args.scan and os.path.exists(args.scan) else None
            missing = [v for v in args.sparsities if table is None or v not in table.sparsities]
            if missing:
                scorer = minilm.Encoder(base.w)
                scorer.tokenizer.enable_truncation(max_length=args.tokens)
                extra = scan(base.w, agreement_score(scorer, background(args.docs)),
                             sparsities=missing, layers=layers, progress=True)
                print("scan: %d layers x %d sparsities on %d background docs at %d tokens, "
                      "%.0f s" % (len(layers), len(missing), args.docs, args.tokens,
                                  time.perf_counter() - start), flush=True)
                table = extra if table is None else merge(table, extra)
                if args.scan:
                    table.save(args.scan)
            print(table, flush=True)
        proxy = scan(base.w, layers=layers, sparsities=(0.3, 0.5, 0.7, 0.8, 0.9, 0.95),
                     progress=False)
        plans = {}
        for level in args.levels:
            for method in args.budgets:
                if method == "sensitivity (proxy)":
                    plan = allocate(level, base.w, "sensitivity", proxy, layers=layers)
                elif method.startswith("sensitivity +-"):
                    band = float(method.split("+-")[1]) / 100
                    plan = allocate(level, base.w, "sensitivity", table, layers=layers,
                                    min_sparsity=level - band, max_sparsity=level + band)
                else:
                    plan = allocate(level, base.w, method, table, layers=layers)
                plans[level, method] = plan.layers
        if args.plot:
            plot_plans(plans, layers, args.plot)
        results = {"plans": {"%g %s" % k: v for k, v in plans.items()},
                   "scan": table.to_dict() if table else None}
        if not args.plans_only:
            if args.dense:
                dense = dict(zip(("wordsim353", "simlex999", "lee"), args.dense))
            else:
                dense = minilm.scores(base)
            results["dense"] = dense
            print("%-28s %-18s %-18s %-18s" % ("budget", "WordSim-353 rho", "SimLex-999 rho",
                                               "Lee r"))
            row("dense", dense, dense)
            # uniform and global equal the README's local and global magnitude rows:
            # they come last, where time is short
            known = ("uniform", "global")
            cells = ([(lv, m) for lv in args.levels for m in args.budgets if m not in known]
                     + [(lv, m) for lv in args.levels for m in args.budgets if m in known])
            for level, method in cells:
                pruner = MagnitudePruner(level, plan=plans[level, method],
                                         **minilm.ENCODER_LINEAR)
                pruned, _ = pruner.prune_model(base.w)
                result = minilm.scores(minilm.Encoder(pruned))
                results["%g %s" % (level, method)] = result
                row("%s %.0f%%" % (method, 100 * level), result, dense)
                if args.json:
                    _dump(args.json, results)
    print("%.0f s" % (time.perf_counter() - start))
    if args.json:
        _dump(args.json, results)


def _dump(path, results):
    with open(path + ".part", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(path + ".part", path)


if __name__ == "__main__":
    main()
