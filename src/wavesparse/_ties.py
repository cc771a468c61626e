"""The position tie rule of exact selection, written once.

When the k-th smallest magnitude is shared by elements that are pruned and
elements that are kept, the pruned ones are, in this order: those an earlier
mask already pruned, then lower flat index (C order) first, array by array in
the order given.  :mod:`wavesparse.pruning.selection` and
:class:`wavesparse.opencl.DeviceArray` both resolve ties here.
"""

import numpy as np


def strictly_above(value, dtype):
    """The ``dtype`` threshold t with ``|w| >= t`` exactly when ``|w| > value``."""
    t = dtype.type(value)
    if float(t) <= float(value):
        t = np.nextafter(t, dtype.type(np.inf))
    return t


def keep_later_ties(effective, priors, results, value, ties_pruned):
    """Among ``|w| == value``, prune the first ``ties_pruned`` and keep the rest.

    ``results`` holds ``[pruned, mask]`` per array after thresholding strictly
    above ``value`` (every tie pruned); the kept ties are written back in place.
    """
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
