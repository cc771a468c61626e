"""Primitives on weights: exact magnitude thresholds and masks.

Every function takes ``backend="auto"|"cpu"|"opencl"``.  ``"cpu"`` runs the
compiled C (OpenMP) kernels; ``"opencl"`` runs the kernels in ``kernels/`` on
the chosen OpenCL device and raises :class:`wavesparse.OpenCLUnavailable`
with the reason when there is none; ``"auto"`` uses OpenCL only when the
chosen device is a GPU and the array has at least ``AUTO_OPENCL_MIN``
elements (below that, or on a CPU OpenCL device such as PoCL, moving the data
costs more than the kernel saves), else the CPU.
"""

import numpy as np

from wavesparse import _convert, _select
from wavesparse import _validate as check
from wavesparse.errors import OpenCLUnavailable

__all__ = ["kth_magnitude", "apply_threshold", "AUTO_OPENCL_MIN"]

#: Elements from which ``backend="auto"`` moves work to an OpenCL GPU.
AUTO_OPENCL_MIN = 1 << 22

# The grid-stride kernels index with 32-bit unsigned integers.
_OPENCL_MAX_ELEMENTS = (1 << 31) - 1


def _use_opencl(backend, size):
    """Whether this call runs on OpenCL (raising when it must but cannot)."""
    backend = check.backend_name(backend)
    if backend == "cpu":
        return False
    from wavesparse import opencl
    if backend == "opencl":
        opencl.session()  # raises OpenCLUnavailable with the reason
        return True
    if size < AUTO_OPENCL_MIN:
        return False
    try:
        return opencl.session().device.is_gpu
    except OpenCLUnavailable:
        return False


def _weights_list(w, name):
    """One array or a list/tuple of arrays, as a list of float ndarrays."""
    if isinstance(w, (list, tuple)):
        if not w:
            raise ValueError("%s must be an array or a non-empty list of "
                             "arrays, got an empty %s" % (name, type(w).__name__))
        return [check.float_array(a, "%s[%d]" % (name, i))
                for i, a in enumerate(w)]
    return [check.float_array(w, name)]


def kth_magnitude(w, k):
    """The k-th smallest magnitude (0-based) of one array or of many together.

    Exactly ``np.partition(np.abs(w).ravel(), k)[k]`` (over the concatenation
    for a list), found by radix selection over the bits of ``|w|`` without
    sorting, partitioning or concatenating a copy.

    Parameters
    ----------
    w : array_like or list of array_like
        float32 or float64 weights of any shape and memory order.  A list may
        mix the two dtypes; the float32 arrays are then read as float64
        (one float64 copy of them).
    k : int
        Rank, ``0 <= k < n`` where ``n`` is the total number of elements.

    Returns
    -------
    value : numpy.float32 or numpy.float64
        The k-th smallest ``|w|``.
    n_equal : int
        How many elements have exactly that magnitude.

    Raises
    ------
    ValueError
        For NaN, a dtype other than float32/float64, or ``k`` outside [0, n).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.ops import kth_magnitude
    >>> kth_magnitude(np.array([3.0, -1.0, 2.0, -2.0]), 1)
    (np.float64(2.0), 2)
    >>> kth_magnitude([np.float32([5, 1]), np.float32([[-4], [2]])], 2)
    (np.float32(4.0), 1)
    """
    arrays = _weights_list(w, "w")
    k = check.index(k, "k")
    n = sum(a.size for a in arrays)
    if not 0 <= k < n:
        raise ValueError("k must be in [0, %d) for %d element(s), got %d"
                         % (n, n, k))
    if len({a.dtype for a in arrays}) > 1:
        arrays = [a.astype(np.float64, copy=False) for a in arrays]
    views = [check.flat_view(a)[0] for a in arrays if a.size]
    return _select.kth_magnitude(views, k, "w")


def _any_nan(arrays):
    views = [check.flat_view(a)[0] for a in arrays if a.size]
    return bool(views) and _convert.any_nan(views)


def apply_threshold(w, t, backend="auto"):
    """Zero every weight whose magnitude is below ``t``.

    Parameters
    ----------
    w : array_like
        float32 or float64 weights, any shape and memory order.
    t : float
        Threshold: ``w`` is kept where ``|w| >= t``.
    backend : {"auto", "cpu", "opencl"}
        Where it runs (see the module's notes).

    Returns
    -------
    pruned : ndarray
        ``w`` with the small weights zeroed, same shape and dtype (and the
        same memory order for C- or F-contiguous ``w``).
    mask : ndarray of bool
        True where the weight was kept.

    Raises
    ------
    ValueError
        For NaN in ``w`` or ``t``, or a dtype other than float32/float64.
    OpenCLUnavailable
        With ``backend="opencl"`` where no OpenCL device can be used.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.ops import apply_threshold
    >>> pruned, mask = apply_threshold(np.array([0.5, -2.0, 1.0]), 1.0)
    >>> pruned, mask
    (array([ 0., -2.,  1.]), array([False,  True,  True]))
    """
    w = check.float_array(w, "w")
    t = check.real_scalar(t, "t")
    if w.size == 0:
        return w.copy(), np.zeros(w.shape, dtype=bool)
    if _use_opencl(backend, w.size):
        from wavesparse import _opencl_ops
        if _any_nan([w]):
            raise ValueError("w holds NaN; pruning and packing need finite or "
                             "infinite values, not NaN")
        return _opencl_ops.apply_threshold(w, t)
    view, order = check.flat_view(w)
    pruned, mask = _convert.apply_threshold(view, t, "w")
    return pruned.reshape(w.shape, order=order), mask.reshape(w.shape, order=order)
