# cython: language_level=3, boundscheck=False, wraparound=False
"""Exact k-th smallest magnitude by radix selection (C in select.c)."""
from libc.stdlib cimport free
from libc.stdint cimport int64_t

from wavesparse._core cimport (
    ws_view, new_views, check_status,
    ws_kth_magnitude_f32, ws_kth_magnitude_f64, ws_max_threads,
)

import numpy as np


def kth_magnitude(list arrays, Py_ssize_t k, str argument="w"):
    """The k-th smallest |w| over non-empty 2-D arrays of one float dtype.

    Returns ``(value, n_below, n_equal)``: the magnitude, how many elements
    are smaller, how many equal it.  Callers validate dtypes, shapes and k.
    """
    cdef Py_ssize_t count = len(arrays)
    cdef int status
    cdef float value32 = 0
    cdef double value64 = 0
    cdef int64_t n_equal = 0
    cdef int64_t n_below = 0
    cdef int64_t kk = k
    cdef bint single = arrays[0].dtype == np.float32
    cdef ws_view *views = new_views(arrays)
    try:
        with nogil:
            if single:
                status = ws_kth_magnitude_f32(views, count, kk, &value32,
                                              &n_below, &n_equal)
            else:
                status = ws_kth_magnitude_f64(views, count, kk, &value64,
                                              &n_below, &n_equal)
        check_status(status, argument)
    finally:
        free(views)
    if single:
        return np.float32(value32), int(n_below), int(n_equal)
    return np.float64(value64), int(n_below), int(n_equal)


def max_threads():
    """The threads the compiled kernels may use (1 in a build without OpenMP)."""
    return ws_max_threads()
