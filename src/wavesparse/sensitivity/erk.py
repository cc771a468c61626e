"""Erdos-Renyi-Kernel densities (Evci et al. 2020, "Rigging the Lottery").

A tensor of shape ``(d_1, ..., d_r)`` keeps a fraction of its weights
proportional to ``(d_1 + ... + d_r) / (d_1 * ... * d_r)``: small layers stay
denser, large ones are pruned harder.  One scale ``eps`` makes the densities
meet the target; a layer whose density would pass its bound is held at the
bound and the others take up the difference (as RigL holds layers dense).

Examples
--------
>>> from wavesparse.sensitivity.erk import erk_raw
>>> erk_raw((4, 4)), round(erk_raw((16, 4, 3, 3)), 4)
(0.5, 0.0451)
"""

import numpy as np

__all__ = ["erk_raw", "erk_family"]


def erk_raw(shape):
    """The unscaled ERK density ``sum(shape) / prod(shape)`` of one tensor.

    Examples
    --------
    >>> from wavesparse.sensitivity.erk import erk_raw
    >>> erk_raw((8, 8))
    0.25
    """
    return float(np.sum(shape)) / float(np.prod(shape))


def erk_family(shapes, lower, upper):
    """``(sparsity_of, low, high)`` for :func:`~wavesparse.sensitivity.fit.fit_family`.

    The sparsity of layer i at scale ``lam`` is ``1 - raw_i / lam`` (density
    ``raw_i * eps`` with ``eps = 1 / lam``), non-decreasing in ``lam``.

    Examples
    --------
    >>> from wavesparse.sensitivity.erk import erk_family
    >>> sparsity_of, low, high = erk_family([(8, 8), (16, 16)], 0.0, 0.99)
    >>> sparsity_of(0.5).tolist()
    [0.5, 0.75]
    """
    raw = np.array([erk_raw(s) for s in shapes])
    lower = np.broadcast_to(np.asarray(lower, dtype=np.float64), raw.shape)
    upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), raw.shape)
    low = 0.5 * float(np.min(raw / (1.0 - lower)))
    high = 2.0 * float(np.max(raw / (1.0 - upper)))
    return (lambda lam: 1.0 - raw / lam), low, high
