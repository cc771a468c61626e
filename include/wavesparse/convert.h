/*
 * Dense to CSR and dense to BSR, in two steps each: count what a row (or a
 * row of blocks) keeps, then, once the caller has summed the counts into
 * indptr and allocated the arrays, fill them.  Rows are independent, so both
 * steps run in parallel over rows; the result is canonical (sorted column
 * indices, no duplicates, no explicit zeros).
 */
#ifndef WAVESPARSE_CONVERT_H
#define WAVESPARSE_CONVERT_H

#include "wavesparse/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which elements a CSR keeps: always nonzero, and ... */
typedef enum ws_keep {
    WS_KEEP_NONZERO = 0, /* ... nothing more */
    WS_KEEP_ABOVE = 1,   /* ... |w| >= threshold */
    WS_KEEP_MASKED = 2   /* ... mask != 0 (a uint8 view of the same shape) */
} ws_keep;

/* Which blocks a BSR keeps. */
typedef enum ws_block_keep {
    WS_BLOCK_NONZERO = 0, /* any element nonzero */
    WS_BLOCK_L1 = 1,      /* sum |w| >= threshold */
    WS_BLOCK_L2 = 2       /* sqrt(sum w^2) >= threshold */
} ws_block_keep;

/*
 * The counting steps of one type T (suffix TS):
 *
 * ws_csr_count: row_nnz[r] = elements row r keeps (a ws_keep rule).
 *
 * ws_bsr_count: for blocks of br x bc elements (edge blocks may be partial:
 * the missing elements count as zeros), kept[i * block_cols + j] = 1 when
 * block (i, j) is kept (a ws_block_keep rule), and brow_nnz[i] = blocks kept
 * in block row i, where block_cols = ceil(cols / bc).
 *
 * Both return WS_OK or WS_ERR_NAN.
 */
#define WS_CONVERT_COUNT_DECLARE(T, TS)                                       \
    int ws_csr_count_##TS(const ws_view *in, int keep, T threshold,           \
                          const ws_view *mask, int64_t *row_nnz);             \
    int ws_bsr_count_##TS(const ws_view *in, int64_t br, int64_t bc,          \
                          int keep, double threshold, uint8_t *kept,          \
                          int64_t *brow_nnz);
WS_CONVERT_COUNT_DECLARE(float, f32)
WS_CONVERT_COUNT_DECLARE(double, f64)
#undef WS_CONVERT_COUNT_DECLARE

/*
 * The filling steps of one type T and index type I (suffixes TS, IS):
 *
 * ws_csr_fill: fills data and indices, row r from indptr[r], by the keep
 * rule of the count.
 *
 * ws_bsr_fill: copies the kept blocks into data (nnzb x br x bc, zeros where
 * a partial block has no element) and their block columns into indices.
 */
#define WS_CONVERT_FILL_DECLARE(T, TS, I, IS)                                 \
    int ws_csr_fill_##TS##_##IS(const ws_view *in, int keep, T threshold,     \
                                const ws_view *mask, const I *indptr,         \
                                T *data, I *indices);                         \
    int ws_bsr_fill_##TS##_##IS(const ws_view *in, int64_t br, int64_t bc,    \
                                const uint8_t *kept, const I *indptr,         \
                                T *data, I *indices);
WS_CONVERT_FILL_DECLARE(float, f32, int32_t, i32)
WS_CONVERT_FILL_DECLARE(float, f32, int64_t, i64)
WS_CONVERT_FILL_DECLARE(double, f64, int32_t, i32)
WS_CONVERT_FILL_DECLARE(double, f64, int64_t, i64)
#undef WS_CONVERT_FILL_DECLARE

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_CONVERT_H */
