"""Outlier-weighted layer-wise sparsity (Yin et al. 2023, "OWL").

A layer's outlier ratio is the fraction of its weights whose score exceeds
``m`` times the layer's mean score; the score is ``|w|``, or with input
statistics Wanda's ``|w_ij| * ||x_j||`` (the root of each input feature's
sum of squares).  Layers with more outliers are pruned less: the ratios are
scaled linearly onto a span of ``2 * lam`` and subtracted from a common
level, which is then shifted until the parameter-weighted average is the
target; every layer stays within ``target +- lam``.

Examples
--------
>>> import numpy as np
>>> from wavesparse.sensitivity.owl import outlier_ratio
>>> outlier_ratio(np.array([[1.0, 1.0, 1.0, 9.0]]), m=2.0)
0.25
"""

import numpy as np

__all__ = ["outlier_ratio", "owl_family"]


def outlier_ratio(w, m, feature_norms=None):
    """The fraction of ``w``'s scores above ``m`` times their mean.

    ``w`` is read as a matrix ``(shape[0], rest)``; ``feature_norms`` (one
    per column) turns ``|w|`` into Wanda's ``|w| * ||x_j||``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.sensitivity.owl import outlier_ratio
    >>> outlier_ratio(np.ones((2, 2)), m=2.0, feature_norms=[10.0, 1.0])
    0.0
    """
    score = np.abs(np.asarray(w, dtype=np.float64))
    score = score.reshape(score.shape[0], -1) if score.ndim > 1 else score.reshape(1, -1)
    if feature_norms is not None:
        score = score * np.asarray(feature_norms, dtype=np.float64)[None, :]
    mean = score.mean() if score.size else 0.0
    return float(np.count_nonzero(score > m * mean)) / score.size if score.size else 0.0


def owl_family(ratios, target, lam, lower, upper):
    """``(sparsity_of, low, high, lower, upper)`` for the OWL fit.

    Layer i's sparsity at shift ``c`` is ``c - 2 * lam * (r_i - min r) /
    (max r - min r)`` (every layer ``c`` when the ratios are all equal); the
    returned bounds are ``lower``/``upper`` narrowed to ``target +- lam``.

    Examples
    --------
    >>> from wavesparse.sensitivity.owl import owl_family
    >>> sparsity_of, low, high, lower, upper = owl_family([0.0, 0.5, 1.0], 0.5, 0.1, 0.0, 0.99)
    >>> sparsity_of(0.6).round(2).tolist(), lower.tolist(), upper.tolist()
    ([0.6, 0.5, 0.4], [0.4, 0.4, 0.4], [0.6, 0.6, 0.6])
    """
    ratios = np.asarray(ratios, dtype=np.float64)
    span = ratios.max() - ratios.min() if ratios.size else 0.0
    scaled = 2.0 * lam * (ratios - ratios.min()) / span if span > 0 else np.zeros_like(ratios)
    lower = np.maximum(np.broadcast_to(lower, ratios.shape), target - lam)
    upper = np.minimum(np.broadcast_to(upper, ratios.shape), target + lam)
    return (lambda c: c - scaled), -2.0, 2.0 + 2.0 * lam, lower, upper
