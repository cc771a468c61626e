# cython: language_level=3, boundscheck=False, wraparound=False
"""Masks, dense to CSR and dense to BSR (C in mask.c and convert.c).

Every function here takes arrays the Python layer has validated: float32 or
float64, non-empty, 2-D views of the data (see wavesparse._validate).
"""
from libc.stdlib cimport free
from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t

from wavesparse._core cimport (
    ws_view, fill_view, new_views, check_status, address_of,
    ws_apply_threshold_f32, ws_apply_threshold_f64,
    ws_any_nan_f32, ws_any_nan_f64,
    WS_KEEP_NONZERO, WS_KEEP_ABOVE, WS_KEEP_MASKED,
    WS_OK, WS_ERR_NAN,
    WS_BLOCK_NONZERO, WS_BLOCK_L1, WS_BLOCK_L2,
    ws_csr_count_f32, ws_csr_count_f64,
    ws_csr_fill_f32_i32, ws_csr_fill_f32_i64,
    ws_csr_fill_f64_i32, ws_csr_fill_f64_i64,
    ws_bsr_count_f32, ws_bsr_count_f64,
    ws_bsr_fill_f32_i32, ws_bsr_fill_f32_i64,
    ws_bsr_fill_f64_i32, ws_bsr_fill_f64_i64,
)

import numpy as np

KEEP_RULES = {"nonzero": WS_KEEP_NONZERO, "above": WS_KEEP_ABOVE,
              "mask": WS_KEEP_MASKED}
BLOCK_RULES = {"nonzero": WS_BLOCK_NONZERO, "l1": WS_BLOCK_L1,
               "l2": WS_BLOCK_L2}


def apply_threshold(view, double threshold, str argument="w"):
    """Thresholds a 2-D view; returns flat ``(pruned, mask)`` in its order."""
    cdef ws_view v
    fill_view(&v, view)
    pruned = np.empty(view.size, dtype=view.dtype)
    mask = np.empty(view.size, dtype=np.bool_)
    cdef uintptr_t out = address_of(pruned)
    cdef uint8_t *m = <uint8_t *>address_of(mask)
    cdef bint single = view.dtype == np.float32
    cdef int status
    with nogil:
        if single:
            status = ws_apply_threshold_f32(&v, <float>threshold,
                                            <float *>out, m)
        else:
            status = ws_apply_threshold_f64(&v, threshold, <double *>out, m)
    check_status(status, argument)
    return pruned, mask


def refuse_nan(list views, str argument):
    """Raises the NaN error naming ``argument`` when any of the non-empty 2-D
    views of one dtype holds a NaN."""
    cdef Py_ssize_t count = len(views)
    cdef bint single = views[0].dtype == np.float32
    cdef int found
    cdef ws_view *vs = new_views(views)
    try:
        with nogil:
            found = ws_any_nan_f32(vs, count) if single else ws_any_nan_f64(vs, count)
    finally:
        free(vs)
    check_status(WS_ERR_NAN if found else WS_OK, argument)


