"""One-shot pruning of all-MiniLM-L6-v2 with calibration statistics: magnitude,
Wanda and SparseGPT, one-pass and sequential, on WordSim-353, SimLex-999
(Spearman) and the Lee documents (Pearson r).

Calibration text: the first ``--docs`` documents of gensim's
``lee_background.cor`` (news text from the Lee corpus's source; none of it is
in the evaluation).  The 36 encoder Linear weights are pruned; embeddings,
norms and biases stay dense.  One-pass rows record the statistics once from
the dense model; sequential rows prune layer by layer, recording each layer's
inputs from the model whose earlier layers are pruned already.  With ``--nm
2:4`` the rows keep 2 of every 4 consecutive inputs of each row instead of a
sparsity level: ``magnitude`` and ``wanda`` by NMPruner's criterion,
``sparsegpt`` by SparseGPTPruner's N:M mask (chosen per group as the
elimination reaches it).

python benchmarks/quality/minilm_calibration.py [--docs 64] [--levels 0.5 0.7]
    [--nm 2:4] [--rows magnitude wanda sparsegpt ...] [--stats stats.safetensors]
    [--json out.json] [--save-best out.safetensors]
"""

import argparse
import json
import os
import time

from threadpoolctl import threadpool_limits

from wavesparse import MagnitudePruner, NMPruner, SparseGPTPruner, WandaPruner, io
from wavesparse.calibration import Recorder, load_stats, save_stats
from wavesparse.pruning.nm import parse_pattern
from wavesparse.quality import minilm

#: The dense model's scores, as measured in the README (and reproduced by this harness).
DENSE = {"wordsim353": 0.7288981956171668, "simlex999": 0.44618308079082153,
         "lee": 0.6563672964644525}
ROWS = ["magnitude", "magnitude-global", "wanda", "wanda-layer", "sparsegpt",
        "sparsegpt-row", "wanda-seq", "sparsegpt-seq", "sparsegpt-row-seq"]
#: The rows that have an N:M form (``--nm``).
NM_ROWS = ["magnitude", "wanda", "sparsegpt", "wanda-seq", "sparsegpt-seq"]


def pruner_for(row, level, stats, include):
    """The pruner of ``row`` at ``level``: a sparsity, or an ``(n, m)`` pattern."""
    if isinstance(level, tuple):
        if row.startswith("sparsegpt"):
            return SparseGPTPruner(None, stats, nm=level, include=include)
        return NMPruner(*level, criterion=row.split("-")[0], include=include,
                        stats=stats if row.startswith("wanda") else None)
    if row.startswith("wanda"):
        return WandaPruner(level, stats, groups="layer" if "layer" in row else "row",
                           include=include)
    return SparseGPTPruner(level, stats, groups="row" if "-row" in row else "layer",
                           include=include)


def prune(row, level, dense, stats, texts):
    linear = minilm.ENCODER_LINEAR
    if row.startswith("magnitude") and not isinstance(level, tuple):
        scope = "global" if row.endswith("global") else "local"
        return MagnitudePruner(level, scope=scope, **linear).prune_model(dense)[0]
    if row.endswith("-seq"):
        return minilm.prune_sequentially(
            dense, lambda s, names: pruner_for(row, level, s, names), texts)
    names = [n for n in dense if n.startswith("encoder.layer.") and n.endswith(".weight")
             and "LayerNorm" not in n]
    return pruner_for(row, level, stats, names).prune_model(dense)[0]


def single_words(count):
    """Distinct words of lee_background.cor, in order of first use, leaving out
    every word the evaluation's word lists hold."""
    import re
    evaluated = {w for f in ("wordsim353.tsv", "simlex999.txt")
                 for a, b, _ in minilm._word_pairs(f) for w in (a, b)}
    seen = []
    for doc in minilm.calibration_texts():
        for word in re.findall(r"[a-z]+", doc.lower()):
            if len(word) > 2 and word not in evaluated and word not in seen:
                seen.append(word)
    return seen[:count]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=64, help="calibration documents (of 300)")
    p.add_argument("--levels", type=float, nargs="+", default=[0.5, 0.7])
    p.add_argument("--nm", type=parse_pattern, metavar="N:M",
                   help="prune to this N:M pattern instead of --levels (rows: %s)"
                        % " ".join(NM_ROWS))
    p.add_argument("--rows", nargs="+", default=["magnitude", "wanda", "sparsegpt"],
                   choices=ROWS)
    p.add_argument("--words", type=int, default=0,
                   help="also calibrate on this many single words of lee_background.cor "
                        "(none of the WordSim-353 or SimLex-999 words)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--known-dense", action="store_true",
                   help="take the dense model's scores from the README instead of measuring")
    p.add_argument("--stats", metavar="FILE", help="read the one-pass statistics from this "
                   "file when it exists, else record them and write it")
    p.add_argument("--json", metavar="FILE", help="results, rewritten after every row")
    p.add_argument("--save-best", metavar="FILE",
                   help="write the pruned model with the best Lee r at the highest level")
    args = p.parse_args()
    if args.nm:
        other = sorted(set(args.rows) - set(NM_ROWS))
        if other:
            p.error("--nm applies to the rows %s, not %s" % (" ".join(NM_ROWS),
                                                               " ".join(other)))
        args.levels = [args.nm]
    start = time.perf_counter()
    results = {}
    with threadpool_limits(args.threads):
        base = minilm.Encoder()
        texts = minilm.calibration_texts(args.docs)
        if args.words:
            texts += single_words(args.words)
        if args.stats and os.path.exists(args.stats):
            stats = load_stats(args.stats)
            tokens = int(stats.metadata["tokens"])
        else:
            recorder = Recorder()
            tokens = minilm.record(base, texts, recorder)
            stats = recorder.stats(metadata={
                "source": "lee_background.cor, first %d documents and %d single words"
                % (args.docs, args.words), "tokens": str(tokens)})
            if args.stats:
                save_stats(args.stats, stats)
        results["calibration"] = {"documents": args.docs, "words": args.words, "tokens": tokens,
                                  "seconds": time.perf_counter() - start}
        print("calibration: %d documents and %d single words of lee_background.cor, %d "
              "tokens (%.0f s)" % (args.docs, args.words, tokens, time.perf_counter() - start),
              flush=True)
        dense = DENSE if args.known_dense else minilm.scores(base)
        results["dense"] = dense
        print("%-28s %-18s %-18s %-18s" % ("model", "WordSim-353 rho", "SimLex-999 rho",
                                           "Lee r"))
        row_line("dense", dense, dense)
        best = None
        for level in args.levels:
            for row in args.rows:
                t = time.perf_counter()
                pruned = prune(row, level, base.w, stats, texts)
                result = minilm.scores(minilm.Encoder(pruned))
                result["seconds"] = time.perf_counter() - t
                label = "%d:%d" % level if args.nm else "%g" % level
                results["%s %s" % (row, label)] = result
                row_line("%s %s" % (row, label if args.nm else "%.0f%%" % (100 * level)),
                         result, dense)
                if level == max(args.levels) and (best is None or result["lee"] > best[0]):
                    best = (result["lee"], pruned)
                if args.json:
                    with open(args.json, "w") as f:
                        json.dump(results, f, indent=1)
    if args.save_best and best is not None:
        io.save(args.save_best, best[1])
    print("%.0f s" % (time.perf_counter() - start))


def row_line(label, result, dense):
    cells = " ".join("%7.4f (%+.4f)" % (result[k], result[k] - dense[k])
                     for k in ("wordsim353", "simlex999", "lee"))
    print("%-28s %s" % (label, cells), flush=True)


if __name__ == "__main__":
    main()
