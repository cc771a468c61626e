"""Primitives: exact magnitude thresholds, masks and sparse products.

Every function takes ``backend="auto"|"cpu"|"opencl"``.  ``"cpu"`` runs the
compiled C (OpenMP) kernels; ``"opencl"`` runs the kernels in ``kernels/`` on
the chosen OpenCL device and raises :class:`wavesparse.OpenCLUnavailable`
with the reason when there is none; ``"auto"`` uses OpenCL only when the
chosen device is a GPU and the array has at least ``AUTO_OPENCL_MIN``
elements (below that, or on a CPU OpenCL device such as PoCL, moving the data
costs more than the kernel saves), else the CPU.
"""

import numpy as np

from wavesparse import _convert, _select, halfs
from wavesparse import _validate as check
from wavesparse._dispatch import (AUTO_OPENCL_MIN, SparseParts, refuse_nan, sparse_parts,
                                  use_opencl)

__all__ = ["kth_magnitude", "rank_magnitude", "apply_threshold", "spmm",
           "AUTO_OPENCL_MIN"]


def _weights_list(w, name):
    """One array or a list/tuple of arrays, as a list of float ndarrays."""
    if isinstance(w, (list, tuple)):
        if not w:
            raise TypeError("%s must be an array or a non-empty list of "
                             "arrays, got an empty %s" % (name, type(w).__name__))
        return [check.float_array(a, "%s[%d]" % (name, i), half=True)
                for i, a in enumerate(w)]
    return [check.float_array(w, name, half=True)]


def _cpu_only(dtype, backend, name):
    """16-bit weights run on the CPU kernels; ``backend="opencl"`` is refused."""
    if check.backend_name(backend) == "opencl":
        raise TypeError("%s has dtype %s: the OpenCL kernels take float32 or float64; "
                        "16-bit weights run with backend='cpu' or 'auto'" % (name, dtype))


def kth_magnitude(w, k, backend="auto"):
    """The k-th smallest magnitude (0-based) of one array or of many together.

    Exactly ``np.partition(np.abs(w).ravel(), k)[k]`` (over the concatenation
    for a list), found by radix selection over the bits of ``|w|`` without
    sorting, partitioning or concatenating a copy.

    Parameters
    ----------
    w : array_like or list of array_like
        float16, bfloat16, float32 or float64 weights of any shape and memory
        order.  16-bit weights of one dtype take a single histogram pass over
        their 15-bit magnitude keys (:mod:`wavesparse.halfs`, CPU only).  A
        list may mix dtypes; all are then read as float64 (one float64 copy).
    k : int
        Rank, ``0 <= k < n`` where ``n`` is the total number of elements.
    backend : {"auto", "cpu", "opencl"}
        On OpenCL the histogram passes run on the device (``kernels/select.cl``),
        each array uploaded once and never joined on the host.

    Returns
    -------
    value : numpy scalar of the weights' dtype
        The k-th smallest ``|w|`` (float64 for a list of mixed dtypes).
    n_equal : int
        How many elements have exactly that magnitude.

    Raises
    ------
    ValueError
        For NaN or ``k`` outside [0, n).
    TypeError
        For another dtype, or 16-bit weights with ``backend="opencl"``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.ops import kth_magnitude
    >>> kth_magnitude(np.array([3.0, -1.0, 2.0, -2.0]), 1)
    (np.float64(2.0), 2)
    >>> kth_magnitude([np.float32([5, 1]), np.float32([[-4], [2]])], 2)
    (np.float32(4.0), 1)
    >>> kth_magnitude(np.float16([-0.5, 0.25, 1]), 1)
    (np.float16(0.5), 1)
    """
    value, _, n_equal = rank_magnitude(w, k, backend)
    return value, n_equal


def rank_magnitude(w, k, backend="cpu"):
    """Like :func:`kth_magnitude`, also counting the smaller magnitudes.

    Returns
    -------
    (value, n_below, n_equal)
        Exactly ``n_below`` elements have ``|w| < value`` and ``n_equal``
        have ``|w| == value``; so ``n_below <= k < n_below + n_equal``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.ops import rank_magnitude
    >>> rank_magnitude(np.array([3.0, -1.0, 2.0, -2.0]), 2)
    (np.float64(2.0), 1, 2)
    """
    arrays = _weights_list(w, "w")
    k = check.index(k, "k")
    n = sum(a.size for a in arrays)
    if not 0 <= k < n:
        raise ValueError("k must be in [0, %d) for %d element(s), got %d"
                         % (n, n, k))
    if len({a.dtype for a in arrays}) > 1:
        arrays = [a.astype(np.float64, copy=False) for a in arrays]
    dtype = arrays[0].dtype
    if halfs.is_half(dtype):
        _cpu_only(dtype, backend, "w")
        key, n_below, n_equal = halfs.select(halfs.histogram(arrays), k)
        return dtype.type(halfs.value_of(key, dtype)), n_below, n_equal
    views = [check.flat_view(a)[0] for a in arrays if a.size]
    if use_opencl(backend, n):
        refuse_nan(arrays, "w")
        from wavesparse.opencl import ops as device_ops
        return device_ops.kth_magnitude([a for a in arrays if a.size], k)
    return _select.kth_magnitude(views, k, "w")


