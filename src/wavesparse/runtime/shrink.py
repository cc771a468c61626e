"""Structured pruning that makes an encoder physically smaller.

:func:`shrink_encoder` removes attention heads (scored over the query, key
and value rows of each head together) and feed-forward units with
:class:`~wavesparse.StructuredPruner`, then slices the layers that read
them with :func:`~wavesparse.pruning.propagate`: the result is a smaller
dense checkpoint that :class:`~wavesparse.runtime.Encoder` runs as it is.

Examples
--------
>>> from wavesparse.runtime.shrink import shrink_encoder
>>> from wavesparse.runtime.toy import tiny_encoder
>>> weights, config = tiny_encoder(heads=4)
>>> small = shrink_encoder(weights, config, 0.5)
>>> small["encoder.layer.0.attention.self.query.weight"].shape
(4, 8)
>>> small["encoder.layer.0.intermediate.dense.weight"].shape
(16, 8)
"""

import numpy as np

from wavesparse import io
from wavesparse.pruning import StructuredPruner, propagate

__all__ = ["shrink_encoder"]


def shrink_encoder(weights, config, sparsity, metric="l1"):
    """A copy of BERT-style ``weights`` with ``sparsity`` of each layer's
    heads and feed-forward units removed (at least one of each stays).

    Parameters
    ----------
    weights : dict
        Tensors by the Hugging Face BERT names (sparse ones are expanded).
    config : dict
        ``hidden_size``, ``num_attention_heads``, ``num_hidden_layers``.
    sparsity : float
        Fraction of heads, and of feed-forward units, to remove per layer.
    metric : {"l1", "l2"}
        The unit importance of :class:`~wavesparse.StructuredPruner`.

    Returns
    -------
    dict
        Dense tensors; the pruned layers are smaller.

    Examples
    --------
    >>> from wavesparse.runtime.shrink import shrink_encoder
    >>> from wavesparse.runtime.toy import tiny_encoder
    >>> small = shrink_encoder(*tiny_encoder(heads=4), 0.75)
    >>> small["encoder.layer.1.attention.output.dense.weight"].shape
    (8, 2)
    """
    pruner = StructuredPruner(sparsity, importance_metric=metric)
    heads = config["num_attention_heads"]
    d = config["hidden_size"] // heads
    out = {k: io.to_dense(v) for k, v in weights.items()}
    for i in range(config["num_hidden_layers"]):
        p = "encoder.layer.%d." % i
        qkv = [p + "attention.self.%s." % n for n in ("query", "key", "value")]
        rows = out[qkv[0] + "weight"].shape[0]
        together = np.concatenate([out[n + "weight"] for n in qkv], axis=1)
        _, kept = pruner.prune_attention_heads(together, rows // d)
        units = (kept[:, None] * d + np.arange(d)).ravel()
        for n in qkv:
            out[n + "weight"] = np.ascontiguousarray(out[n + "weight"][units])
            out[n + "bias"] = np.ascontiguousarray(out[n + "bias"][units])
        dense = p + "attention.output.dense.weight"
        out[dense] = np.ascontiguousarray(propagate(out[dense], kept, axis=1, group=d))
        inter = p + "intermediate.dense."
        out[inter + "weight"], kept = pruner.prune_channels(out[inter + "weight"])
        out[inter + "bias"] = np.ascontiguousarray(out[inter + "bias"][kept])
        down = p + "output.dense.weight"
        out[down] = np.ascontiguousarray(propagate(out[down], kept, axis=1))
    return out
