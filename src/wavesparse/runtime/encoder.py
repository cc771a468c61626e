"""A BERT-style sentence encoder (all-MiniLM-L6-v2's architecture) on the
runtime's Linears and compiled per-token kernels.

Activations are feature-major, ``(hidden, batch * length)``: every Linear
is then ``W @ X`` on a C-ordered operand, the layout the products read best,
and the bias (and GELU) land in the products' output write.  Attention runs
per (sequence, head) in compiled register tiles over the threads (float32;
numpy's batched matmul otherwise), reading the fused query/key/value product
in place, with a compiled masked softmax;
residual adds and layer norms are one compiled pass each.  Structured-pruned
layers are physically smaller: a layer's head count is its query rows over
the head size, its feed-forward width its intermediate rows.

Examples
--------
>>> import numpy as np
>>> from wavesparse.runtime import Encoder
>>> from wavesparse.runtime.toy import tiny_encoder
>>> weights, config = tiny_encoder()
>>> e = Encoder(weights, config).forward(np.array([[1, 2, 3]]), np.ones((1, 3), int))
>>> e.shape, round(float(np.linalg.norm(e)), 5)
((1, 8), 1.0)
"""

import json
import os
import time

import numpy as np
import scipy.sparse as sp

from wavesparse import io
from wavesparse.runtime import kernels, threads
from wavesparse.runtime.errors import require
from wavesparse.runtime.linear import Linear, stack_rows

__all__ = ["Encoder", "EncoderLayer", "PartTimer", "encoder_tensor_names", "read_config", "resolve_config"]

_EMBEDDINGS = ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
               "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
               "embeddings.LayerNorm.bias")
_LINEARS = ("attention.self.query", "attention.self.key", "attention.self.value",
            "attention.output.dense", "intermediate.dense", "output.dense")
_NORMS = ("attention.output.LayerNorm", "output.LayerNorm")


def encoder_tensor_names(layers):
    """Every tensor name an encoder of ``layers`` layers needs.

    Examples
    --------
    >>> from wavesparse.runtime.encoder import encoder_tensor_names
    >>> len(encoder_tensor_names(6))
    101
    """
    names = list(_EMBEDDINGS)
    for i in range(layers):
        p = "encoder.layer.%d." % i
        for part in _LINEARS + _NORMS:
            names += [p + part + ".weight", p + part + ".bias"]
    return names


def read_config(path):
    """A model's ``config.json`` as a dict, checked for what the encoder reads.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from wavesparse.runtime.encoder import read_config
    >>> path = os.path.join(tempfile.mkdtemp(), "config.json")
    >>> with open(path, "w") as f:
    ...     json.dump({"hidden_size": 8, "num_attention_heads": 2,
    ...                "num_hidden_layers": 1, "layer_norm_eps": 1e-12}, f)
    >>> read_config(path)["hidden_size"]
    8
    """
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError) as exc:
        raise io.CheckpointError("cannot read the model config %s: %s" % (path, exc)) from None
    _check_config(config, path)
    return config


def resolve_config(path, config=None):
    """The config of the checkpoint at ``path``: ``config`` itself (a dict),
    read from ``config`` (a path), or the ``config.json`` beside the file.

    Examples
    --------
    >>> from wavesparse.runtime.encoder import resolve_config
    >>> resolve_config("model.npz", {"hidden_size": 8, "num_attention_heads": 2,
    ...                              "num_hidden_layers": 1, "layer_norm_eps": 0.0})["hidden_size"]
    8
    """
    if isinstance(config, dict):
        _check_config(config, "the config given")
        return config
    if config is None:
        config = os.path.join(os.path.dirname(os.path.abspath(path)), "config.json")
        if not os.path.isfile(config):
            raise io.CheckpointError("%s: no config.json beside it; give the model's "
                                     "config (--config)" % path)
    return read_config(config)


