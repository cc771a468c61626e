"""16-bit floats (IEEE float16 and bfloat16): keys, histograms, thresholds.

The magnitude of a 16-bit float is ordered like its bits with the sign
cleared, a 15-bit *key*, so one histogram of 32768 counts holds the whole
order of ``|w|``: the k-th smallest magnitude is read from it after a single
pass over the data (:func:`histogram`, then :func:`select`), and the
histograms of separate arrays (tensors, shards, workers) simply add up.
bfloat16 is ``ml_dtypes.bfloat16``, the dtype JAX and safetensors readers use.

Examples
--------
>>> import numpy as np, ml_dtypes
>>> from wavesparse import halfs
>>> w = np.array([3, -1, 2, -2], dtype=ml_dtypes.bfloat16)
>>> key, n_below, n_equal = halfs.select(halfs.histogram([w]), 1)
>>> halfs.value_of(key, w.dtype), n_below, n_equal
(np.float32(2.0), 1, 2)
"""

import ml_dtypes
import numpy as np

from wavesparse import _select16
from wavesparse import _validate as check

__all__ = ["HALF_DTYPES", "is_half", "is_float", "inf_key", "histogram",
           "select", "value_of", "threshold_key", "apply_threshold"]

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
HALF_DTYPES = (np.dtype(np.float16), BFLOAT16)
KEYS = _select16.KEYS
_INF_KEYS = {np.dtype(np.float16): 0x7C00, BFLOAT16: 0x7F80}


def is_half(dtype):
    """Whether ``dtype`` is float16 or bfloat16.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.halfs import is_half
    >>> is_half(np.float16), is_half(np.float32)
    (True, False)
    """
    return np.dtype(dtype) in HALF_DTYPES


def is_float(dtype):
    """Whether ``dtype`` holds floats: numpy's float kinds or bfloat16.

    Examples
    --------
    >>> import ml_dtypes
    >>> from wavesparse.halfs import is_float
    >>> is_float(ml_dtypes.bfloat16), is_float("int8")
    (True, False)
    """
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or dtype == BFLOAT16


def inf_key(dtype):
    """The key of +inf in ``dtype``: larger keys are NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.halfs import inf_key
    >>> hex(inf_key(np.float16))
    '0x7c00'
    """
    return _INF_KEYS[np.dtype(dtype)]


def _bits(a):
    """A 2-D uint16 view of a non-empty 16-bit array, without a copy."""
    from wavesparse._validate import flat_view
    view, order = flat_view(a)
    return view.view(np.uint16), order


def histogram(arrays, hist=None, argument="w"):
    """Counts of the 15-bit magnitude keys of one or many 16-bit arrays.

    Parameters
    ----------
    arrays : list of ndarray
        float16 or bfloat16 arrays of one dtype, any shape and memory order.
    hist : ndarray of int64, optional
        ``KEYS`` counts to add to (in place); a new one by default.
    argument : str
        The name errors give the input.

    Returns
    -------
    ndarray of int64
        ``hist[key]`` elements have magnitude key ``key``.

    Raises
    ------
    ValueError
        When an element is NaN (``hist`` is then unchanged).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.halfs import histogram
    >>> int(histogram([np.float16([1, -1, 0])])[0x3C00])
    2
    """
    if hist is None:
        hist = np.zeros(KEYS, dtype=np.int64)
    views = [_bits(a)[0] for a in arrays if a.size]
    if views:
        _select16.add_histogram(views, inf_key(arrays[0].dtype), hist, argument)
    return hist


def select(hist, k):
    """``(key, n_below, n_equal)`` of the k-th smallest (0-based) magnitude.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.halfs import histogram, select
    >>> select(histogram([np.float16([0, 5, 0])]), 1)
    (0, 0, 2)
    """
    cumulative = np.cumsum(hist)
    key = int(np.searchsorted(cumulative, k, side="right"))
    n_equal = int(hist[key])
    return key, int(cumulative[key]) - n_equal, n_equal


