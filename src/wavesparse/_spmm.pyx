# cython: language_level=3, boundscheck=False, wraparound=False
"""CSR and BSR times dense on the CPU (C in spmm.c).

The Python layer (wavesparse.ops.spmm) has checked shapes and dtypes: the
sparse parts, x and y share one float dtype, indptr and indices one integer
dtype, and nothing is empty.
"""
from libc.stdint cimport int32_t, int64_t, uintptr_t

from wavesparse._core cimport (
    ws_dense, address_of, check_status,
    ws_csr_spmm_f32_i32, ws_csr_spmm_f32_i64,
    ws_csr_spmm_f64_i32, ws_csr_spmm_f64_i64,
    ws_bsr_spmm_f32_i32, ws_bsr_spmm_f32_i64,
    ws_bsr_spmm_f64_i32, ws_bsr_spmm_f64_i64,
)

import numpy as np


cdef int fill_dense(ws_dense *d, object array) except -1:
    cdef Py_ssize_t item = array.itemsize
    d.data = <void *>address_of(array)
    d.rows = array.shape[0]
    d.cols = array.shape[1]
    d.row_stride = array.strides[0] // item
    d.col_stride = array.strides[1] // item
    return 0


def csr_spmm(data, indices, indptr, x, y):
    """y[:] = A @ x for A = (data, indices, indptr) with y.shape[0] rows."""
    cdef ws_dense xd, yd
    fill_dense(&xd, x)
    fill_dense(&yd, y)
    cdef int64_t m = y.shape[0]
    cdef uintptr_t pd = address_of(data)
    cdef uintptr_t pi = address_of(indices)
    cdef uintptr_t pp = address_of(indptr)
    cdef bint single = data.dtype == np.float32
    cdef bint wide = indices.dtype == np.int64
    cdef int status
    with nogil:
        if single and not wide:
            status = ws_csr_spmm_f32_i32(m, <int32_t *>pp, <int32_t *>pi,
                                         <float *>pd, &xd, &yd)
        elif single:
            status = ws_csr_spmm_f32_i64(m, <int64_t *>pp, <int64_t *>pi,
                                         <float *>pd, &xd, &yd)
        elif not wide:
            status = ws_csr_spmm_f64_i32(m, <int32_t *>pp, <int32_t *>pi,
                                         <double *>pd, &xd, &yd)
        else:
            status = ws_csr_spmm_f64_i64(m, <int64_t *>pp, <int64_t *>pi,
                                         <double *>pd, &xd, &yd)
    check_status(status, "A")


def bsr_spmm(data, indices, indptr, Py_ssize_t br, Py_ssize_t bc, x, y):
    """y[:] = A @ x for A = (data (nnzb, br, bc), indices, indptr)."""
    cdef ws_dense xd, yd
    fill_dense(&xd, x)
    fill_dense(&yd, y)
    cdef int64_t block_rows = y.shape[0] // br
    cdef uintptr_t pd = address_of(data)
    cdef uintptr_t pi = address_of(indices)
    cdef uintptr_t pp = address_of(indptr)
    cdef bint single = data.dtype == np.float32
    cdef bint wide = indices.dtype == np.int64
    cdef int status
    with nogil:
        if single and not wide:
            status = ws_bsr_spmm_f32_i32(block_rows, br, bc, <int32_t *>pp,
                                         <int32_t *>pi, <float *>pd, &xd, &yd)
        elif single:
            status = ws_bsr_spmm_f32_i64(block_rows, br, bc, <int64_t *>pp,
                                         <int64_t *>pi, <float *>pd, &xd, &yd)
        elif not wide:
            status = ws_bsr_spmm_f64_i32(block_rows, br, bc, <int32_t *>pp,
                                         <int32_t *>pi, <double *>pd, &xd, &yd)
        else:
            status = ws_bsr_spmm_f64_i64(block_rows, br, bc, <int64_t *>pp,
                                         <int64_t *>pi, <double *>pd, &xd, &yd)
    check_status(status, "A")
