"""A multilayer perceptron on the runtime's Linears.

Activations are feature-major, ``(features, batch)``: the input is
transposed once, each layer is ``act(W @ X + b)`` with the activation in the
product's output write, and the logits are transposed back.

Examples
--------
>>> import numpy as np
>>> from wavesparse.runtime import MLP
>>> from wavesparse.runtime.toy import tiny_mlp
>>> MLP.from_weights(tiny_mlp()).forward(np.ones((5, 12), np.float32)).shape
(5, 3)
"""

import re

import numpy as np
import scipy.sparse as sp

from wavesparse import io
from wavesparse.runtime import threads
from wavesparse.runtime.kernels import activation_code
from wavesparse.runtime.linear import Linear, logical_shape

__all__ = ["MLP", "mlp_layers", "mlp_weight_names"]

_SKLEARN = re.compile(r"^coefs_\.(\d+)$")
_TORCH = re.compile(r"^(.*?)(\d+)\.weight$")


def _transpose(w):
    """A (in, out) weight as (out, in), in its layout."""
    if not sp.issparse(w):
        return np.ascontiguousarray(np.asarray(w).T)
    t = w.T.tocsr() if w.format == "csr" else w.T.tobsr()
    original = getattr(w, "original_shape", None)
    if original is not None:
        t.original_shape = tuple(original)[::-1]
    return t


def mlp_layers(weights, source="the checkpoint"):
    """The ``[(weight (out, in), bias), ...]`` of an MLP checkpoint.

    Two namings: scikit-learn's ``coefs_.I`` (``(in, out)``, transposed
    here, in its layout) with ``intercepts_.I``; or ``PREFIX I.weight``
    (``(out, in)``, as torch stores a Linear) with ``PREFIX I.bias``, in the
    order of I.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.mlp import mlp_layers
    >>> layers = mlp_layers({"coefs_.0": np.ones((4, 2)), "intercepts_.0": np.zeros(2)})
    >>> layers[0][0].shape
    (2, 4)
    """
    from wavesparse.runtime.errors import require
    found = sorted((int(m.group(1)), name) for name in weights
                   for m in [_SKLEARN.match(name)] if m)
    if found:
        require(weights, ["intercepts_.%d" % i for i, _ in found], source)
        layers = [(_transpose(weights[n]), weights["intercepts_.%d" % i]) for i, n in found]
    else:
        found = sorted((int(m.group(2)), m.group(1), name) for name in weights
                       for m in [_TORCH.match(name)]
                       if m and (sp.issparse(weights[name]) or np.ndim(weights[name]) == 2))
        if not found:
            raise io.CheckpointError("%s holds no MLP weights (coefs_.I, or I.weight "
                                     "matrices)" % source)
        require(weights, [p + "%d.bias" % i for i, p, _ in found], source)
        layers = [(weights[n], weights[p + "%d.bias" % i]) for i, p, n in found]
    shapes = [logical_shape(w) for w, _ in layers]
    for j in range(1, len(layers)):
        if shapes[j][1] != shapes[j - 1][0]:
            raise io.CheckpointError("%s: layer %d takes %d inputs but layer %d gives %d"
                                     % (source, j, shapes[j][1], j - 1, shapes[j - 1][0]))
    return layers


def mlp_weight_names(weights):
    """The weight names of an MLP checkpoint with torch's naming (``PREFIX
    I.weight``, ``(out, in)``), in layer order; the statistics of
    :mod:`wavesparse.calibration` are per input feature of such weights.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.mlp import mlp_weight_names
    >>> mlp_weight_names({"net.2.weight": np.ones((2, 3)), "net.0.weight": np.ones((3, 4)),
    ...                   "net.0.bias": np.ones(3), "net.2.bias": np.ones(2)})
    ['net.0.weight', 'net.2.weight']
    """
    if any(_SKLEARN.match(name) for name in weights):
        raise io.CheckpointError("scikit-learn's coefs_.I are stored (in, out): save the "
                                 "weights as (out, in) 'I.weight' with 'I.bias' to record "
                                 "their inputs")
    mlp_layers(weights)  # the checks: biases there, widths chained
    found = sorted((int(m.group(2)), name) for name in weights for m in [_TORCH.match(name)]
                   if m and (sp.issparse(weights[name]) or np.ndim(weights[name]) == 2))
    return [name for _, name in found]


