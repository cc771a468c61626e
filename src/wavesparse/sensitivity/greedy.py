"""The "sensitivity" budget: least predicted loss for a number of pruned weights.

Each layer's measured curve (loss = unpruned score - score, at sparsity 0 and
at each scanned sparsity) is linearly interpolated in the number of pruned
weights and replaced by its lower convex hull.  On those hulls the problem
"minimise the summed loss, prune exactly K weights, every layer within its
bounds" is separable and convex, and taking hull segments in increasing order
of loss per pruned weight solves it exactly (the fractional-knapsack
argument); only the last segment taken is cut short.  So the result is the
exact optimum of the hulls, which is the exact optimum of the interpolated
curves wherever those are convex.  Beyond the largest scanned sparsity
nothing is known, and no layer is planned past it.

Examples
--------
>>> import numpy as np
>>> from wavesparse.sensitivity.greedy import lower_hull
>>> lower_hull(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 2.0, 1.0, 3.0]))
(array([0., 2., 3.]), array([0., 1., 3.]))
"""

import numpy as np

__all__ = ["lower_hull", "least_loss_counts"]


def lower_hull(x, y):
    """The vertices of the lower convex hull of points with increasing ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.sensitivity.greedy import lower_hull
    >>> lower_hull(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 1.0]))[0].tolist()
    [0.0, 2.0]
    """
    keep = []
    for i in range(len(x)):
        while len(keep) >= 2:
            a, b = keep[-2], keep[-1]
            # b lies on or above the line from a to point i: drop it.
            if (y[b] - y[a]) * (x[i] - x[a]) >= (y[i] - y[a]) * (x[b] - x[a]):
                keep.pop()
            else:
                break
        keep.append(i)
    return np.asarray(x, dtype=np.float64)[keep], np.asarray(y, dtype=np.float64)[keep]


def least_loss_counts(curves, lo, hi, total):
    """Real pruned counts per layer minimising the summed hull loss.

    Parameters
    ----------
    curves : list of (ndarray, ndarray)
        Per layer: pruned counts (increasing, starting at 0) and the loss
        measured there.
    lo, hi : ndarray of int
        Per-layer bounds on the count (``hi`` already within the curve).
    total : int
        The number of weights to prune over all layers.

    Returns
    -------
    ndarray of float
        One count per layer, within the bounds, summing to ``total``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.sensitivity.greedy import least_loss_counts
    >>> x = np.array([0.0, 50.0, 100.0])
    >>> curves = [(x, np.array([0.0, 1.0, 5.0])), (x, np.array([0.0, 2.0, 3.0]))]
    >>> least_loss_counts(curves, np.zeros(2), np.array([100, 100]), 120).tolist()
    [50.0, 70.0]
    """
    counts = np.asarray(lo, dtype=np.float64).copy()
    segments = []
    for i, (x, y) in enumerate(curves):
        hx, hy = lower_hull(x, y)
        inner = hx[(hx > lo[i]) & (hx < hi[i])]
        points = np.concatenate(([lo[i]], inner, [hi[i]]))
        values = np.interp(points, hx, hy)
        for j in range(len(points) - 1):
            width = points[j + 1] - points[j]
            if width > 0:
                segments.append(((values[j + 1] - values[j]) / width, i, j, width))
    remaining = total - counts.sum()
    for slope, i, j, width in sorted(segments):
        if remaining <= 0:
            break
        take = min(width, remaining)
        counts[i] += take
        remaining -= take
    return counts