def csr_parts(matrix, str keep, double threshold, mask_view,
              index_rule, str argument="dense"):
    """``(data, indices, indptr)`` of a non-empty 2-D matrix.

    ``index_rule(maxval)`` gives the index dtype for the largest of the shape
    and the count of nonzeros (the Python layer's rule).
    """
    cdef ws_view v, mv
    cdef int rule = KEEP_RULES[keep]
    cdef int status
    cdef bint single = matrix.dtype == np.float32
    cdef bint wide
    fill_view(&v, matrix)
    if rule == WS_KEEP_MASKED:
        fill_view(&mv, mask_view)
    row_nnz = np.empty(matrix.shape[0], dtype=np.int64)
    cdef int64_t *counts = <int64_t *>address_of(row_nnz)
    with nogil:
        if single:
            status = ws_csr_count_f32(&v, rule, <float>threshold, &mv, counts)
        else:
            status = ws_csr_count_f64(&v, rule, threshold, &mv, counts)
    check_status(status, argument)
    nnz = int(row_nnz.sum())
    index_dtype = index_rule(max(matrix.shape[0], matrix.shape[1], nnz))
    wide = index_dtype == np.int64
    indptr = np.zeros(matrix.shape[0] + 1, dtype=index_dtype)
    np.cumsum(row_nnz, out=indptr[1:])
    data = np.empty(nnz, dtype=matrix.dtype)
    indices = np.empty(nnz, dtype=index_dtype)
    if nnz == 0:
        return data, indices, indptr
    cdef uintptr_t pd = address_of(data)
    cdef uintptr_t pi = address_of(indices)
    cdef uintptr_t pp = address_of(indptr)
    cdef float t32 = <float>threshold
    with nogil:
        if single and not wide:
            status = ws_csr_fill_f32_i32(&v, rule, t32, &mv, <int32_t *>pp,
                                         <float *>pd, <int32_t *>pi)
        elif single:
            status = ws_csr_fill_f32_i64(&v, rule, t32, &mv, <int64_t *>pp,
                                         <float *>pd, <int64_t *>pi)
        elif not wide:
            status = ws_csr_fill_f64_i32(&v, rule, threshold, &mv,
                                         <int32_t *>pp, <double *>pd,
                                         <int32_t *>pi)
        else:
            status = ws_csr_fill_f64_i64(&v, rule, threshold, &mv,
                                         <int64_t *>pp, <double *>pd,
                                         <int64_t *>pi)
    check_status(status, argument)
    return data, indices, indptr


def bsr_parts(matrix, Py_ssize_t br, Py_ssize_t bc, str keep,
              double threshold, index_rule, str argument="dense"):
    """``(data, indices, indptr)`` of a non-empty 2-D matrix in br x bc blocks.

    Edge blocks that the block shape does not cover are padded with zeros.
    """
    cdef ws_view v
    cdef int rule = BLOCK_RULES[keep]
    cdef int status
    cdef bint single = matrix.dtype == np.float32
    cdef bint wide
    fill_view(&v, matrix)
    block_rows = -(-matrix.shape[0] // br)
    block_cols = -(-matrix.shape[1] // bc)
    kept = np.empty(block_rows * block_cols, dtype=np.uint8)
    brow_nnz = np.empty(block_rows, dtype=np.int64)
    cdef uint8_t *pk = <uint8_t *>address_of(kept)
    cdef int64_t *counts = <int64_t *>address_of(brow_nnz)
    with nogil:
        if single:
            status = ws_bsr_count_f32(&v, br, bc, rule, threshold, pk, counts)
        else:
            status = ws_bsr_count_f64(&v, br, bc, rule, threshold, pk, counts)
    check_status(status, argument)
    nnzb = int(brow_nnz.sum())
    index_dtype = index_rule(max(block_rows, block_cols, nnzb))
    wide = index_dtype == np.int64
    indptr = np.zeros(block_rows + 1, dtype=index_dtype)
    np.cumsum(brow_nnz, out=indptr[1:])
    data = np.empty((nnzb, br, bc), dtype=matrix.dtype)
    indices = np.empty(nnzb, dtype=index_dtype)
    if nnzb == 0:
        return data, indices, indptr
    cdef uintptr_t pd = address_of(data)
    cdef uintptr_t pi = address_of(indices)
    cdef uintptr_t pp = address_of(indptr)
    with nogil:
        if single and not wide:
            status = ws_bsr_fill_f32_i32(&v, br, bc, pk, <int32_t *>pp,
                                         <float *>pd, <int32_t *>pi)
        elif single:
            status = ws_bsr_fill_f32_i64(&v, br, bc, pk, <int64_t *>pp,
                                         <float *>pd, <int64_t *>pi)
        elif not wide:
            status = ws_bsr_fill_f64_i32(&v, br, bc, pk, <int32_t *>pp,
                                         <double *>pd, <int32_t *>pi)
        else:
            status = ws_bsr_fill_f64_i64(&v, br, bc, pk, <int64_t *>pp,
                                         <double *>pd, <int64_t *>pi)
    check_status(status, argument)
    return data, indices, indptr
