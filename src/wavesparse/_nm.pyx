# cython: language_level=3, boundscheck=False, wraparound=False
"""N:M sparse times dense on the CPU (C in nm.c).

The Python layer (wavesparse.formats_nm) has checked everything: values and
positions are C-contiguous (rows, groups * n) arrays, x (cols, nx) and y
(rows, nx) are C-contiguous of the values' dtype, and nothing is empty.
"""
from libc.stdint cimport int64_t, uint8_t, uintptr_t

from wavesparse._core cimport address_of, check_status
from wavesparse._nm_core cimport ws_nm_spmm_f32, ws_nm_spmm_f64

import numpy as np


def nm_spmm(values, positions, int64_t cols, int64_t n, int64_t m, x, y):
    """y[:] = A @ x for the N:M matrix A = (values, positions) of ``cols`` columns."""
    cdef int64_t rows = y.shape[0]
    cdef int64_t nx = y.shape[1]
    cdef int64_t ldx = x.strides[0] // x.itemsize
    cdef int64_t ldy = y.strides[0] // y.itemsize
    cdef uintptr_t pv = address_of(values)
    cdef uintptr_t pp = address_of(positions)
    cdef uintptr_t px = address_of(x)
    cdef uintptr_t py = address_of(y)
    cdef bint single = values.dtype == np.float32
    cdef int status
    with nogil:
        if single:
            status = ws_nm_spmm_f32(rows, cols, n, m, <float *>pv, <uint8_t *>pp,
                                    <float *>px, ldx, nx, <float *>py, ldy)
        else:
            status = ws_nm_spmm_f64(rows, cols, n, m, <double *>pv, <uint8_t *>pp,
                                    <double *>px, ldx, nx, <double *>py, ldy)
    check_status(status, "A")