def _check_config(config, source):
    for key in ("hidden_size", "num_attention_heads", "num_hidden_layers", "layer_norm_eps"):
        if key not in config:
            raise io.CheckpointError("the model config %s lacks %r" % (source, key))
    if config.get("hidden_act", "gelu") != "gelu":
        raise io.CheckpointError("the model config %s asks for hidden_act %r; the encoder "
                                 "runs the exact 'gelu'" % (source, config["hidden_act"]))
    if config["hidden_size"] % config["num_attention_heads"]:
        raise io.CheckpointError("the model config %s: %d heads do not divide hidden_size %d"
                                 % (source, config["num_attention_heads"],
                                    config["hidden_size"]))


def _dense(value, dtype):
    return np.ascontiguousarray(io.to_dense(value), dtype=dtype)


def _weight(value, dtype):
    """A Linear's weight in its stored layout, in ``dtype``."""
    if sp.issparse(value):
        return value if value.dtype == dtype else value.astype(dtype)
    if getattr(value, "format", None) == "nm":
        if value.dtype == dtype:
            return value
        return type(value)(value.values.astype(dtype), value.positions, value.n, value.m,
                           value.shape)
    return np.ascontiguousarray(value, dtype=dtype)


class EncoderLayer:
    """One transformer layer: fused QKV, attention, output, feed-forward.

    Examples
    --------
    >>> from wavesparse.runtime import Encoder
    >>> from wavesparse.runtime.toy import tiny_encoder
    >>> Encoder(*tiny_encoder()).layers[0].heads
    2
    """

    def __init__(self, weights, prefix, head_dim, eps, dtype):
        def get(name):
            return weights[prefix + name]

        qkv = [_weight(get(n + ".weight"), dtype) for n in _LINEARS[:3]]
        rows = [w.shape[0] for w in qkv]
        if len(set(rows)) != 1 or rows[0] % head_dim:
            raise io.CheckpointError("%squery/key/value have %s rows; each must be the same "
                                     "multiple of the head size %d" % (prefix, rows, head_dim))
        self.heads = rows[0] // head_dim
        self.head_dim = head_dim
        biases = np.concatenate([_dense(get(n + ".bias"), dtype) for n in _LINEARS[:3]])
        stacked = stack_rows(qkv)
        if stacked is not None:
            self.qkv = [Linear(stacked, biases)]
        else:
            self.qkv = [Linear(w, b) for w, b in zip(qkv, np.split(biases, 3))]
        self.attention_out = Linear(_weight(get("attention.output.dense.weight"), dtype),
                                    _dense(get("attention.output.dense.bias"), dtype))
        self.intermediate = Linear(_weight(get("intermediate.dense.weight"), dtype),
                                   _dense(get("intermediate.dense.bias"), dtype), "gelu")
        self.output = Linear(_weight(get("output.dense.weight"), dtype),
                             _dense(get("output.dense.bias"), dtype))
        self.norms = [(_dense(get(n + ".weight"), dtype), _dense(get(n + ".bias"), dtype))
                      for n in _NORMS]
        self.eps = eps

    @property
    def linears(self):
        """The layer's Linears, in the order they run."""
        return self.qkv + [self.attention_out, self.intermediate, self.output]

    def __call__(self, x, keep, batch, length, timer=None):
        """``x`` (hidden, batch * length) updated in place; keep (batch, length) uint8.

        ``timer.mark(part)`` is called after each part when a timer is given.
        """
        mark = timer.mark if timer is not None else _no_mark
        heads, d = self.heads, self.head_dim
        width = heads * d
        if len(self.qkv) == 1:
            qkv = self.qkv[0](x)
            q, k, v = qkv[:width], qkv[width:2 * width], qkv[2 * width:]
        else:
            q, k, v = (layer(x) for layer in self.qkv)
        mark("linear")

        def per_head(t):  # (heads * d, B * L) -> (B, heads, d, L), a view
            return t.reshape(heads, d, batch, length).transpose(2, 0, 1, 3)

        # C-ordered, so that the softmax's 2-D view of it is no copy.
        scores = np.empty((batch, heads, length, length), x.dtype)
        context = np.empty((width, batch * length), x.dtype)
        # float32: the (sequence, head) pairs over the threads in C; numpy's
        # stacked matmul runs them one after another on one core.
        # The scores are made transposed (keys by queries: q and k swapped),
        # so the context's sum over keys reads them along their rows.
        compiled = x.dtype == np.float32
        with threads.one_blas_thread():
            if compiled:
                kernels.attention_scores(k, q, batch, heads, length, scores)
                mark("attention matmul")
                kernels.masked_softmax_t(scores, keep, 1.0 / np.sqrt(d))
                mark("softmax")
                kernels.attention_context(v, scores, batch, heads, length, context)
            else:
                np.matmul(per_head(q).transpose(0, 1, 3, 2), per_head(k), out=scores)
                mark("attention matmul")
                kernels.masked_softmax(scores.reshape(-1, length), keep, heads * length,
                                       1.0 / np.sqrt(d))
                mark("softmax")
                np.matmul(per_head(v), scores.transpose(0, 1, 3, 2), out=per_head(context))
            mark("attention matmul")
        attended = self.attention_out(context)
        mark("linear")
        kernels.add_layer_norm(attended, x, *self.norms[0], self.eps, out=x)
        mark("norm")
        hidden = self.intermediate(x)
        mark("linear + gelu")
        out = self.output(hidden)
        mark("linear")
        kernels.add_layer_norm(out, x, *self.norms[1], self.eps, out=x)
        mark("norm")
        return x


