# cython: language_level=3, boundscheck=False, wraparound=False
"""Histograms and thresholds over 16-bit floats (C in select16.c)."""
from libc.stdlib cimport free
from libc.stdint cimport int64_t, uint8_t, uint16_t, uintptr_t

from wavesparse._core cimport ws_view, new_views, fill_view, check_status, address_of
from wavesparse._core16 cimport WS_KEYS16, ws_histogram16, ws_threshold_ties16

import numpy as np

KEYS = WS_KEYS16


def add_histogram(list views, int inf_key, hist, str argument="w"):
    """Adds the 15-bit magnitude keys of non-empty 2-D uint16 views into
    ``hist`` (int64, ``KEYS`` counts, C-contiguous).  Callers validate."""
    cdef Py_ssize_t count = len(views)
    cdef int status
    cdef uint16_t limit = inf_key
    cdef int64_t *counts = <int64_t *>address_of(hist)
    cdef ws_view *vs = new_views(views)
    try:
        with nogil:
            status = ws_histogram16(vs, count, limit, counts)
        check_status(status, argument)
    finally:
        free(vs)


def apply_threshold(view, int t_key, int inf_key, str argument="w", out=None,
                    out_mask=None, int64_t ties=0):
    """Thresholds a 2-D uint16 view; returns flat ``(bits, mask, ties pruned)``
    in its order, written into ``out`` (uint16) and ``out_mask`` (bool),
    C-contiguous buffers of at least ``view.size`` elements, when given.
    Keys below ``t_key`` are pruned, and of the keys equal to it the first
    ``ties`` (the position rule)."""
    cdef ws_view v
    fill_view(&v, view)
    bits = np.empty(view.size, dtype=np.uint16) if out is None else out[:view.size]
    mask = np.empty(view.size, dtype=np.bool_) if out_mask is None else out_mask[:view.size]
    cdef uint16_t *target = <uint16_t *>address_of(bits)
    cdef uint8_t *m = <uint8_t *>address_of(mask)
    cdef uint16_t t = t_key
    cdef uint16_t limit = inf_key
    cdef int64_t pruned = 0
    cdef int status
    with nogil:
        status = ws_threshold_ties16(&v, t, limit, ties, target, m, &pruned)
    check_status(status, argument)
    return bits, mask, pruned
