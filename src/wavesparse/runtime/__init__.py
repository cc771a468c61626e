"""Runs pruned checkpoints: a BERT-style encoder and MLPs on our products.

Each Linear keeps the layout its weight is stored in (dense BLAS, CSR or
BSR products with the bias and activation fused into the output write);
activations stay feature-major so every product reads its natural operand;
softmax and layer norm are compiled; OpenBLAS is held to one thread while
sparse products run (:mod:`~wavesparse.runtime.threads`).

Examples
--------
>>> import numpy as np
>>> from wavesparse.runtime import MLP
>>> from wavesparse.runtime.toy import tiny_mlp
>>> MLP.from_weights(tiny_mlp()).forward(np.zeros((1, 12), np.float32)).shape
(1, 3)
"""

from wavesparse.runtime.encoder import Encoder
from wavesparse.runtime.errors import MissingTensorError
from wavesparse.runtime.linear import Linear
from wavesparse.runtime.mlp import MLP
from wavesparse.runtime.model import load_model

__all__ = ["Encoder", "MLP", "Linear", "MissingTensorError", "load_model"]
