"""What pruning costs a real pretrained transformer: all-MiniLM-L6-v2 on
WordSim-353, SimLex-999 (Spearman) and the Lee documents (Pearson r).

Rows: local and global magnitude pruning of the 36 encoder Linear weights
(embeddings, norms and biases dense) at 30..90%, and local pruning with the
word embeddings pruned too.  ``--checkpoint FILE`` scores any checkpoint, for
example one ``wavesparse prune`` wrote.

python benchmarks/quality/minilm.py [--quick] [--checkpoint FILE] [--plot out.png] [--json out.json]
"""

import argparse
import json
import time

from wavesparse import MagnitudePruner
from wavesparse.quality import minilm

LEVELS = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9]


def row(label, result, dense):
    cells = " ".join("%7.4f (%+.4f)" % (result[k], result[k] - dense[k])
                     for k in ("wordsim353", "simlex999", "lee"))
    print("%-34s %s" % (label, cells), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="50%% and 90%% only")
    p.add_argument("--checkpoint", help="score this checkpoint file only")
    p.add_argument("--plot", metavar="PNG")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()
    start = time.perf_counter()
    from threadpoolctl import threadpool_limits
    with threadpool_limits(2):
        base = minilm.Encoder()
        dense = minilm.scores(base)
        print("%-34s %-18s %-18s %-18s" % ("model", "WordSim-353 rho", "SimLex-999 rho",
                                           "Lee r"))
        row("dense all-MiniLM-L6-v2", dense, dense)
        results = {"dense": dense}
        if args.checkpoint:
            results[args.checkpoint] = minilm.scores(minilm.Encoder.from_checkpoint(args.checkpoint))
            row(args.checkpoint, results[args.checkpoint], dense)
        else:
            levels = [0.5, 0.9] if args.quick else LEVELS
            cases = [("local", dict(scope="local", **minilm.ENCODER_LINEAR)),
                     ("global", dict(scope="global", **minilm.ENCODER_LINEAR)),
                     ("local + word embeddings", dict(
                         scope="local", include=minilm.ENCODER_LINEAR["include"]
                         + ["embeddings.word_embeddings.weight"],
                         exclude=minilm.ENCODER_LINEAR["exclude"]))]
            for label, kwargs in cases:
                for level in levels:
                    pruned, _ = MagnitudePruner(level, **kwargs).prune_model(base.w)
                    result = minilm.scores(minilm.Encoder(pruned))
                    results["%s %g" % (label, level)] = result
                    row("%s %.0f%%" % (label, 100 * level), result, dense)
    print("%.0f s" % (time.perf_counter() - start))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot and not args.checkpoint:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        for ax, metric in zip(axes, ("wordsim353", "simlex999", "lee")):
            for label in ("local", "global", "local + word embeddings"):
                xs = [lv for lv in LEVELS if "%s %g" % (label, lv) in results]
                ax.plot([100 * x for x in xs], [results["%s %g" % (label, x)][metric]
                                                for x in xs], "o-", label=label)
            ax.axhline(dense[metric], color="k", ls=":", label="dense")
            ax.set_title(metric)
            ax.set_xlabel("sparsity of the pruned weights (%)")
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print("wrote %s" % args.plot)


if __name__ == "__main__":
    main()
