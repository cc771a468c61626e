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

/*
 * row_nnz[r] = elements row r keeps.  Returns WS_OK or WS_ERR_NAN.
 */
int ws_csr_count_f32(const ws_view *in, int keep, float threshold,
                     const ws_view *mask, int64_t *row_nnz);
int ws_csr_count_f64(const ws_view *in, int keep, double threshold,
                     const ws_view *mask, int64_t *row_nnz);

/* Fills data and indices, row r from indptr[r]; the same keep rule. */
int ws_csr_fill_f32_i32(const ws_view *in, int keep, float threshold,
                        const ws_view *mask, const int32_t *indptr,
                        float *data, int32_t *indices);
int ws_csr_fill_f32_i64(const ws_view *in, int keep, float threshold,
                        const ws_view *mask, const int64_t *indptr,
                        float *data, int64_t *indices);
int ws_csr_fill_f64_i32(const ws_view *in, int keep, double threshold,
                        const ws_view *mask, const int32_t *indptr,
                        double *data, int32_t *indices);
int ws_csr_fill_f64_i64(const ws_view *in, int keep, double threshold,
                        const ws_view *mask, const int64_t *indptr,
                        double *data, int64_t *indices);

/* Which blocks a BSR keeps. */
typedef enum ws_block_keep {
    WS_BLOCK_NONZERO = 0, /* any element nonzero */
    WS_BLOCK_L1 = 1,      /* sum |w| >= threshold */
    WS_BLOCK_L2 = 2       /* sqrt(sum w^2) >= threshold */
} ws_block_keep;

/*
 * For blocks of br x bc elements (edge blocks may be partial: the missing
 * elements count as zeros), keep[i * block_cols + j] = 1 when block (i, j)
 * is kept, and brow_nnz[i] = blocks kept in block row i, where block_cols =
 * ceil(cols / bc).  Returns WS_OK or WS_ERR_NAN.
 */
int ws_bsr_count_f32(const ws_view *in, int64_t br, int64_t bc, int keep,
                     double threshold, uint8_t *kept, int64_t *brow_nnz);
int ws_bsr_count_f64(const ws_view *in, int64_t br, int64_t bc, int keep,
                     double threshold, uint8_t *kept, int64_t *brow_nnz);

/*
 * Copies the kept blocks into data (nnzb x br x bc, zeros where a partial
 * block has no element) and their block columns into indices.
 */
int ws_bsr_fill_f32_i32(const ws_view *in, int64_t br, int64_t bc,
                        const uint8_t *kept, const int32_t *indptr,
                        float *data, int32_t *indices);
int ws_bsr_fill_f32_i64(const ws_view *in, int64_t br, int64_t bc,
                        const uint8_t *kept, const int64_t *indptr,
                        float *data, int64_t *indices);
int ws_bsr_fill_f64_i32(const ws_view *in, int64_t br, int64_t bc,
                        const uint8_t *kept, const int32_t *indptr,
                        double *data, int32_t *indices);
int ws_bsr_fill_f64_i64(const ws_view *in, int64_t br, int64_t bc,
                        const uint8_t *kept, const int64_t *indptr,
                        double *data, int64_t *indices);

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_CONVERT_H */