def _no_mark(part):
    pass


class PartTimer:
    """Wall time per part of a forward pass: each :meth:`mark` charges the
    time since the previous one to its part.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime import Encoder
    >>> from wavesparse.runtime.encoder import PartTimer
    >>> from wavesparse.runtime.toy import tiny_encoder
    >>> timer = PartTimer()
    >>> _ = Encoder(*tiny_encoder()).forward(np.ones((1, 4), int), np.ones((1, 4), int), timer)
    >>> sorted(timer.seconds)
    ['attention matmul', 'linear', 'linear + gelu', 'norm', 'other', 'softmax']
    """

    def __init__(self):
        self.seconds = {}
        self._last = time.perf_counter()

    def mark(self, part):
        """Charge the time since the last mark to ``part``."""
        now = time.perf_counter()
        self.seconds[part] = self.seconds.get(part, 0.0) + now - self._last
        self._last = now


class Encoder:
    """Sentence embeddings of a BERT-style encoder, on the runtime.

    Parameters
    ----------
    weights : dict
        Tensors by the Hugging Face BERT names, as :func:`wavesparse.io.load`
        gives them: each Linear weight dense, CSR or BSR (kept so), the rest
        dense (sparse ones are expanded).  Structured-pruned layers may be
        smaller than the config says.
    config : dict
        The model's ``config.json`` (see :func:`read_config`).
    dtype : numpy dtype
        float32 (default) or float64.
    source : str
        Named in the error when a tensor is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime import Encoder
    >>> from wavesparse.runtime.toy import tiny_encoder
    >>> enc = Encoder(*tiny_encoder())
    >>> [layer.layout for layer in enc.linears()][:2]
    ['dense', 'dense']
    """

    def __init__(self, weights, config, dtype=np.float32, source="the checkpoint"):
        _check_config(config, source)
        self.config = dict(config)
        self.dtype = np.dtype(dtype)
        require(weights, encoder_tensor_names(config["num_hidden_layers"]), source)
        self.embeddings = {n: _dense(weights[n], self.dtype) for n in _EMBEDDINGS}
        self.eps = float(config["layer_norm_eps"])
        head_dim = config["hidden_size"] // config["num_attention_heads"]
        self.layers = [EncoderLayer(weights, "encoder.layer.%d." % i, head_dim, self.eps,
                                    self.dtype)
                       for i in range(config["num_hidden_layers"])]

    @classmethod
    def from_checkpoint(cls, path, config=None, dtype=np.float32):
        """An encoder over a checkpoint file; ``config`` a dict, a path, or
        None for the ``config.json`` beside the checkpoint.

        Examples
        --------
        >>> import json, os, tempfile
        >>> from wavesparse import io
        >>> from wavesparse.runtime import Encoder
        >>> from wavesparse.runtime.toy import tiny_encoder
        >>> weights, config = tiny_encoder()
        >>> folder = tempfile.mkdtemp()
        >>> io.save(os.path.join(folder, "m.npz"), weights)
        >>> with open(os.path.join(folder, "config.json"), "w") as f:
        ...     json.dump(config, f)
        >>> len(Encoder.from_checkpoint(os.path.join(folder, "m.npz")).layers)
        2
        """
        return cls(io.load(path), resolve_config(path, config), dtype=dtype, source=str(path))

    def linears(self):
        """Every Linear of the encoder, layer by layer.

        Examples
        --------
        >>> from wavesparse.runtime import Encoder
        >>> from wavesparse.runtime.toy import tiny_encoder
        >>> len(Encoder(*tiny_encoder()).linears())
        8
        """
        return [linear for layer in self.layers for linear in layer.linears]

    def hidden_states(self, ids, mask, timer=None):
        """The last layer's output, feature-major ``(hidden, batch * length)``.

        ``timer`` (a :class:`PartTimer`) receives the time of each part.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.runtime import Encoder
        >>> from wavesparse.runtime.toy import tiny_encoder
        >>> Encoder(*tiny_encoder()).hidden_states(np.ones((2, 3), int), np.ones((2, 3), int)).shape
        (8, 6)
        """
        ids = np.asarray(ids)
        mask = np.asarray(mask)
        if ids.ndim != 2 or mask.shape != ids.shape:
            raise ValueError("ids and mask must be (batch, length) arrays of one shape, got "
                             "%s and %s" % (ids.shape, mask.shape))
        batch, length = ids.shape
        e = self.embeddings
        if length > e["embeddings.position_embeddings.weight"].shape[0]:
            raise ValueError("sequences of %d tokens are longer than the model's %d positions"
                             % (length, e["embeddings.position_embeddings.weight"].shape[0]))
        vocab = e["embeddings.word_embeddings.weight"].shape[0]
        if ids.size and (ids.min() < 0 or ids.max() >= vocab):
            raise ValueError("token ids must lie in [0, %d) (the model's vocabulary), got "
                             "%d..%d: is the tokenizer the model's?"
                             % (vocab, ids.min(), ids.max()))
        tokens = (e["embeddings.word_embeddings.weight"][ids]
                  + e["embeddings.position_embeddings.weight"][:length]
                  + e["embeddings.token_type_embeddings.weight"][0])
        x = np.ascontiguousarray(tokens.reshape(batch * length, -1).T)
        kernels.add_layer_norm(x, None, e["embeddings.LayerNorm.weight"],
                               e["embeddings.LayerNorm.bias"], self.eps, out=x)
        keep = np.ascontiguousarray(mask != 0, dtype=np.uint8)
        if timer is not None:
            timer.mark("other")
        with threads.discipline(self.linears()):
            for layer in self.layers:
                layer(x, keep, batch, length, timer)
        return x

    def forward(self, ids, mask, timer=None):
        """Unit-length mean-pooled embeddings ``(batch, hidden)`` of token ids.

        ``timer`` (a :class:`PartTimer`) receives the time of each part.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.runtime import Encoder
        >>> from wavesparse.runtime.toy import tiny_encoder
        >>> Encoder(*tiny_encoder()).forward(np.ones((2, 3), int), np.ones((2, 3), int)).shape
        (2, 8)
        """
        x = self.hidden_states(ids, mask, timer)
        batch, length = np.shape(ids)
        m = (np.asarray(mask) != 0).astype(self.dtype)
        pooled = np.einsum("hbl,bl->bh", x.reshape(-1, batch, length), m)
        pooled /= np.maximum(m.sum(axis=1), 1e-9)[:, None]
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        if timer is not None:
            timer.mark("other")
        return pooled
