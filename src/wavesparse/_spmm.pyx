# cython: language_level=3, boundscheck=False, wraparound=False
"""CSR and BSR times dense on the CPU (C in spmm.c), with an optional
epilogue (bias + activation) applied as the output is written.

The Python layer (wavesparse.ops.spmm, wavesparse.runtime) has checked shapes
and dtypes: indptr and indices share one integer dtype, nothing is empty, and
either the sparse parts, x, y and bias share one float dtype (float32 or
float64), or the parts are float16/bfloat16, x is float32, float16 or
bfloat16, and y and bias are float32.  ``act`` is 0 (none), 1 (ReLU) or 2
(exact GELU).
"""
from libc.stdint cimport int32_t, int64_t, uint16_t, uintptr_t

from wavesparse._core cimport ws_dense, check_status
from wavesparse._kernels cimport (
    data_address, fill_dense,
    ws_epilogue, WS_X_F32, WS_X_F16, WS_X_BF16,
    ws_csr_spmm_ep_f32_i32, ws_csr_spmm_ep_f32_i64,
    ws_csr_spmm_ep_f64_i32, ws_csr_spmm_ep_f64_i64,
    ws_csr_spmm_ep_f16_i32, ws_csr_spmm_ep_f16_i64,
    ws_csr_spmm_ep_bf16_i32, ws_csr_spmm_ep_bf16_i64,
    ws_bsr_spmm_ep_f32_i32, ws_bsr_spmm_ep_f32_i64,
    ws_bsr_spmm_ep_f64_i32, ws_bsr_spmm_ep_f64_i64,
    ws_bsr_spmm_ep_f16_i32, ws_bsr_spmm_ep_f16_i64,
    ws_bsr_spmm_ep_bf16_i32, ws_bsr_spmm_ep_bf16_i64,
)

import numpy as np

from wavesparse.halfs import BFLOAT16 as _BF16

# The value types of A, numbered for the branches below.
cdef enum:
    F32 = 0
    F64 = 1
    F16 = 2
    BF16 = 3

_F16 = np.dtype(np.float16)


cdef int value_type(object dtype) except -1:
    if dtype == np.float32:
        return F32
    if dtype == np.float64:
        return F64
    return F16 if dtype == _F16 else BF16


cdef int x_kind(object dtype) except -1:
    if dtype == _F16:
        return WS_X_F16
    return WS_X_BF16 if dtype == _BF16 else WS_X_F32


cdef int fill_epilogue(ws_epilogue *ep, object bias, int act) except -1:
    ep.bias = NULL if bias is None else <const void *>data_address(bias)
    ep.act = act
    return 0


def csr_spmm(data, indices, indptr, x, y, bias=None, int act=0):
    """y[:] = act(A @ x + bias[:, None]) for A = (data, indices, indptr)."""
    cdef ws_dense xd, yd
    cdef ws_epilogue ep
    fill_dense(&xd, x)
    fill_dense(&yd, y)
    fill_epilogue(&ep, bias, act)
    cdef int64_t m = y.shape[0]
    cdef uintptr_t pd = data_address(data)
    cdef uintptr_t pi = data_address(indices)
    cdef uintptr_t pp = data_address(indptr)
    cdef int value = value_type(data.dtype)
    cdef int xkind = x_kind(x.dtype)
    cdef bint wide = indices.dtype == np.int64
    cdef int status
    with nogil:
        if value == F32 and not wide:
            status = ws_csr_spmm_ep_f32_i32(m, <int32_t *>pp, <int32_t *>pi,
                                            <float *>pd, &xd, &yd, &ep)
        elif value == F32:
            status = ws_csr_spmm_ep_f32_i64(m, <int64_t *>pp, <int64_t *>pi,
                                            <float *>pd, &xd, &yd, &ep)
        elif value == F64 and not wide:
            status = ws_csr_spmm_ep_f64_i32(m, <int32_t *>pp, <int32_t *>pi,
                                            <double *>pd, &xd, &yd, &ep)
        elif value == F64:
            status = ws_csr_spmm_ep_f64_i64(m, <int64_t *>pp, <int64_t *>pi,
                                            <double *>pd, &xd, &yd, &ep)
        elif value == F16 and not wide:
            status = ws_csr_spmm_ep_f16_i32(m, <int32_t *>pp, <int32_t *>pi,
                                            <uint16_t *>pd, &xd, xkind, &yd, &ep)
        elif value == F16:
            status = ws_csr_spmm_ep_f16_i64(m, <int64_t *>pp, <int64_t *>pi,
                                            <uint16_t *>pd, &xd, xkind, &yd, &ep)
        elif not wide:
            status = ws_csr_spmm_ep_bf16_i32(m, <int32_t *>pp, <int32_t *>pi,
                                             <uint16_t *>pd, &xd, xkind, &yd, &ep)
        else:
            status = ws_csr_spmm_ep_bf16_i64(m, <int64_t *>pp, <int64_t *>pi,
                                             <uint16_t *>pd, &xd, xkind, &yd, &ep)
    check_status(status, "A")


