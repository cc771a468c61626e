/* One type's counting steps, included by convert.c with TYPE, SUFFIX, ABS. */
#include "templating.h"

/* The keep rule of one element; a NaN is nonzero and is reported apart. */
static inline int WS_NAME(ws_keeps)(TYPE w, int keep, TYPE threshold,
                                    const uint8_t *mask_at) {
    switch (keep) {
    case WS_KEEP_ABOVE: return (w != 0) & (ABS(w) >= threshold);
    case WS_KEEP_MASKED: return (w != 0) & (*mask_at != 0);
    default: return w != 0;
    }
}

int WS_NAME(ws_csr_count)(const ws_view *in, int keep, TYPE threshold,
                          const ws_view *mask, int64_t *row_nnz) {
    const TYPE *base = (const TYPE *)in->data;
    int nan_seen = 0;
#pragma omp parallel for num_threads(ws_threads_for(in->rows * in->cols)) \
    schedule(static) reduction(| : nan_seen)
    for (int64_t r = 0; r < in->rows; ++r) {
        const TYPE *row = base + r * in->row_stride;
        const int64_t cs = in->col_stride;
        int64_t count = 0;
        int bad = 0;
        if (keep == WS_KEEP_MASKED) {
            const uint8_t *m = (const uint8_t *)mask->data + r * mask->row_stride;
            for (int64_t j = 0; j < in->cols; ++j) {
                TYPE w = row[j * cs];
                bad |= w != w;
                count += (w != 0) & (m[j * mask->col_stride] != 0);
            }
        } else if (keep == WS_KEEP_ABOVE && cs == 1) {
            for (int64_t j = 0; j < in->cols; ++j) {
                TYPE w = row[j];
                bad |= w != w;
                count += (w != 0) & (ABS(w) >= threshold);
            }
        } else if (keep == WS_KEEP_ABOVE) {
            for (int64_t j = 0; j < in->cols; ++j) {
                TYPE w = row[j * cs];
                bad |= w != w;
                count += (w != 0) & (ABS(w) >= threshold);
            }
        } else if (cs == 1) {
            for (int64_t j = 0; j < in->cols; ++j) {
                TYPE w = row[j];
                bad |= w != w;
                count += w != 0;
            }
        } else {
            for (int64_t j = 0; j < in->cols; ++j) {
                TYPE w = row[j * cs];
                bad |= w != w;
                count += w != 0;
            }
        }
        row_nnz[r] = count;
        nan_seen |= bad;
    }
    return nan_seen ? WS_ERR_NAN : WS_OK;
}

/* Whether one block is kept; *nan_seen is set when a scanned value is NaN. */
static int WS_NAME(ws_block_kept)(const TYPE *corner, const ws_view *in,
                                  int64_t rows, int64_t cols, int keep,
                                  double threshold, int *nan_seen) {
    double norm = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
        const TYPE *row = corner + r * in->row_stride;
        for (int64_t c = 0; c < cols; ++c) {
            TYPE w = row[c * in->col_stride];
            if (keep == WS_BLOCK_NONZERO) {
                if (w != 0) {
                    /* A NaN keeps its block; the copy step reports it. */
                    return 1;
                }
            } else if (keep == WS_BLOCK_L1) {
                norm += ABS(w);
            } else {
                norm += (double)w * (double)w;
            }
        }
    }
    if (keep == WS_BLOCK_NONZERO) {
        return 0;
    }
    if (norm != norm) {
        *nan_seen = 1;
        return 0;
    }
    if (keep == WS_BLOCK_L2) {
        norm = sqrt(norm);
    }
    return norm >= threshold && norm > 0.0;
}

int WS_NAME(ws_bsr_count)(const ws_view *in, int64_t br, int64_t bc, int keep,
                          double threshold, uint8_t *kept, int64_t *brow_nnz) {
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
        int64_t count = 0;
        int bad = 0;
        for (int64_t j = 0; j < block_cols; ++j) {
            int64_t cols = in->cols - j * bc < bc ? in->cols - j * bc : bc;
            const TYPE *corner =
                base + i * br * in->row_stride + j * bc * in->col_stride;
            int k = WS_NAME(ws_block_kept)(corner, in, rows, cols, keep,
                                           threshold, &bad);
            kept[i * block_cols + j] = (uint8_t)k;
            count += k;
        }
        brow_nnz[i] = count;
        nan_seen |= bad;
    }
    return nan_seen ? WS_ERR_NAN : WS_OK;
}
