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

#define WS_SPMM_DECLARE(T, TS, I, IS)                                         \
    int ws_csr_spmm_##TS##_##IS(int64_t m, const I *indptr, const I *indices, \
                                const T *data, const ws_dense *x,             \
                                ws_dense *y);                                 \
    int ws_bsr_spmm_##TS##_##IS(int64_t block_rows, int64_t br, int64_t bc,   \
                                const I *indptr, const I *indices,            \
                                const T *data, const ws_dense *x,             \
                                ws_dense *y);
WS_SPMM_DECLARE(float, f32, int32_t, i32)
WS_SPMM_DECLARE(float, f32, int64_t, i64)
WS_SPMM_DECLARE(double, f64, int32_t, i32)
WS_SPMM_DECLARE(double, f64, int64_t, i64)
#undef WS_SPMM_DECLARE

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_SPMM_H */
