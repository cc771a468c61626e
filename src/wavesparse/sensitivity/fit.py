"""Turn per-layer sparsity curves into whole-weight counts that hit a target.

Every budget method but "sensitivity" describes its layers' sparsities as a
family ``s(lam)`` that grows with one scalar ``lam`` (ERK's density scale,
OWL's shift, a global threshold).  :func:`fit_family` finds the ``lam`` whose
bounded sparsities sum to the target count, and :func:`whole_counts` rounds
real per-layer counts to integers that sum to it exactly, within the bounds.

Examples
--------
>>> import numpy as np
>>> from wavesparse.sensitivity.fit import whole_counts
>>> whole_counts(np.array([2.5, 2.5, 1.0]), np.zeros(3, int), np.array([4, 4, 4]), 6)
array([3, 2, 1])
"""

import math

import numpy as np

__all__ = ["count_bounds", "fit_family", "whole_counts"]


def count_bounds(sizes, lower, upper, total):
    """Per-layer (min, max) pruned counts, and a ValueError when ``total``
    cannot be reached inside them.

    ``lower`` and ``upper`` are sparsities (scalars or one per layer).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.sensitivity.fit import count_bounds
    >>> count_bounds(np.array([10, 100]), 0.1, 0.5, 30)
    (array([ 1, 10]), array([ 5, 50]))
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    lower = np.broadcast_to(np.asarray(lower, dtype=np.float64), sizes.shape)
    upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), sizes.shape)
    lo = np.array([math.ceil(a * n - 1e-9) for a, n in zip(lower, sizes)], dtype=np.int64)
    hi = np.array([math.floor(b * n + 1e-9) for b, n in zip(upper, sizes)], dtype=np.int64)
    lo = np.minimum(lo, hi)
    if not lo.sum() <= total <= hi.sum():
        raise ValueError("the target prunes %d of %d weights, but the per-layer bounds allow "
                         "only %d to %d" % (total, sizes.sum(), lo.sum(), hi.sum()))
    return lo, hi


def fit_family(sizes, sparsity_of, lo, hi, total, low, high):
    """Real per-layer counts ``sizes * s(lam)``, bounded, summing to ``total``.

    ``sparsity_of(lam)`` gives every layer's sparsity, non-decreasing in
    ``lam``; ``low`` and ``high`` bracket the answer (every layer at its
    lower bound at ``low``, at its upper bound at ``high``).  Bisection runs
    until the bracket stops shrinking.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.sensitivity.fit import fit_family
    >>> sizes = np.array([100, 300])
    >>> counts = fit_family(sizes, lambda lam: np.array([lam, 2 * lam]), 0, sizes, 140, 0.0, 1.0)
    >>> np.round(counts, 6).tolist()
    [20.0, 120.0]
    """
    sizes = np.asarray(sizes, dtype=np.float64)

    def counts(lam):
        return np.clip(sizes * sparsity_of(lam), lo, hi)

    for _ in range(2000):
        mid = 0.5 * (low + high)
        if not low < mid < high:
            break
        if counts(mid).sum() < total:
            low = mid
        else:
            high = mid
    below, above = counts(low), counts(high)
    gap = above.sum() - below.sum()
    # Between the last two brackets the counts move linearly in between.
    share = (total - below.sum()) / gap if gap > 0 else 1.0
    return below + share * (above - below)


def whole_counts(counts, lo, hi, total):
    """Integer counts near ``counts``, inside ``[lo, hi]``, summing to ``total``.

    Each layer gets its count rounded down, then the weights still missing go
    one each to the layers with the largest fractional parts (earlier layer
    first on a tie); surplus is taken back from the smallest ones.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.sensitivity.fit import whole_counts
    >>> whole_counts(np.array([0.4, 0.4, 0.2]), np.zeros(3, int), np.ones(3, int), 1)
    array([1, 0, 0])
    """
    counts = np.asarray(counts, dtype=np.float64)
    whole = np.clip(np.floor(counts + 1e-9).astype(np.int64), lo, hi)
    fractions = counts - whole
    while whole.sum() != total:
        missing = total - whole.sum()
        if missing > 0:
            room = np.flatnonzero(whole < hi)
            order = room[np.argsort(-fractions[room], kind="stable")]
            step = 1
        else:
            room = np.flatnonzero(whole > lo)
            order = room[np.argsort(fractions[room], kind="stable")]
            step = -1
        chosen = order[:abs(missing)]
        whole[chosen] += step
        fractions[chosen] -= step
    return whole