def bsr_spmm(data, indices, indptr, Py_ssize_t br, Py_ssize_t bc, x, y, bias=None,
             int act=0):
    """y[:] = act(A @ x + bias[:, None]) for A = (data (nnzb, br, bc), indices, indptr)."""
    cdef ws_dense xd, yd
    cdef ws_epilogue ep
    fill_dense(&xd, x)
    fill_dense(&yd, y)
    fill_epilogue(&ep, bias, act)
    cdef int64_t block_rows = y.shape[0] // br
    cdef uintptr_t pd = data_address(data)
    cdef uintptr_t pi = data_address(indices)
    cdef uintptr_t pp = data_address(indptr)
    cdef int value = value_type(data.dtype)
    cdef int xkind = x_kind(x.dtype)
    cdef bint wide = indices.dtype == np.int64
    cdef int status
    with nogil:
        if value == F32 and not wide:
            status = ws_bsr_spmm_ep_f32_i32(block_rows, br, bc, <int32_t *>pp,
                                            <int32_t *>pi, <float *>pd, &xd, &yd, &ep)
        elif value == F32:
            status = ws_bsr_spmm_ep_f32_i64(block_rows, br, bc, <int64_t *>pp,
                                            <int64_t *>pi, <float *>pd, &xd, &yd, &ep)
        elif value == F64 and not wide:
            status = ws_bsr_spmm_ep_f64_i32(block_rows, br, bc, <int32_t *>pp,
                                            <int32_t *>pi, <double *>pd, &xd, &yd, &ep)
        elif value == F64:
            status = ws_bsr_spmm_ep_f64_i64(block_rows, br, bc, <int64_t *>pp,
                                            <int64_t *>pi, <double *>pd, &xd, &yd, &ep)
        elif value == F16 and not wide:
            status = ws_bsr_spmm_ep_f16_i32(block_rows, br, bc, <int32_t *>pp,
                                            <int32_t *>pi, <uint16_t *>pd, &xd, xkind,
                                            &yd, &ep)
        elif value == F16:
            status = ws_bsr_spmm_ep_f16_i64(block_rows, br, bc, <int64_t *>pp,
                                            <int64_t *>pi, <uint16_t *>pd, &xd, xkind,
                                            &yd, &ep)
        elif not wide:
            status = ws_bsr_spmm_ep_bf16_i32(block_rows, br, bc, <int32_t *>pp,
                                             <int32_t *>pi, <uint16_t *>pd, &xd, xkind,
                                             &yd, &ep)
        else:
            status = ws_bsr_spmm_ep_bf16_i64(block_rows, br, bc, <int64_t *>pp,
                                             <int64_t *>pi, <uint16_t *>pd, &xd, xkind,
                                             &yd, &ep)
    check_status(status, "A")
