"""Calibration statistics recorded by running a checkpoint: ``wavesparse
calibrate``.

The pruners that look at a layer's inputs (Wanda, SparseGPT, ``--method nm
--nm-criterion wanda``) read a statistics file
(:mod:`wavesparse.calibration.stats`).  For the checkpoints the runtime can
run, this module writes it without any framework:

- an encoder (the BERT layout that ``wavesparse run`` reads), run on lines
  of text by the plain numpy forward
  (:func:`wavesparse.runtime.reference.encoder_forward`), padding left out;
  the query, key and value projections share their input's sums;
- an MLP with torch's naming (``PREFIX I.weight`` of shape ``(out, in)``),
  run on the rows of a ``.npy`` file.

Examples
--------
>>> import numpy as np
>>> from wavesparse.calibration import Recorder
>>> from wavesparse.runtime.calibrate import record_mlp
>>> from wavesparse.runtime.toy import tiny_mlp
>>> rec = Recorder()
>>> record_mlp(tiny_mlp(), np.ones((10, 12), np.float32), rec)
10
>>> rec.names()
['layers.0.weight', 'layers.1.weight', 'layers.2.weight']
"""

import os

import numpy as np

from wavesparse import _validate as check
from wavesparse.calibration import Recorder
from wavesparse.calibration.stats import check_destination
from wavesparse.halfs import is_half
from wavesparse.runtime.command import add_encoder_files, tokenizer_for
from wavesparse.runtime.mlp import mlp_weight_names
from wavesparse.runtime.reference import encoder_forward, gelu, mlp_forward

__all__ = ["ENCODER_LINEARS", "record_encoder", "record_mlp", "add_arguments", "run"]

#: The six Linear layers of an encoder layer, and the input each one reads.
ENCODER_LINEARS = {"attention.self.query": "x", "attention.self.key": "x",
                   "attention.self.value": "x", "attention.output.dense": "context",
                   "intermediate.dense": "x_attended", "output.dense": "h"}


def record_encoder(weights, config, batches, recorder, layers=None, only=None):
    """Feed each encoder Linear's inputs to ``recorder``.

    Parameters
    ----------
    weights : dict
        The checkpoint's tensors (Hugging Face BERT names).
    config : dict
        Its ``config.json``.
    batches : iterable of (ids, mask)
        Token ids and attention masks, ``(batch, length)`` each.
    recorder : wavesparse.calibration.Recorder
    layers : int, optional
        Run only the first ``layers`` encoder layers.
    only : int, optional
        Record only this encoder layer's inputs.

    Returns
    -------
    int
        Real (not padding) tokens recorded per input.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.calibration import Recorder
    >>> from wavesparse.runtime.calibrate import record_encoder
    >>> from wavesparse.runtime.toy import tiny_encoder
    >>> weights, config = tiny_encoder()
    >>> rec = Recorder(gram=False)
    >>> record_encoder(weights, config, [(np.array([[1, 2, 3]]), np.array([[1, 1, 0]]))], rec)
    2
    >>> rec.stats()["encoder.layer.0.attention.self.key.weight"].input
    'encoder.layer.0 x'
    """
    tokens = 0

    def hook(layer, linear, x):
        if linear in ("attention.self.key", "attention.self.value"):
            return  # the query's input, recorded once for all three
        if only is not None and layer != only:
            return
        reads = ENCODER_LINEARS[linear]
        recorder.add(["encoder.layer.%d.%s.weight" % (layer, name)
                      for name, r in ENCODER_LINEARS.items() if r == reads], x,
                     input="encoder.layer.%d %s" % (layer, reads))

    for ids, mask in batches:
        encoder_forward(weights, config, ids, mask, hook=hook, layers=layers)
        tokens += int(np.asarray(mask).sum())
    return tokens


def record_mlp(weights, x, recorder, activation="relu", batch_rows=4096):
    """Feed each layer's inputs of an MLP checkpoint (torch naming) run on
    the rows of ``x`` to ``recorder``; returns the rows recorded.

    See the module's example.
    """
    batch_rows = check.index(batch_rows, "batch_rows")
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1, got %d" % batch_rows)
    names = mlp_weight_names(weights)
    layers = [(weights[n], weights[n[:-len("weight")] + "bias"]) for n in names]
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != np.shape(layers[0][0])[1]:
        raise ValueError("the inputs must have shape (rows, %d) for %s, got %s"
                         % (np.shape(layers[0][0])[1], names[0], x.shape))
    if x.shape[0] == 0:
        raise ValueError("x holds no rows: nothing to record")
    for start in range(0, x.shape[0], batch_rows):
        h = x[start:start + batch_rows]
        for i, name in enumerate(names):
            recorder.add(name, h)
            if i + 1 < len(names):
                h = mlp_forward(layers[i:i + 1], h)  # one layer: no activation yet
                h = np.maximum(h, 0) if activation == "relu" else gelu(h)
    return x.shape[0]


