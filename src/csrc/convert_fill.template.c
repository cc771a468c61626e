/*
 * One (type, index type) pair's filling steps, included by convert.c with
 * TYPE, SUFFIX, ABS, IDX and ISUFFIX.
 */
#include "templating.h"
/* The keep rule of convert_count.template.c, which has no index type. */
#define WS_KEEPS WS_CAT(ws_keeps, SUFFIX)

int WS_NAME(ws_csr_fill)(const ws_view *in, int keep, TYPE threshold,
                         const ws_view *mask, const IDX *indptr, TYPE *data,
                         IDX *indices) {
    const TYPE *base = (const TYPE *)in->data;
#pragma omp parallel for num_threads(ws_threads_for(in->rows * in->cols)) \
    schedule(static)
    for (int64_t r = 0; r < in->rows; ++r) {
        const TYPE *row = base + r * in->row_stride;
        const int64_t cs = in->col_stride;
        const uint8_t *m = keep == WS_KEEP_MASKED
                               ? (const uint8_t *)mask->data + r * mask->row_stride
                               : NULL;
        int64_t p = (int64_t)indptr[r];
        const int64_t end = (int64_t)indptr[r + 1];
        /*
         * Branch-free: every element is written at p, and p moves on only
         * past kept ones.  The loop stops once the row is full, so a write
         * never lands past this row's part of the arrays.
         */
        if (keep == WS_KEEP_NONZERO && cs == 1) {
            for (int64_t j = 0; j < in->cols && p < end; ++j) {
                TYPE w = row[j];
                data[p] = w;
                indices[p] = (IDX)j;
                p += w != 0;
            }
        } else if (keep == WS_KEEP_ABOVE && cs == 1) {
            for (int64_t j = 0; j < in->cols && p < end; ++j) {
                TYPE w = row[j];
                data[p] = w;
                indices[p] = (IDX)j;
                p += (w != 0) & (ABS(w) >= threshold);
            }
        } else {
            for (int64_t j = 0; j < in->cols && p < end; ++j) {
                TYPE w = row[j * cs];
                data[p] = w;
                indices[p] = (IDX)j;
                p += WS_KEEPS(w, keep, threshold,
                              m ? m + j * mask->col_stride : NULL);
            }
        }
    }
    return WS_OK;
}

int WS_NAME(ws_bsr_fill)(const ws_view *in, int64_t br, int64_t bc,
                         const uint8_t *kept, const IDX *indptr, TYPE *data,
                         IDX *indices) {
    if (br < 1 || bc < 1) {
        return WS_ERR_ARGUMENT;
    }
    const TYPE *base = (const TYPE *)in->data;
    const int64_t block_rows = (in->rows + br - 1) / br;
    const int64_t block_cols = (in->cols + bc - 1) / bc;
    int nan_seen = 0;
#pragma omp parallel for num_threads(ws_threads_for(in->rows * in->cols)) \
    schedule(static) reduction(| : nan_seen)
    for (int64_t i = 0; i < block_rows; ++i) {
        int64_t rows = in->rows - i * br < br ? in->rows - i * br : br;
        int64_t p = (int64_t)indptr[i];
        int bad = 0;
        for (int64_t j = 0; j < block_cols; ++j) {
            if (!kept[i * block_cols + j]) {
                continue;
            }
            int64_t cols = in->cols - j * bc < bc ? in->cols - j * bc : bc;
            const TYPE *corner =
                base + i * br * in->row_stride + j * bc * in->col_stride;
            TYPE *block = data + p * br * bc;
            if (rows < br || cols < bc) {
                memset(block, 0, (size_t)(br * bc) * sizeof(TYPE));
            }
            for (int64_t r = 0; r < rows; ++r) {
                const TYPE *src = corner + r * in->row_stride;
                TYPE *dst = block + r * bc;
                if (in->col_stride == 1) {
                    for (int64_t c = 0; c < cols; ++c) {
                        dst[c] = src[c];
                        bad |= src[c] != src[c];
                    }
                } else {
                    for (int64_t c = 0; c < cols; ++c) {
                        TYPE w = src[c * in->col_stride];
                        dst[c] = w;
                        bad |= w != w;
                    }
                }
            }
            indices[p] = (IDX)j;
            p += 1;
        }
        nan_seen |= bad;
    }
    return nan_seen ? WS_ERR_NAN : WS_OK;
}

#undef WS_KEEPS