def apply_threshold(w, t, backend="auto"):
    """Zero every weight whose magnitude is below ``t``.

    Parameters
    ----------
    w : array_like
        float16, bfloat16, float32 or float64 weights, any shape and memory
        order (16-bit weights on the CPU only).
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
    w = check.float_array(w, "w", half=True)
    if isinstance(t, np.generic) and halfs.is_half(t.dtype):
        t = float(t)  # a 16-bit scalar is no numbers.Real
    if halfs.is_half(w.dtype):
        _cpu_only(w.dtype, backend, "w")
        return halfs.apply_threshold(w, check.real_scalar(t, "t"))
    t = check.threshold_for(t, w.dtype, "t")
    if w.size == 0:
        return w.copy(), np.zeros(w.shape, dtype=bool)
    if use_opencl(backend, w.size):
        from wavesparse.opencl import ops as device_ops
        refuse_nan([w], "w")
        return device_ops.apply_threshold(w, t)
    view, order = check.flat_view(w)
    pruned, mask = _convert.apply_threshold(view, t, "w")
    return pruned.reshape(w.shape, order=order), mask.reshape(w.shape, order=order)


def spmm(A, X, backend="auto"):
    """The product ``A @ X`` of a sparse matrix and a dense one (or a vector).

    Parameters
    ----------
    A : scipy.sparse CSR or BSR array/matrix
        float32, float64, float16 or bfloat16 (``ml_dtypes.bfloat16``), int32
        or int64 indices.  Its structure is checked (indptr monotone and in
        bounds, every index within the width) in O(nnz) before any kernel
        runs; a malformed array raises ValueError.
        (:class:`~wavesparse.SparseLinear` checks its weight once, when built.)
    X : array_like
        Dense, shape ``(A.shape[1],)`` or ``(A.shape[1], N)``, C- or F-ordered
        (read in place, not copied) or strided.  For a float32 or float64 A,
        X is float32 or float64, and one rule holds for every product
        (``spmm``, ``layer @ X``, ``layer(x)``): the result has A's dtype, and
        an X of the other float dtype is converted to it first (one copy of
        X).  For a 16-bit A, X is float32, float16 or bfloat16 (either 16-bit
        kind, whatever A's), read where it lies and widened as it is loaded.
        NaN and inf are not refused: they propagate as in scipy.sparse's
        ``@``, to the outputs that a stored value of A multiplies.
    backend : {"auto", "cpu", "opencl"}
        ``"auto"`` runs on an OpenCL GPU when one is chosen and A has at least
        ``AUTO_OPENCL_MIN`` stored values, else on the CPU.

    Returns
    -------
    ndarray
        ``A @ X``, 1-D for a vector ``X``; F-ordered when ``X`` is.  Its dtype
        is A's, except for a 16-bit A: 16-bit in, float32 out.  Each 16-bit
        value is widened to float32 as it is loaded (exactly: every float16
        and bfloat16 is a float32) and the sums run in float32, as they do in
        the float32 product; the result is that float32 sum.  Rounding it
        back to 16 bits would throw away the accuracy the float32 sums kept
        (bfloat16 keeps 8 significant bits), and the next layer's product
        reads float32 or 16-bit X alike; ``.astype`` gives 16 bits when they
        are wanted.

    Raises
    ------
    ValueError
        When the shapes do not chain (both are named), or A's structure is
        malformed (an index outside the matrix, an indptr that decreases).
    TypeError
        For a dtype outside those above, or a combination they exclude: a
        16-bit X with a float32/float64 A, a float64 X with a 16-bit A.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from wavesparse.ops import spmm
    >>> A = sp.csr_array(np.array([[1.0, 0.0], [0.0, 2.0]]))
    >>> spmm(A, np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[1., 2.],
           [6., 8.]])

    16-bit weights (:func:`wavesparse.formats.to_half`), float32 result:

    >>> from wavesparse.formats import to_csr, to_half
    >>> A16 = to_half(to_csr(np.array([[1.5, 0.0], [0.0, -2.0]])), np.float16)
    >>> spmm(A16, np.float16([1.0, 3.0]))
    array([ 1.5, -6. ], dtype=float32)
    """
    parts = A if isinstance(A, SparseParts) else sparse_parts(A, half=True)
    kind, data, indices, indptr, (br, bc), shape = parts
    half = halfs.is_half(data.dtype)
    X = _product_operand(X, data.dtype, half)
    if X.shape[0] != shape[1]:
        raise ValueError("A of shape %s cannot multiply X of shape %s: A has %d "
                         "columns, X has %d rows"
                         % (shape, X.shape, shape[1], X.shape[0]))
    out_dtype = np.dtype(np.float32) if half else data.dtype
    vector = X.ndim == 1
    X2 = X[:, np.newaxis] if vector else X
    m, n = shape[0], X2.shape[1]
    order = "F" if (X2.flags.f_contiguous and not X2.flags.c_contiguous) else "C"
    if m == 0 or n == 0 or data.size == 0 or X2.shape[0] == 0:
        Y = np.zeros((m, n), dtype=out_dtype, order=order)
        return Y[:, 0] if vector else Y
    if use_opencl(backend, data.size):
        from wavesparse.opencl import ops as device_ops
        Y = device_ops.DeviceMatrix(parts).matmul(X2)
    else:
        from wavesparse import _spmm
        Y = np.empty((m, n), dtype=out_dtype, order=order)
        if kind == "csr":
            _spmm.csr_spmm(data, indices, indptr, X2, Y)
        else:
            _spmm.bsr_spmm(data, indices, indptr, br, bc, X2, Y)
    return Y[:, 0] if vector else Y


def _product_operand(X, a_dtype, half):
    """X of a product with an A of ``a_dtype``, checked (see :func:`spmm`)."""
    X = check.float_array(X, "X", ndim=(1, 2), half=half)
    if not half:
        return X.astype(a_dtype, copy=False)
    if X.dtype == np.float64:
        raise TypeError("X has dtype float64, but A holds %s values, which multiply "
                        "float32, float16 or bfloat16 X (the sums run in float32); "
                        "pass X.astype(np.float32)" % a_dtype)
    return X
