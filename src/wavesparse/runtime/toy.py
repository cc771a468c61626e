"""Small random models for examples and tests: a two-layer BERT-style
encoder and an MLP, with weights of the shapes and names real checkpoints
use.

Examples
--------
>>> from wavesparse.runtime.toy import tiny_encoder
>>> weights, config = tiny_encoder()
>>> weights["encoder.layer.0.intermediate.dense.weight"].shape
(32, 8)
"""

import numpy as np

__all__ = ["tiny_encoder", "tiny_mlp"]


def tiny_encoder(hidden=8, heads=2, layers=2, intermediate=32, vocab=50, positions=16,
                 seed=0):
    """(weights, config) of a random BERT-style encoder.

    Examples
    --------
    >>> from wavesparse.runtime.toy import tiny_encoder
    >>> tiny_encoder(hidden=16)[1]["hidden_size"]
    16
    """
    rng = np.random.default_rng(seed)

    def t(*shape, scale=0.3):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    w = {"embeddings.word_embeddings.weight": t(vocab, hidden, scale=1.0),
         "embeddings.position_embeddings.weight": t(positions, hidden),
         "embeddings.token_type_embeddings.weight": t(2, hidden),
         "embeddings.LayerNorm.weight": 1 + t(hidden, scale=0.1),
         "embeddings.LayerNorm.bias": t(hidden, scale=0.1)}
    shapes = {"attention.self.query": (hidden, hidden), "attention.self.key": (hidden, hidden),
              "attention.self.value": (hidden, hidden),
              "attention.output.dense": (hidden, hidden),
              "intermediate.dense": (intermediate, hidden),
              "output.dense": (hidden, intermediate)}
    for i in range(layers):
        p = "encoder.layer.%d." % i
        for name, shape in shapes.items():
            w[p + name + ".weight"] = t(*shape, scale=1.0 / np.sqrt(shape[1]))
            w[p + name + ".bias"] = t(shape[0], scale=0.1)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + norm + ".weight"] = 1 + t(hidden, scale=0.1)
            w[p + norm + ".bias"] = t(hidden, scale=0.1)
    config = {"hidden_size": hidden, "num_attention_heads": heads, "num_hidden_layers": layers,
              "intermediate_size": intermediate, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
              "max_position_embeddings": positions, "vocab_size": vocab}
    return w, config


def tiny_mlp(sizes=(12, 16, 8, 3), seed=0):
    """Weights ``layers.I.weight`` (out, in) and ``layers.I.bias`` of an MLP.

    Examples
    --------
    >>> from wavesparse.runtime.toy import tiny_mlp
    >>> sorted(tiny_mlp((4, 2)))
    ['layers.0.bias', 'layers.0.weight']
    """
    rng = np.random.default_rng(seed)
    out = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        out["layers.%d.weight" % i] = (rng.standard_normal((n_out, n_in))
                                       / np.sqrt(n_in)).astype(np.float32)
        out["layers.%d.bias" % i] = (0.1 * rng.standard_normal(n_out)).astype(np.float32)
    return out
