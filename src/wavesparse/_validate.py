"""Argument checks every public function shares, made before any C runs."""

import numbers
import operator

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_array(value, name, ndim=None, half=False):
    """``value`` as a float32/float64 ndarray (no copy when it already is one);
    with ``half``, float16 and bfloat16 (:mod:`wavesparse.halfs`) as well.

    Raises TypeError naming ``name`` for what is not an array of those
    dtypes (a scipy.sparse array included), ValueError for a rank other than
    ``ndim`` (an int or a tuple of allowed ranks).
    """
    if hasattr(value, "tocsr") and hasattr(value, "nnz"):
        raise TypeError("%s must be a dense float32 or float64 array, got a "
                        "scipy.sparse %s (call .toarray() first)"
                        % (name, type(value).__name__))
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError("%s must be a float32 or float64 array: %s"
                        % (name, exc)) from None
    if half and array.dtype not in FLOAT_DTYPES:
        from wavesparse.halfs import HALF_DTYPES
        if array.dtype not in HALF_DTYPES:
            raise TypeError("%s must hold float16, bfloat16, float32 or float64 "
                            "values, got dtype %s" % (name, array.dtype))
    elif array.dtype not in FLOAT_DTYPES:
        raise TypeError("%s must hold float32 or float64 values, got dtype %s"
                        % (name, array.dtype))
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in allowed:
            raise ValueError("%s must have %s dimension(s), got shape %s"
                             % (name, " or ".join(map(str, allowed)),
                                array.shape))
    return array


def real_scalar(value, name):
    """A finite-or-infinite real number, as a Python float; NaN is refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (numbers.Real, np.floating, np.integer)):
        raise TypeError("%s must be a real number, got %r" % (name, value))
    value = float(value)
    if value != value:
        raise ValueError("%s must not be NaN" % name)
    return value


def threshold_for(value, dtype, name):
    """The threshold ``t`` of the weights' dtype that keeps what numpy keeps.

    Returns the smallest value ``v`` of ``dtype`` for which numpy's
    ``np.abs(w) >= value`` holds, as a Python float, so that the kernels'
    ``|w| >= v`` in ``dtype`` keeps exactly numpy's elements: a Python float
    is rounded to the dtype as numpy does (NEP 50), a numpy float64 scalar is
    compared exactly (``np.float64(1.00000001)`` prunes a float32 1.0).  Past
    the dtype's range it is inf.  NaN and non-numbers are refused, naming
    ``name``.
    """
    real_scalar(value, name)
    dtype = np.dtype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        v = dtype.type(value)
        if not bool(np.asarray(v, dtype) >= value):
            v = np.nextafter(v, dtype.type(np.inf))
    return float(v)


def index(value, name):
    """An integer (int or numpy integer) as a Python int; TypeError otherwise."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("%s must be an integer, got %r" % (name, value))
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError("%s must be an integer, got %r" % (name, value)) from None


def fraction(value, name):
    """A sparsity in [0, 1)."""
    value = real_scalar(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError("%s must be in [0, 1), got %r" % (name, value))
    return value


def backend_name(value):
    """One of "auto", "cpu", "opencl"."""
    if not isinstance(value, str):
        raise TypeError("backend must be a str ('auto', 'cpu' or 'opencl'), got %r"
                        % (value,))
    if value not in ("auto", "cpu", "opencl"):
        raise ValueError("backend must be 'auto', 'cpu' or 'opencl', got %r"
                         % (value,))
    return value


def flat_view(array):
    """A 2-D view of a non-empty array whose row-major order the C walks.

    Returns ``(view, order)``: an output written in the view's order becomes
    the array's shape with ``reshape(array.shape, order=order)``.  Contiguous
    arrays of any rank become one row; a strided 1-D or 2-D array is viewed as
    it is; only a strided array of rank 3 or more is copied.
    """
    if array.flags.c_contiguous:
        return array.reshape(1, -1), "C"
    if array.flags.f_contiguous:
        return array.ravel(order="K").reshape(1, -1), "F"
    if array.ndim == 1:
        return array[np.newaxis, :], "C"
    if array.ndim == 2:
        if abs(array.strides[1]) <= abs(array.strides[0]):
            return array, "C"
        return array.T, "F"
    return np.ascontiguousarray(array).reshape(1, -1), "C"


def matrix_view(array):
    """A 2-D array for the matrix kernels: 1-D is one row, N-D keeps axis 0."""
    if array.ndim == 2:
        return array
    if array.ndim == 1:
        return array.reshape(1, -1)
    return array.reshape(array.shape[0], -1)
