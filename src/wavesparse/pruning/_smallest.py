"""Zero exactly the k smallest magnitudes of one array or of many together.

Ties at the threshold are broken by position: elements that an earlier mask
already pruned go first, then lower flat index (C order) first, array by array
in the order given.  The threshold comes from radix selection; only when the
threshold magnitude is split between pruned and kept elements are the tied
positions looked up.
"""

import numpy as np

from wavesparse import ops


def _strictly_above(value, dtype):
    """The ``dtype`` threshold t with |w| >= t exactly when |w| > value."""
    t = dtype.type(value)
    if float(t) <= float(value):
        t = np.nextafter(t, dtype.type(np.inf))
    return t


def prune_smallest(arrays, k, priors=None, backend="cpu"):
    """``[(pruned, mask), ...]`` with exactly ``max(k, already pruned)`` zeroed.

    Parameters
    ----------
    arrays : list of ndarray
        float32/float64 arrays, validated by the caller.
    k : int
        How many elements to prune over all arrays together.
    priors : list of (ndarray of bool or None), optional
        Masks of an earlier step (True = kept); what they pruned stays pruned.
    backend : {"auto", "cpu", "opencl"}
        Where the selection and the masks run.
    """
    priors = priors or [None] * len(arrays)
    effective = [a if p is None else np.where(p, a, a.dtype.type(0))
                 for a, p in zip(arrays, priors)]
    n_prior = sum(int(p.size - np.count_nonzero(p)) for p in priors if p is not None)
    if k <= n_prior:
        return [(e.copy(), np.ones(e.shape, bool) if p is None else p.copy())
                for e, p in zip(effective, priors)]
    value, n_below, n_equal = ops.rank_magnitude(effective, k - 1, backend)
    results = [list(ops.apply_threshold(e, _strictly_above(value, e.dtype),
                                        backend=backend)) if e.size
               else [e.copy(), np.ones(e.shape, bool)] for e in effective]
    ties_pruned = k - n_below
    if ties_pruned < n_equal:
        _keep_later_ties(effective, priors, results, value, ties_pruned)
    return [tuple(r) for r in results]


def _keep_later_ties(effective, priors, results, value, ties_pruned):
    """Among |w| == value, prune the first ``ties_pruned`` and keep the rest."""
    ties = []  # (array index, flat positions) in pruning order
    if value == 0:
        for i, p in enumerate(priors):
            if p is not None:
                ties.append((i, np.flatnonzero(~p)))
    for i, e in enumerate(effective):
        tied = np.flatnonzero(np.abs(e) == value)
        if value == 0 and priors[i] is not None:
            tied = tied[priors[i].ravel()[tied]]
        ties.append((i, tied))
    left = ties_pruned
    for i, positions in ties:
        pruned_here = positions[:left]
        kept_here = positions[left:]
        left -= len(pruned_here)
        if len(kept_here):
            pruned, mask = results[i]
            where = np.unravel_index(kept_here, mask.shape)
            mask[where] = True
            pruned[where] = effective[i][where]
