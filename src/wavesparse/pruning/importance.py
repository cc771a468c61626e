"""Importance scores: how much each weight (or unit) matters.

Each function returns non-negative float64-or-input-dtype scores of the
weights' shape; the selector of :mod:`wavesparse.pruning.selection` prunes the
smallest.

Examples
--------
>>> import numpy as np
>>> from wavesparse.pruning import importance
>>> importance.magnitude(np.array([-2.0, 1.0]))
array([2., 1.])
>>> importance.taylor(np.array([-2.0, 1.0]), np.array([0.5, -3.0]))
array([1., 3.])
"""

import numpy as np

from wavesparse import _validate as check

__all__ = ["magnitude", "taylor", "block_norms", "wanda"]


def magnitude(w):
    """``|w|`` (Han et al. 2015)."""
    return np.abs(w)


def taylor(w, grad):
    """``|w * grad|``, the first-order Taylor estimate of the loss change
    (Molchanov et al. 2017); ``grad`` must have the shape of ``w``."""
    grad = check.float_array(grad, "grad")
    if grad.shape != np.shape(w):
        raise ValueError("grad must have the shape of w %s, got %s"
                         % (np.shape(w), grad.shape))
    return np.abs(w * grad)


def wanda(w, feature_norms):
    """``|W_ij| * ||X_j||`` (Sun et al. 2023): a weight's magnitude times the
    norm of the input feature it multiplies, as float64 of ``w``'s shape.

    ``w`` of shape ``(n_out, ...)`` is the matrix ``(n_out, n_in)`` (a 1-D
    ``w`` is one row); ``feature_norms`` has ``n_in`` values.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning.importance import wanda
    >>> wanda(np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([3.0, 10.0]))
    array([[ 3., 10.],
           [ 6.,  5.]])
    """
    shape = np.shape(w)
    matrix = np.abs(np.asarray(w, dtype=np.float64)).reshape(
        shape[0] if len(shape) > 1 else 1, -1)
    return (matrix * np.asarray(feature_norms, dtype=np.float64)).reshape(shape)


def block_norms(w, block, norm="l1"):
    """The L1 or L2 norm of every (R, C) block of a 2-D ``w`` (edge blocks
    partial), as a ``(ceil(rows / R), ceil(cols / C))`` float64 array.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning.importance import block_norms
    >>> block_norms(np.arange(6.0).reshape(2, 3), (2, 2))
    array([[8., 7.]])
    """
    r, c = block
    rows, cols = w.shape
    pr, pc = -(-rows // r) * r, -(-cols // c) * c
    padded = np.zeros((pr, pc), np.float64)
    padded[:rows, :cols] = w
    tiles = padded.reshape(pr // r, r, pc // c, c)
    if norm == "l1":
        return np.abs(tiles).sum(axis=(1, 3))
    return np.sqrt(np.square(tiles).sum(axis=(1, 3)))
