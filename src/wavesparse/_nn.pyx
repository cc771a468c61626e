# cython: language_level=3, boundscheck=False, wraparound=False
"""The per-token work of a network in C (nn.c): bias + activation in place,
residual add + layer norm over columns, masked softmax over rows.

wavesparse.runtime has checked what reaches here: float32/float64 arrays of
one dtype, 2-D with unit column stride, shapes that fit, keep a uint8 array.
``act`` is 0 (none), 1 (ReLU) or 2 (exact GELU).
"""
from libc.stdint cimport int64_t, uint8_t, uintptr_t

from wavesparse._core cimport ws_dense, check_status
from wavesparse._kernels cimport (
    data_address, fill_dense,
    ws_bias_act_f32, ws_bias_act_f64,
    ws_add_layer_norm_f32, ws_add_layer_norm_f64,
    ws_masked_softmax_f32, ws_masked_softmax_f64,
    ws_attention_scores_f32, ws_attention_softmax_t_f32, ws_attention_context_f32,
)

import numpy as np


def bias_act(y, bias, int act):
    """y[i, j] = act(y[i, j] + bias[i]) in place (bias None: no bias)."""
    cdef ws_dense yd
    fill_dense(&yd, y)
    cdef uintptr_t pb = 0 if bias is None else data_address(bias)
    cdef bint single = y.dtype == np.float32
    cdef int status
    with nogil:
        if single:
            status = ws_bias_act_f32(&yd, <float *>pb, act)
        else:
            status = ws_bias_act_f64(&yd, <double *>pb, act)
    check_status(status, "y")


def add_layer_norm(x, r, gamma, beta, double eps, out):
    """out = layer norm of each column of x + r (r None: x) over the rows."""
    cdef ws_dense xd, rd, od
    fill_dense(&xd, x)
    fill_dense(&od, out)
    cdef ws_dense *rp = NULL
    if r is not None:
        fill_dense(&rd, r)
        rp = &rd
    cdef uintptr_t pg = data_address(gamma)
    cdef uintptr_t pb = data_address(beta)
    cdef bint single = x.dtype == np.float32
    cdef int status
    with nogil:
        if single:
            status = ws_add_layer_norm_f32(&xd, rp, <float *>pg, <float *>pb, eps, &od)
        else:
            status = ws_add_layer_norm_f64(&xd, rp, <double *>pg, <double *>pb, eps, &od)
    check_status(status, "x")


def masked_softmax(s, int64_t group_rows, keep, double scale):
    """Each row of s to softmax(scale * row) over the kept columns, in place.

    Row r uses ``keep[r // group_rows]`` (keep None: every column kept).
    """
    cdef ws_dense sd
    fill_dense(&sd, s)
    cdef uintptr_t pk = 0
    cdef int64_t keep_stride = 0
    if keep is not None:
        pk = data_address(keep)
        keep_stride = keep.strides[0]
    cdef bint single = s.dtype == np.float32
    cdef int status
    with nogil:
        if single:
            status = ws_masked_softmax_f32(&sd, group_rows, <uint8_t *>pk, keep_stride, scale)
        else:
            status = ws_masked_softmax_f64(&sd, group_rows, <uint8_t *>pk, keep_stride, scale)
    check_status(status, "s")


def attention_scores(q, k, int64_t ld, int64_t batch, int64_t heads, int64_t length,
                     int64_t d, scores):
    """scores (batch, heads, length, length) = each (sequence, head)'s Q^T K,
    from float32 feature-major q and k (rows ld apart)."""
    cdef uintptr_t pq = data_address(q), pk = data_address(k), ps = data_address(scores)
    cdef int status
    with nogil:
        status = ws_attention_scores_f32(<float *>pq, <float *>pk, ld, batch, heads, length,
                                         d, <float *>ps)
    check_status(status, "q")


def attention_softmax_t(scores_t, int64_t batch, int64_t heads, int64_t length, keep,
                        double scale):
    """Each pair's scores_t (keys by queries) to softmax over its kept keys
    (rows), column by column, in place."""
    cdef uintptr_t ps = data_address(scores_t)
    cdef uintptr_t pk = 0
    cdef int64_t keep_stride = 0
    if keep is not None:
        pk = data_address(keep)
        keep_stride = keep.strides[0]
    cdef int status
    with nogil:
        status = ws_attention_softmax_t_f32(<float *>ps, batch, heads, length,
                                            <uint8_t *>pk, keep_stride, scale)
    check_status(status, "scores_t")


def attention_context(v, probs_t, int64_t ld, int64_t batch, int64_t heads, int64_t length,
                      int64_t d, context):
    """context (feature-major, rows ld apart) = each pair's V probs (from the
    transposed probabilities probs_t)."""
    cdef uintptr_t pv = data_address(v), pp = data_address(probs_t)
    cdef uintptr_t pc = data_address(context)
    cdef int status
    with nogil:
        status = ws_attention_context_f32(<float *>pv, <float *>pp, ld, batch, heads, length,
                                          d, <float *>pc)
    check_status(status, "v")