class MLP:
    """Logits of an MLP: ``activation`` after every layer but the last.

    Parameters
    ----------
    layers : list of (weight, bias)
        ``weight`` ``(out, in)``: ndarray, CSR or BSR (kept in its layout).
    activation : {"relu", "gelu", "none"}
        scikit-learn's default is ReLU.
    dtype : numpy dtype

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime import MLP
    >>> MLP([(np.eye(2), np.zeros(2))]).forward(np.array([[1.0, -1.0]]))
    array([[ 1., -1.]], dtype=float32)
    """

    def __init__(self, layers, activation="relu", dtype=np.float32):
        activation_code(activation)
        self.dtype = np.dtype(dtype)
        self.activation = activation
        self.layers = []
        for i, (w, b) in enumerate(layers):
            if sp.issparse(w):
                w = w if w.dtype == self.dtype else w.astype(self.dtype)
            else:
                w = np.asarray(w, dtype=self.dtype)
            act = activation if i + 1 < len(layers) else "none"
            self.layers.append(Linear(w, np.asarray(io.to_dense(b), self.dtype), act))

    @classmethod
    def from_weights(cls, weights, activation="relu", dtype=np.float32,
                     source="the checkpoint"):
        """An MLP from checkpoint tensors (see :func:`mlp_layers`).

        Examples
        --------
        >>> from wavesparse.runtime import MLP
        >>> from wavesparse.runtime.toy import tiny_mlp
        >>> [layer.shape for layer in MLP.from_weights(tiny_mlp()).layers]
        [(16, 12), (8, 16), (3, 8)]
        """
        return cls(mlp_layers(weights, source), activation, dtype)

    @classmethod
    def from_sklearn(cls, clf, dtype=np.float32):
        """The network of a fitted ``MLPClassifier``/``MLPRegressor``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.neural_network import MLPClassifier
        >>> from wavesparse.runtime import MLP
        >>> x = np.random.default_rng(0).random((20, 4))
        >>> y = (x[:, 0] > 0.5).astype(int) + (x[:, 1] > 0.5)
        >>> clf = MLPClassifier((8,), solver="lbfgs", max_iter=2000, random_state=0).fit(x, y)
        >>> bool((MLP.from_sklearn(clf).forward(x).argmax(1) == clf.predict(x)).all())
        True
        """
        weights = {"coefs_.%d" % i: w for i, w in enumerate(clf.coefs_)}
        weights.update({"intercepts_.%d" % i: b for i, b in enumerate(clf.intercepts_)})
        activation = {"relu": "relu", "identity": "none"}.get(clf.activation)
        if activation is None:
            raise ValueError("the runtime runs ReLU or identity MLPs, got activation %r"
                             % clf.activation)
        return cls.from_weights(weights, activation, dtype)

    @property
    def in_features(self):
        """Inputs of the first layer; see :class:`MLP`."""
        return self.layers[0].in_features

    def forward(self, x):
        """Logits ``(batch, out)`` of inputs ``(batch, in)``.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.runtime import MLP
        >>> MLP([(np.ones((1, 2)), np.zeros(1))]).forward(np.ones((3, 2))).ravel()
        array([2., 2., 2.], dtype=float32)
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError("x must have shape (batch, %d), got %s"
                             % (self.in_features, x.shape))
        h = np.ascontiguousarray(x.T, dtype=self.dtype)
        with threads.discipline(self.layers):
            for layer in self.layers:
                h = layer(h)
        return np.ascontiguousarray(h.T)
