"""Erdos-Renyi-Kernel densities (Evci et al. 2020, "Rigging the Lottery").

A tensor of shape ``(d_1, ..., d_r)`` keeps a fraction of its weights
proportional to ``(d_1 + ... + d_r) / (d_1 * ... * d_r)``: small layers stay
denser, large ones are pruned harder.  One scale ``eps`` makes the densities
meet the target; a layer whose density would pass its bound is held at the
bound and the others take up the difference (as RigL holds layers dense).

The per-tensor score is :func:`wavesparse.pruning.erk.erk_score`, the one
dynamic sparse training uses; here it is held within per-layer bounds.

Examples
--------
>>> from wavesparse.sensitivity.erk import erk_family
>>> sparsity_of, low, high = erk_family([(4, 4)], 0.0, 0.99)
>>> sparsity_of(1.0).tolist()
[0.5]
"""

import numpy as np

from wavesparse.pruning.erk import erk_score

__all__ = ["erk_family"]


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
    raw = np.array([erk_score(s) for s in shapes])
    lower = np.broadcast_to(np.asarray(lower, dtype=np.float64), raw.shape)
    upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), raw.shape)
    low = 0.5 * float(np.min(raw / (1.0 - lower)))
    high = 2.0 * float(np.max(raw / (1.0 - upper)))
    return (lambda lam: 1.0 - raw / lam), low, high
