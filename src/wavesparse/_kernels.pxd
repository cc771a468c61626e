# Declarations of the products with epilogues (spmm.h) and of the per-token
# kernels (nn.h), apart from _core.pxd so that either file changes alone.
from cpython.buffer cimport PyBUF_STRIDES, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uintptr_t

from wavesparse._core cimport ws_dense


cdef inline uintptr_t data_address(object array) except? 0:
    """The address of an ndarray's first element, through the buffer protocol
    (a fifth of the time of ``__array_interface__``, which builds a dict: it
    matters for the many small products of a batch-1 forward)."""
    cdef Py_buffer view
    PyObject_GetBuffer(array, &view, PyBUF_STRIDES)
    cdef uintptr_t address = <uintptr_t>view.buf
    PyBuffer_Release(&view)
    return address


cdef inline int fill_dense(ws_dense *d, object array) except -1:
    """A 2-D ndarray as the C kernels' strided view (strides in elements)."""
    cdef Py_ssize_t item = array.itemsize
    d.data = <void *>data_address(array)
    d.rows = array.shape[0]
    d.cols = array.shape[1]
    d.row_stride = array.strides[0] // item
    d.col_stride = array.strides[1] // item
    return 0


cdef extern from "wavesparse/spmm.h" nogil:
    int WS_ACT_NONE
    int WS_ACT_RELU
    int WS_ACT_GELU
    int WS_X_F32
    int WS_X_F16
    int WS_X_BF16
    ctypedef struct ws_epilogue:
        const void *bias
        int act
    int ws_csr_spmm_ep_f32_i32(int64_t m, const int32_t *indptr, const int32_t *indices,
                               const float *data, const ws_dense *x, ws_dense *y,
                               const ws_epilogue *ep)
    int ws_csr_spmm_ep_f32_i64(int64_t m, const int64_t *indptr, const int64_t *indices,
                               const float *data, const ws_dense *x, ws_dense *y,
                               const ws_epilogue *ep)
    int ws_csr_spmm_ep_f64_i32(int64_t m, const int32_t *indptr, const int32_t *indices,
                               const double *data, const ws_dense *x, ws_dense *y,
                               const ws_epilogue *ep)
    int ws_csr_spmm_ep_f64_i64(int64_t m, const int64_t *indptr, const int64_t *indices,
                               const double *data, const ws_dense *x, ws_dense *y,
                               const ws_epilogue *ep)
    int ws_bsr_spmm_ep_f32_i32(int64_t block_rows, int64_t br, int64_t bc,
                               const int32_t *indptr, const int32_t *indices,
                               const float *data, const ws_dense *x, ws_dense *y,
                               const ws_epilogue *ep)
    int ws_bsr_spmm_ep_f32_i64(int64_t block_rows, int64_t br, int64_t bc,
                               const int64_t *indptr, const int64_t *indices,
                               const float *data, const ws_dense *x, ws_dense *y,
                               const ws_epilogue *ep)
    int ws_bsr_spmm_ep_f64_i32(int64_t block_rows, int64_t br, int64_t bc,
                               const int32_t *indptr, const int32_t *indices,
                               const double *data, const ws_dense *x, ws_dense *y,
                               const ws_epilogue *ep)
    int ws_bsr_spmm_ep_f64_i64(int64_t block_rows, int64_t br, int64_t bc,
                               const int64_t *indptr, const int64_t *indices,
                               const double *data, const ws_dense *x, ws_dense *y,
                               const ws_epilogue *ep)
    int ws_csr_spmm_ep_f16_i32(int64_t m, const int32_t *indptr, const int32_t *indices,
                               const uint16_t *data, const ws_dense *x, int xkind,
                               ws_dense *y, const ws_epilogue *ep)
    int ws_csr_spmm_ep_f16_i64(int64_t m, const int64_t *indptr, const int64_t *indices,
                               const uint16_t *data, const ws_dense *x, int xkind,
                               ws_dense *y, const ws_epilogue *ep)
    int ws_csr_spmm_ep_bf16_i32(int64_t m, const int32_t *indptr, const int32_t *indices,
                                const uint16_t *data, const ws_dense *x, int xkind,
                                ws_dense *y, const ws_epilogue *ep)
    int ws_csr_spmm_ep_bf16_i64(int64_t m, const int64_t *indptr, const int64_t *indices,
                                const uint16_t *data, const ws_dense *x, int xkind,
                                ws_dense *y, const ws_epilogue *ep)
    int ws_bsr_spmm_ep_f16_i32(int64_t block_rows, int64_t br, int64_t bc,
                               const int32_t *indptr, const int32_t *indices,
                               const uint16_t *data, const ws_dense *x, int xkind,
                               ws_dense *y, const ws_epilogue *ep)
    int ws_bsr_spmm_ep_f16_i64(int64_t block_rows, int64_t br, int64_t bc,
                               const int64_t *indptr, const int64_t *indices,
                               const uint16_t *data, const ws_dense *x, int xkind,
                               ws_dense *y, const ws_epilogue *ep)
    int ws_bsr_spmm_ep_bf16_i32(int64_t block_rows, int64_t br, int64_t bc,
                                const int32_t *indptr, const int32_t *indices,
                                const uint16_t *data, const ws_dense *x, int xkind,
                                ws_dense *y, const ws_epilogue *ep)
    int ws_bsr_spmm_ep_bf16_i64(int64_t block_rows, int64_t br, int64_t bc,
                                const int64_t *indptr, const int64_t *indices,
                                const uint16_t *data, const ws_dense *x, int xkind,
                                ws_dense *y, const ws_epilogue *ep)


cdef extern from "wavesparse/nn.h" nogil:
    int ws_bias_act_f32(ws_dense *y, const float *bias, int act)
    int ws_bias_act_f64(ws_dense *y, const double *bias, int act)
    int ws_add_layer_norm_f32(const ws_dense *x, const ws_dense *r, const float *gamma,
                              const float *beta, double eps, ws_dense *out)
    int ws_add_layer_norm_f64(const ws_dense *x, const ws_dense *r, const double *gamma,
                              const double *beta, double eps, ws_dense *out)
    int ws_masked_softmax_f32(ws_dense *s, int64_t group_rows, const uint8_t *keep,
                              int64_t keep_stride, double scale)
    int ws_masked_softmax_f64(ws_dense *s, int64_t group_rows, const uint8_t *keep,
                              int64_t keep_stride, double scale)


cdef extern from "wavesparse/attention.h" nogil:
    int ws_attention_scores_f32(const float *q, const float *k, int64_t ld, int64_t batch,
                                int64_t heads, int64_t length, int64_t d, float *scores)
    int ws_attention_softmax_t_f32(float *scores_t, int64_t batch, int64_t heads,
                                   int64_t length, const uint8_t *keep,
                                   int64_t keep_stride, double scale)
    int ws_attention_context_f32(const float *v, const float *probs_t, int64_t ld,
                                 int64_t batch, int64_t heads, int64_t length, int64_t d,
                                 float *context)