def value_of(key, dtype):
    """The magnitude a key stands for, as float32 (exact for 16-bit floats).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.halfs import value_of
    >>> value_of(0x3C00, np.float16)
    np.float32(1.0)
    """
    return np.float32(np.array([key], dtype=np.uint16).view(np.dtype(dtype))[0])


def threshold_key(t, dtype):
    """The smallest key whose magnitude is ``>= t``: ``|w| >= t`` exactly
    when ``key(w) >= threshold_key(t)`` (t a finite or infinite float).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.halfs import threshold_key
    >>> hex(threshold_key(1.0, np.float16)), hex(threshold_key(1.0001, np.float16))
    ('0x3c00', '0x3c01')
    """
    if t <= 0:
        return 0
    with np.errstate(over="ignore"):
        near = np.array([t], dtype=np.dtype(dtype))
    key = int(near.view(np.uint16)[0]) & 0x7FFF
    if float(near[0]) < t:
        key += 1  # rounded down: the next magnitude up is the first >= t
    return key


def apply_threshold(w, t, argument="w", buffers=None):
    """Zero the elements of a 16-bit ``w`` with ``|w| < t`` (see
    :func:`wavesparse.ops.apply_threshold`, which calls this).

    ``buffers``: optional C-contiguous ``(uint16, bool)`` arrays of at least
    ``w.size`` elements that the results are written into (and view), so a
    caller streaming many tensors reuses its memory.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.halfs import apply_threshold
    >>> apply_threshold(np.float16([0.5, -2, 1]), 1.0)
    (array([ 0., -2.,  1.], dtype=float16), array([False,  True,  True]))
    """
    if w.size == 0:
        return w.copy(), np.zeros(w.shape, dtype=bool)
    view, order = _bits(w)
    out, out_mask = buffers or (None, None)
    bits, mask, _ = _select16.apply_threshold(view, threshold_key(t, w.dtype),
                                              inf_key(w.dtype), argument, out, out_mask)
    pruned = bits.view(w.dtype).reshape(w.shape, order=order)
    return pruned, mask.reshape(w.shape, order=order)


def prune_ties(w, value, ties, buffers=None, argument="w"):
    """Zero the elements of a 16-bit ``w`` with ``|w| < value``, and of those
    with ``|w| == value`` the first ``ties`` in C order (the position rule
    of :mod:`wavesparse.pruning.selection`), in one pass in C.

    ``value`` is a magnitude of ``w``'s dtype (exact; a value the dtype
    would round is a ValueError); ``buffers`` as in
    :func:`apply_threshold`.  Returns ``(pruned, mask, ties pruned)``, the
    last ``min(ties, count of |w| == value)``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.halfs import prune_ties
    >>> pruned, mask, n = prune_ties(np.float16([1, -1, 0.5, 1, 3]), np.float16(1), 2)
    >>> pruned, n
    (array([0., 0., 0., 1., 3.], dtype=float16), 2)
    """
    if not isinstance(w, np.ndarray) or not is_half(w.dtype):
        raise TypeError("%s must be a float16 or bfloat16 ndarray, got %s"
                        % (argument, getattr(w, "dtype", type(w).__name__)))
    ties = check.index(ties, "ties")
    if ties < 0:
        raise ValueError("ties must be >= 0, got %d" % ties)
    with np.errstate(over="ignore"):
        exact = np.asarray(value, dtype=w.dtype)
    if exact.ndim or not float(value) >= 0 or float(exact) != float(value):
        raise ValueError("value must be a magnitude (>= 0) that %s's dtype %s holds "
                         "exactly, got %r" % (argument, w.dtype, value))
    ties = min(ties, w.size)
    if w.size == 0:
        return w.copy(), np.zeros(w.shape, dtype=bool), 0
    if not w.flags.c_contiguous:
        w = np.ascontiguousarray(w)
    key = int(exact.view(np.uint16)) & 0x7FFF
    out, out_mask = buffers or (None, None)
    bits, mask, used = _select16.apply_threshold(
        w.reshape(1, -1).view(np.uint16), key, inf_key(w.dtype), argument, out, out_mask,
        ties=int(ties))
    return bits.view(w.dtype).reshape(w.shape), mask.reshape(w.shape), int(used)