def _refuse_output_over(output, inputs):
    """-o must not name a file the command reads."""
    for what, path in inputs:
        if path is None or not os.path.exists(path) or not os.path.exists(output):
            continue
        if os.path.samefile(path, output):
            raise ValueError("-o %s is %s %s: refusing to write the statistics over it"
                             % (output, what, path))


def _load_inputs(path):
    """The ``--inputs`` array: a .npy file of real numbers with at least one row."""
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise ValueError("--inputs %s is not a .npy array: %s" % (path, exc)) from None
    if not isinstance(x, np.ndarray):
        raise ValueError("--inputs %s is not a .npy array (an .npz archive?)" % path)
    if x.dtype.kind not in "fiu" and not is_half(x.dtype):
        raise ValueError("--inputs %s holds %s values; real numbers are needed"
                         % (path, x.dtype))
    if x.ndim == 2 and x.shape[0] == 0:
        raise ValueError("--inputs %s holds no rows (shape %s)" % (path, x.shape))
    return x


def add_arguments(p):
    """The options of ``wavesparse calibrate`` on an argparse parser.

    Examples
    --------
    >>> import argparse
    >>> from wavesparse.runtime.calibrate import add_arguments
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> p.parse_args(["m.safetensors", "-o", "s.safetensors", "--texts", "t.txt"]).batch
    16
    """
    p.add_argument("checkpoint", help="an encoder or MLP checkpoint (.safetensors or .npz)")
    p.add_argument("-o", "--output", required=True, metavar="STATS",
                   help="the statistics file to write (.safetensors)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--texts", metavar="FILE",
                      help="an encoder checkpoint: record it on each line of FILE")
    what.add_argument("--inputs", metavar="NPY",
                      help="an MLP checkpoint: record it on the rows of this .npy array")
    add_encoder_files(p)
    p.add_argument("--batch", type=int, default=16, help="texts per forward pass (default 16)")
    p.add_argument("--no-gram", action="store_true",
                   help="leave out the Gram matrices (Wanda needs only the sums of squares; "
                        "SparseGPT needs them)")
    p.add_argument("--activation", choices=["relu", "gelu"], default="relu",
                   help="an MLP's hidden activation (default relu)")


def run(args, out):
    """Runs ``wavesparse calibrate`` (see :func:`add_arguments`); returns 0.

    Raises ValueError (one line, exit 2) for inputs that do not fit the
    checkpoint, and :class:`wavesparse.io.CheckpointError` for a checkpoint
    that is not an encoder or MLP.
    """
    from wavesparse import io
    from wavesparse.runtime.encoder import resolve_config
    from wavesparse.runtime.model import is_encoder
    if args.batch < 1:
        raise ValueError("--batch must be at least 1, got %d" % args.batch)
    check_destination(args.output, argument="-o")
    _refuse_output_over(args.output, [("the checkpoint", args.checkpoint),
                                      ("--texts", args.texts), ("--inputs", args.inputs)])
    weights = io.load(args.checkpoint, dense=True)
    recorder = Recorder(gram=not args.no_gram)
    encoder = is_encoder(weights)
    if args.texts is not None:
        if not encoder:
            raise ValueError("--texts needs an encoder checkpoint; %s holds no encoder "
                             "(an MLP takes --inputs)" % args.checkpoint)
        try:
            with open(args.texts, encoding="utf8") as f:
                texts = [line.strip() for line in f if line.strip()]
        except UnicodeDecodeError as exc:
            raise ValueError("--texts %s is not UTF-8 text: %s" % (args.texts, exc)) from None
        if not texts:
            raise ValueError("--texts %s holds no text" % args.texts)
        config = resolve_config(args.checkpoint, args.config)
        tokenizer = tokenizer_for(args.checkpoint, args.tokenizer,
                                  weights["embeddings.position_embeddings.weight"].shape[0])

        def batches():
            for start in range(0, len(texts), args.batch):
                encoded = tokenizer.encode_batch(texts[start:start + args.batch])
                yield (np.array([e.ids for e in encoded], dtype=np.int64),
                       np.array([e.attention_mask for e in encoded], dtype=np.int64))

        rows = record_encoder(weights, config, batches(), recorder)
        source = "%d lines of %s, %d tokens" % (len(texts), os.path.basename(args.texts), rows)
    else:
        if encoder:
            raise ValueError("--inputs needs an MLP checkpoint; %s holds an encoder "
                             "(use --texts)" % args.checkpoint)
        x = _load_inputs(args.inputs)
        rows = record_mlp(weights, x, recorder, args.activation)
        source = "%d rows of %s" % (rows, os.path.basename(args.inputs))
    recorder.save(args.output, metadata={"checkpoint": os.path.basename(args.checkpoint),
                                         "data": source})
    print("Recorded the inputs of %d weights of %s on %s; wrote %s"
          % (len(recorder.names()), args.checkpoint, source, args.output), file=out)
    return 0
