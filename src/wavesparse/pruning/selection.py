"""The one exact selector: prune exactly k of the smallest scores.

Every pruner reduces to it.  A score is a non-negative importance per weight
(or per unit: a block, a channel, an N:M group member); the selector prunes
exactly ``k`` of the smallest, and ties at the threshold follow the position
rule of :mod:`wavesparse._ties`: what an earlier mask pruned goes first, then
lower flat index first, array by array in the order given.  Two groupings
cover the pruners:

- :func:`prune_smallest` / :func:`smallest_masks`: ``k`` over one array
  (a layer) or over many together (global), by radix selection, never
  concatenating;
- :func:`smallest_in_groups`: the same count in every group along the last
  axis (rows for Wanda, N:M groups), by a stable sort per group.

Examples
--------
>>> import numpy as np
>>> from wavesparse.pruning.selection import smallest_masks, smallest_in_groups
>>> smallest_masks([np.float32([3, 1, 1, 2])], 2)[0]
array([ True, False, False,  True])
>>> smallest_in_groups(np.float32([[1, 1, 5, 4]]), 1, group=2)
array([[False,  True,  True, False]])
"""

import numpy as np

from wavesparse import ops
from wavesparse._ties import keep_later_ties, strictly_above

__all__ = ["prune_smallest", "smallest_masks", "smallest_in_groups"]


def prune_smallest(arrays, k, priors=None, backend="cpu"):
    """``[(pruned, mask), ...]`` with exactly ``max(k, already pruned)`` zeroed.

    Parameters
    ----------
    arrays : list of ndarray
        float32/float64 arrays (validated by the caller); their magnitudes are
        the scores.
    k : int
        How many elements to prune over all arrays together.
    priors : list of (ndarray of bool or None), optional
        Masks of an earlier step (True = kept); what they pruned stays pruned.
    backend : {"auto", "cpu", "opencl"}
        Where the selection and the masks run.

    Returns
    -------
    list of (ndarray, ndarray of bool)
        Each array with its pruned elements zeroed, and its mask.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning.selection import prune_smallest
    >>> [m.tolist() for _, m in prune_smallest([np.float32([2, 1]), np.float32([1, 3])], 2)]
    [[True, False], [False, True]]
    """
    priors = priors or [None] * len(arrays)
    effective = [a if p is None else np.where(p, a, a.dtype.type(0))
                 for a, p in zip(arrays, priors)]
    n_prior = sum(int(p.size - np.count_nonzero(p)) for p in priors if p is not None)
    if k <= n_prior:
        return [(e.copy(), np.ones(e.shape, bool) if p is None else p.copy())
                for e, p in zip(effective, priors)]
    value, n_below, n_equal = ops.rank_magnitude(effective, k - 1, backend)
    results = [list(ops.apply_threshold(e, strictly_above(value, e.dtype),
                                        backend=backend)) if e.size
               else [e.copy(), np.ones(e.shape, bool)] for e in effective]
    ties_pruned = k - n_below
    if ties_pruned < n_equal:
        keep_later_ties(effective, priors, results, value, ties_pruned)
    return [tuple(r) for r in results]


def smallest_masks(scores, k, priors=None, backend="cpu"):
    """The masks (True = kept) that prune the ``k`` smallest of ``scores``.

    Like :func:`prune_smallest` for scores that are not the weights
    themselves (Wanda's ``|w| * ||x||``, block norms, unit importances).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning.selection import smallest_masks
    >>> smallest_masks([np.array([0.5, 0.1]), np.array([0.1])], 2)
    [array([ True, False]), array([False])]
    """
    return [mask for _, mask in prune_smallest(scores, k, priors, backend)]


def smallest_in_groups(scores, k, group=None, prior=None):
    """Keep-mask pruning exactly ``k`` of each group of ``group`` consecutive
    scores along the last axis (the whole last axis when ``group`` is None).

    Ties follow the position rule: prior-pruned first, then lower index.  A
    group whose prior already pruned more than ``k`` keeps those pruned.

    Parameters
    ----------
    scores : ndarray
        Non-negative scores, at least 1-D; ``group`` divides the last axis.
    k : int or array_like of int
        Elements to prune per group, ``0 <= k <= group``: one count for every
        group, or one per group (in the order of ``scores.reshape(-1,
        group)``'s rows).
    group : int, optional
    prior : ndarray of bool, optional
        An earlier mask of the same shape (True = kept).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning.selection import smallest_in_groups
    >>> smallest_in_groups(np.array([[3.0, 1.0, 2.0], [0.0, 0.0, 1.0]]), 1)
    array([[ True, False,  True],
           [False,  True,  True]])
    >>> smallest_in_groups(np.array([[3.0, 1.0, 2.0], [0.0, 0.0, 1.0]]), [0, 2])
    array([[ True,  True,  True],
           [False, False,  True]])
    """
    scores = np.asarray(scores)
    shape = scores.shape
    size = shape[-1] if group is None else group
    grouped = scores.reshape(-1, size)
    if prior is not None:
        prior = np.asarray(prior, dtype=bool).reshape(-1, size)
        # Prior-pruned entries sort before every real (non-negative) score.
        grouped = np.where(prior, grouped, -1.0)
    order = np.argsort(grouped, axis=1, kind="stable")
    if np.ndim(k) == 0:
        keep = np.ones(grouped.shape, dtype=bool)
        np.put_along_axis(keep, order[:, :k], False, axis=1)
    else:
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(size), axis=1)
        keep = rank >= np.asarray(k).reshape(-1, 1)
    if prior is not None:
        keep &= prior
    return keep.reshape(shape)
