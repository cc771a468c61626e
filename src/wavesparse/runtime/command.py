"""``wavesparse run``: load a checkpoint into the runtime, run it, print
throughput and latency.

Examples
--------
>>> import os, tempfile
>>> from wavesparse import io
>>> from wavesparse.cli import main
>>> from wavesparse.runtime.toy import tiny_mlp
>>> path = os.path.join(tempfile.mkdtemp(), "mlp.npz")
>>> io.save(path, tiny_mlp())
>>> import io as text_io
>>> out = text_io.StringIO()
>>> main(["run", path, "--benchmark", "--batch", "4", "--repeat", "2"], out=out)
0
>>> "samples/s" in out.getvalue()
True
"""

import os
import statistics
import time
from collections import Counter

import numpy as np

from wavesparse.runtime.encoder import Encoder
from wavesparse.runtime.model import load_model

__all__ = ["add_arguments", "add_encoder_files", "run", "tokenizer_for"]


def add_arguments(p):
    """The options of ``wavesparse run`` on an argparse parser.

    Examples
    --------
    >>> import argparse
    >>> from wavesparse.runtime.command import add_arguments
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> p.parse_args(["m.npz", "--benchmark"]).batch
    32
    """
    p.add_argument("checkpoint", help="checkpoint to run (.safetensors or .npz; dense, CSR, BSR)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--texts", metavar="FILE",
                      help="embed each line of FILE (an encoder checkpoint)")
    what.add_argument("--benchmark", action="store_true",
                      help="time random inputs of --batch (x --length tokens)")
    add_encoder_files(p)
    p.add_argument("--batch", type=int, default=32, help="inputs per forward pass (default 32)")
    p.add_argument("--length", type=int, default=128,
                   help="tokens per sequence for --benchmark (default 128)")
    p.add_argument("--repeat", type=int, default=5, help="timed passes for --benchmark")


def add_encoder_files(p):
    """The options naming an encoder's config.json and tokenizer.json
    (``run`` and ``calibrate``)."""
    p.add_argument("--config", metavar="FILE",
                   help="an encoder's config.json (default: the one beside the checkpoint)")
    p.add_argument("--tokenizer", metavar="FILE",
                   help="tokenizer.json (default: beside the checkpoint, else MiniLM's)")


def tokenizer_for(checkpoint, path, max_length):
    """The tokenizer of an encoder checkpoint: ``path``, else the
    ``tokenizer.json`` beside the checkpoint, else MiniLM's; truncating to
    ``max_length`` and padding with id 0.  A file that is missing or not a
    tokenizer is a ValueError naming it."""
    from tokenizers import Tokenizer
    if path is None:
        beside = os.path.join(os.path.dirname(os.path.abspath(checkpoint)),
                              "tokenizer.json")
        if os.path.isfile(beside):
            path = beside
        else:
            from wavesparse.quality import minilm
            path = os.path.join(minilm.model_dir(), "tokenizer.json")
    try:
        tokenizer = Tokenizer.from_file(path)
    except Exception as exc:  # the tokenizers package raises plain Exception
        raise ValueError("cannot read the tokenizer %s (--tokenizer): %s" % (path, exc)) \
            from None
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def _describe(model):
    linears = model.linears() if isinstance(model, Encoder) else model.layers
    layouts = Counter(layer.layout for layer in linears)
    stored = sum(layer.nnz for layer in linears)
    full = sum(layer.shape[0] * layer.shape[1] for layer in linears)
    return ("%s, %d Linears (%s), %d of %d weights stored"
            % (type(model).__name__, len(linears),
               ", ".join("%d %s" % (n, k) for k, n in sorted(layouts.items())), stored, full))


def _report(out, label, items, unit, times):
    total = sum(times)
    print("%s: %d %s in %.3f s: %.1f %s/s; latency per pass median %.2f ms, "
          "min %.2f ms (%d passes)"
          % (label, items, unit, total, items / total, unit, 1e3 * statistics.median(times),
             1e3 * min(times), len(times)), file=out)


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(args, out):
    """Runs ``wavesparse run`` (see :func:`add_arguments`); returns 0.

    Raises ValueError (reported on one line, exit 2) for options that do
    not fit the checkpoint, and :class:`wavesparse.io.CheckpointError` for
    one that cannot be run.
    """
    for name in ("batch", "length", "repeat"):
        if getattr(args, name) < 1:
            raise ValueError("--%s must be at least 1, got %d" % (name, getattr(args, name)))
    model = load_model(args.checkpoint, config=args.config)
    print("%s: %s" % (args.checkpoint, _describe(model)), file=out)
    rng = np.random.default_rng(0)
    encoder = isinstance(model, Encoder)
    if args.texts is not None:
        if not encoder:
            raise ValueError("--texts needs an encoder checkpoint; %s holds an MLP (use "
                             "--benchmark)" % args.checkpoint)
        with open(args.texts, encoding="utf8") as f:
            texts = [line.strip() for line in f if line.strip()]
        if not texts:
            raise ValueError("--texts %s holds no text" % args.texts)
        positions = model.embeddings["embeddings.position_embeddings.weight"].shape[0]
        tokenizer = tokenizer_for(args.checkpoint, args.tokenizer, positions)
        times, tokens = [], 0
        for start in range(0, len(texts), args.batch):
            encoded = tokenizer.encode_batch(texts[start:start + args.batch])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            tokens += int(mask.sum())
            times.append(_timed(lambda: model.forward(ids, mask)))
        _report(out, "texts", len(texts), "texts", times)
        print("tokens: %d real tokens, %.0f tokens/s" % (tokens, tokens / sum(times)), file=out)
        return 0
    if encoder:
        vocab = model.embeddings["embeddings.word_embeddings.weight"].shape[0]
        ids = rng.integers(1000 if vocab > 2000 else 1, vocab, (args.batch, args.length))
        mask = np.ones_like(ids)
        step = lambda: model.forward(ids, mask)  # noqa: E731
        label = "benchmark %d x %d tokens" % (args.batch, args.length)
        items, unit = args.repeat * args.batch, "sequences"
    else:
        x = rng.random((args.batch, model.in_features)).astype(model.dtype)
        step = lambda: model.forward(x)  # noqa: E731
        label = "benchmark batch %d" % args.batch
        items, unit = args.repeat * args.batch, "samples"
    step()
    _report(out, label, items, unit, [_timed(step) for _ in range(args.repeat)])
    return 0
