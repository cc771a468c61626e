/*
 * Sparse times dense: Y = A X for A in CSR or BSR.
 *
 * X (k x n) and Y (m x n) are strided 2-D arrays (strides in elements), in
 * any layout.  For n > 1, X is copied panel by panel of columns into a small
 * row-major buffer (the operand itself is never copied whole), and each row
 * of Y is built in registers from the rows of that panel; for n = 1, the
 * product is one sparse matrix-vector product over x where it lies.  Rows
 * are split over threads by nonzeros, not by row count.  Y is written, never
 * read: no need to zero it.
 *
 * The _ep variants apply an epilogue as they write Y: row i of Y becomes
 * act(A X[i] + bias[i]) (bias NULL: none), with act one of ws_activation.
 * The plain functions are the _ep ones without an epilogue.
 *
 * The f16 and bf16 functions take A's values as 16-bit floats (IEEE float16
 * or bfloat16, stored as uint16_t), widen each to float as they load it and
 * accumulate in float: Y and the bias are float.  Their X is float, float16
 * or bfloat16, as `xkind` says; a 16-bit X is widened as it is packed.
 */
#ifndef WAVESPARSE_SPMM_H
#define WAVESPARSE_SPMM_H

#include "wavesparse/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ws_dense {
    void *data;
    int64_t rows;
    int64_t cols;
    int64_t row_stride;
    int64_t col_stride;
} ws_dense;

/* What an epilogue applies after the bias. */
typedef enum ws_activation {
    WS_ACT_NONE = 0,
    WS_ACT_RELU = 1,
    WS_ACT_GELU = 2  /* exact: x * Phi(x) */
} ws_activation;

/* bias: one value per row of Y, of Y's type, or NULL; act: ws_activation. */
typedef struct ws_epilogue {
    const void *bias;
    int act;
} ws_epilogue;

/* What the X of a 16-bit product holds. */
typedef enum ws_xkind {
    WS_X_F32 = 0,
    WS_X_F16 = 1,
    WS_X_BF16 = 2
} ws_xkind;

#define WS_SPMM_DECLARE(T, TS, I, IS)                                         \
    int ws_csr_spmm_##TS##_##IS(int64_t m, const I *indptr, const I *indices, \
                                const T *data, const ws_dense *x,             \
                                ws_dense *y);                                 \
    int ws_bsr_spmm_##TS##_##IS(int64_t block_rows, int64_t br, int64_t bc,   \
                                const I *indptr, const I *indices,            \
                                const T *data, const ws_dense *x,             \
                                ws_dense *y);                                 \
    int ws_csr_spmm_ep_##TS##_##IS(int64_t m, const I *indptr,                \
                                   const I *indices, const T *data,           \
                                   const ws_dense *x, ws_dense *y,            \
                                   const ws_epilogue *ep);                    \
    int ws_bsr_spmm_ep_##TS##_##IS(int64_t block_rows, int64_t br,            \
                                   int64_t bc, const I *indptr,               \
                                   const I *indices, const T *data,           \
                                   const ws_dense *x, ws_dense *y,            \
                                   const ws_epilogue *ep);
WS_SPMM_DECLARE(float, f32, int32_t, i32)
WS_SPMM_DECLARE(float, f32, int64_t, i64)
WS_SPMM_DECLARE(double, f64, int32_t, i32)
WS_SPMM_DECLARE(double, f64, int64_t, i64)
#undef WS_SPMM_DECLARE

#define WS_SPMM16_DECLARE(TS, I, IS)                                          \
    int ws_csr_spmm_ep_##TS##_##IS(int64_t m, const I *indptr,                \
                                   const I *indices, const uint16_t *data,    \
                                   const ws_dense *x, int xkind, ws_dense *y, \
                                   const ws_epilogue *ep);                    \
    int ws_bsr_spmm_ep_##TS##_##IS(int64_t block_rows, int64_t br,            \
                                   int64_t bc, const I *indptr,               \
                                   const I *indices, const uint16_t *data,    \
                                   const ws_dense *x, int xkind, ws_dense *y, \
                                   const ws_epilogue *ep);
WS_SPMM16_DECLARE(f16, int32_t, i32)
WS_SPMM16_DECLARE(f16, int64_t, i64)
WS_SPMM16_DECLARE(bf16, int32_t, i32)
WS_SPMM16_DECLARE(bf16, int64_t, i64)
#undef WS_SPMM16_DECLARE

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_SPMM_H */
