"""The plain numpy forwards: the oracle of the runtime's tests and the second
reference of its benchmark.

Token-major (``(batch, length, hidden)``), dense weights (sparse ones are
expanded), every step written out with numpy and ``scipy.special.erf``, as
the quality harness computed MiniLM before the runtime existed.  Structured
pruned weights work as they are: the heads of a layer are its query rows
over the head size.

Examples
--------
>>> import numpy as np
>>> from wavesparse.runtime import reference
>>> np.round(reference.gelu(np.array([-1.0, 0.0, 1.0])), 4)
array([-0.1587,  0.    ,  0.8413])
"""

import numpy as np

from wavesparse import io

__all__ = ["gelu", "layer_norm", "encoder_forward", "mlp_forward"]


def gelu(x):
    """The exact GELU, ``x * Phi(x)``, with ``scipy.special.erf``.

    Examples
    --------
    >>> from wavesparse.runtime.reference import gelu
    >>> float(gelu(0.0))
    0.0
    """
    from scipy.special import erf
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def layer_norm(x, weight, bias, eps):
    """Layer norm over the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.reference import layer_norm
    >>> layer_norm(np.array([1.0, 3.0]), np.ones(2), np.zeros(2), 0.0)
    array([-1.,  1.])
    """
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _dense(weights, dtype=np.float32):
    return {k: io.to_dense(v).astype(dtype, copy=False) for k, v in weights.items()}


def encoder_forward(weights, config, ids, mask, hook=None, layers=None):
    """Unit-length mean-pooled sentence embeddings of a BERT-style encoder.

    Parameters
    ----------
    weights : dict
        Tensors by the Hugging Face BERT names (ndarray or scipy sparse).
    config : dict
        ``hidden_size``, ``num_attention_heads``, ``num_hidden_layers``,
        ``layer_norm_eps`` (the model's ``config.json``).
    ids, mask : ndarray of int
        ``(batch, length)`` token ids and attention mask (1 = real token).
    hook : callable, optional
        ``hook(layer, linear name, x)`` sees each Linear's input on the real
        tokens (``(tokens, in_features)``): how calibration statistics are
        recorded.
    layers : int, optional
        Run only the first ``layers`` encoder layers and return None (for
        recording one layer's inputs).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime import reference
    >>> from wavesparse.runtime.toy import tiny_encoder
    >>> weights, config = tiny_encoder()
    >>> reference.encoder_forward(weights, config, np.array([[1, 2]]), np.ones((1, 2))).shape
    (1, 8)
    """
    w = _dense(weights)
    eps = config["layer_norm_eps"]
    d = config["hidden_size"] // config["num_attention_heads"]
    batch, length = ids.shape
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][:length]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    blocked = (1.0 - mask[:, None, None, :].astype(np.float32)) * np.float32(-1e9)
    real = np.asarray(mask).astype(bool)
    for i in range(config["num_hidden_layers"] if layers is None else layers):
        p = "encoder.layer.%d." % i

        def linear(t, name):
            if hook is not None:
                hook(i, name, t[real])
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = linear(x, "attention.self.query")
        heads = q.shape[-1] // d

        def split(t):
            return t.reshape(batch, length, heads, d).transpose(0, 2, 1, 3)

        q, k, v = split(q), split(linear(x, "attention.self.key")), \
            split(linear(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d)) + blocked
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * d)
        x = layer_norm(x + linear(context, "attention.output.dense"),
                       w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        h = gelu(linear(x, "intermediate.dense"))
        x = layer_norm(x + linear(h, "output.dense"), w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
    if layers is not None:
        return None
    m = mask[:, :, None].astype(np.float32)
    pooled = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def mlp_forward(layers, x, activation="relu"):
    """Logits of an MLP: ``activation`` after every layer but the last.

    Parameters
    ----------
    layers : list of (weight, bias)
        ``weight`` is ``(out, in)`` (ndarray or scipy sparse).
    x : ndarray
        ``(batch, in)``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.reference import mlp_forward
    >>> mlp_forward([(np.array([[1.0, -1.0]]), np.array([0.5]))], np.array([[2.0, 1.0]]))
    array([[1.5]])
    """
    for i, (weight, bias) in enumerate(layers):
        x = x @ io.to_dense(weight).T + bias
        if i + 1 < len(layers):
            x = np.maximum(x, 0) if activation == "relu" else gelu(x)
    return x
