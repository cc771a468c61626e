/* The batched products of attention: see wavesparse/attention.h. */
#include "wavesparse/attention.h"

#include "wavesparse/common.h"
#include "cpu_features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"

typedef float ws_v8 __attribute__((vector_size(32)));

#define WS_TR 6  /* rows of a register tile (12 sums of AVX2's 16 registers) */
#define WS_TC 16 /* columns of a tile: two vectors */

/*
 * out[r][c] = sum over t < n of a[t * lda + r] * b[t * ldb + c] for rows
 * [r0, r0 + R) and columns [c0, c0 + WS_TC): R x 2 vectors of sums in
 * registers, each pair of b's vectors feeding R multiply-adds.
 */
#define WS_ATTN_TILE(NAME, ATTR)                                                     \
    ATTR static inline __attribute__((always_inline)) void NAME(                     \
        const int R, const float *a, int64_t lda, const float *b, int64_t ldb,       \
        int64_t n, int64_t r0, int64_t c0, float *out, int64_t ldo) {                \
        ws_v8 acc[WS_TR][2];                                                         \
        for (int r = 0; r < R; ++r) {                                                \
            acc[r][0] = (ws_v8){0};                                                  \
            acc[r][1] = (ws_v8){0};                                                  \
        }                                                                            \
        for (int64_t t = 0; t < n; ++t) {                                            \
            ws_v8 b0, b1;                                                            \
            memcpy(&b0, b + t * ldb + c0, sizeof(b0));                               \
            memcpy(&b1, b + t * ldb + c0 + 8, sizeof(b1));                           \
            const float *ar = a + t * lda + r0;                                      \
            for (int r = 0; r < R; ++r) {                                            \
                const ws_v8 s = ar[r] - (ws_v8){0};                                  \
                acc[r][0] += s * b0;                                                 \
                acc[r][1] += s * b1;                                                 \
            }                                                                        \
        }                                                                            \
        for (int r = 0; r < R; ++r) {                                                \
            memcpy(out + (r0 + r) * ldo + c0, &acc[r][0], sizeof(ws_v8));            \
            memcpy(out + (r0 + r) * ldo + c0 + 8, &acc[r][1], sizeof(ws_v8));        \
        }                                                                            \
    }

/*
 * out[r][c] (rows x cols, rows ldo apart) = sum over t < n of
 * a[t * lda + r] * b[t * ldb + c]: whole tiles, the last rows in a smaller
 * tile, the columns past the last whole tile one by one.
 */
#define WS_ATTN_GEMM(NAME, TILE, ATTR)                                               \
    WS_ATTN_TILE(TILE, ATTR)                                                         \
    ATTR static void NAME(const float *a, int64_t lda, const float *b, int64_t ldb,  \
                          int64_t n, int64_t rows, int64_t cols, float *out,         \
                          int64_t ldo) {                                             \
        const int64_t whole = cols - cols % WS_TC;                                   \
        for (int64_t c0 = 0; c0 < whole; c0 += WS_TC) {                              \
            int64_t r0 = 0;                                                          \
            for (; r0 + WS_TR <= rows; r0 += WS_TR) {                                \
                TILE(WS_TR, a, lda, b, ldb, n, r0, c0, out, ldo);                    \
            }                                                                        \
            switch (rows - r0) {                                                     \
            case 5: TILE(5, a, lda, b, ldb, n, r0, c0, out, ldo); break;             \
            case 4: TILE(4, a, lda, b, ldb, n, r0, c0, out, ldo); break;             \
            case 3: TILE(3, a, lda, b, ldb, n, r0, c0, out, ldo); break;             \
            case 2: TILE(2, a, lda, b, ldb, n, r0, c0, out, ldo); break;             \
            case 1: TILE(1, a, lda, b, ldb, n, r0, c0, out, ldo); break;             \
            default: break;                                                          \
            }                                                                        \
        }                                                                            \
        for (int64_t r = 0; r < rows; ++r) {                                         \
            for (int64_t c = whole; c < cols; ++c) {                                 \
                float s = 0;                                                         \
                for (int64_t t = 0; t < n; ++t) {                                    \
                    s += a[t * lda + r] * b[t * ldb + c];                            \
                }                                                                    \
                out[r * ldo + c] = s;                                                \
            }                                                                        \
        }                                                                            \
    }

WS_ATTN_GEMM(ws_attn_gemm_base, ws_attn_tile_base, )
#if WS_HAVE_AVX2_CLONE
WS_ATTN_GEMM(ws_attn_gemm_avx2, ws_attn_tile_avx2, __attribute__((target("avx2,fma"))))
#define WS_ATTN_GEMM_FN (ws_cpu_has_avx2_fma() ? ws_attn_gemm_avx2 : ws_attn_gemm_base)
#else
#define WS_ATTN_GEMM_FN ws_attn_gemm_base
#endif

typedef void (*ws_attn_gemm)(const float *, int64_t, const float *, int64_t, int64_t,
                             int64_t, int64_t, float *, int64_t);

static int ws_attn_threads(int64_t pairs, int64_t work) {
    int threads = ws_threads_for(work);
    return pairs < threads ? (int)(pairs > 0 ? pairs : 1) : threads;
}

static int ws_attn_check(int64_t ld, int64_t batch, int64_t heads, int64_t length,
                         int64_t d) {
    return batch >= 0 && heads >= 0 && length >= 0 && d >= 0 && ld >= batch * length;
}

int ws_attention_scores_f32(const float *q, const float *k, int64_t ld, int64_t batch,
                            int64_t heads, int64_t length, int64_t d, float *scores) {
    if (!ws_attn_check(ld, batch, heads, length, d)) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t pairs = batch * heads;
    const int threads = ws_attn_threads(pairs, pairs * length * length * d);
    const ws_attn_gemm gemm = WS_ATTN_GEMM_FN;
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        /*
         * The pair's d rows of q and of k, copied next to each other: in
         * place they lie ld apart, a power of two for usual batches, and
         * rows a multiple of 4 KiB apart share one set of the L1 cache.
         */
        float *qs = malloc((size_t)(2 * d * length) * sizeof(float) + 4);
        failed = qs == NULL;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < pairs; ++p) {
            if (qs == NULL) {
                continue;
            }
            float *ks = qs + d * length;
            const int64_t b = p / heads, h = p % heads;
            const int64_t at = h * d * ld + b * length;
            for (int64_t e = 0; e < d; ++e) {
                memcpy(qs + e * length, q + at + e * ld, (size_t)length * sizeof(float));
                memcpy(ks + e * length, k + at + e * ld, (size_t)length * sizeof(float));
            }
            /* scores[i][j] = sum over the head's d feature rows e of q[e][i] k[e][j]. */
            gemm(qs, length, ks, length, d, length, length, scores + p * length * length,
                 length);
        }
        free(qs);
    }
    return failed ? WS_ERR_NOMEM : WS_OK;
}

/*
 * Each column i of t (length x length, C-ordered: t[j][i], key j, query i)
 * becomes softmax over the kept rows j of scale * t[j][i]; the rows not kept
 * become 0.  Vectorised along the rows, column sums in col[].
 */
#define WS_ATTN_SOFTMAX(NAME, ATTR)                                                  \
    ATTR static void NAME(float *t, int64_t length, const uint8_t *keep, float scale,\
                          float *col) {                                              \
        float *sum = col + length;                                                   \
        for (int64_t i = 0; i < length; ++i) {                                       \
            col[i] = -INFINITY;                                                      \
            sum[i] = 0;                                                              \
        }                                                                            \
        for (int64_t j = 0; j < length; ++j) {                                       \
            if (keep == NULL || keep[j]) {                                           \
                const float *row = t + j * length;                                   \
                for (int64_t i = 0; i < length; ++i) {                               \
                    col[i] = row[i] > col[i] ? row[i] : col[i];                      \
                }                                                                    \
            }                                                                        \
        }                                                                            \
        for (int64_t j = 0; j < length; ++j) {                                       \
            float *row = t + j * length;                                             \
            if (keep != NULL && !keep[j]) {                                          \
                memset(row, 0, (size_t)length * sizeof(float));                      \
                continue;                                                            \
            }                                                                        \
            for (int64_t i = 0; i < length; ++i) {                                   \
                row[i] = ws_exp_f32(scale * (row[i] - col[i]));                      \
                sum[i] += row[i];                                                    \
            }                                                                        \
        }                                                                            \
        for (int64_t i = 0; i < length; ++i) {                                       \
            sum[i] = sum[i] > 0 ? 1.0f / sum[i] : 0.0f;                              \
        }                                                                            \
        for (int64_t j = 0; j < length; ++j) {                                       \
            if (keep == NULL || keep[j]) {                                           \
                float *row = t + j * length;                                         \
                for (int64_t i = 0; i < length; ++i) {                               \
                    row[i] *= sum[i];                                                \
                }                                                                    \
            }                                                                        \
        }                                                                            \
    }

WS_ATTN_SOFTMAX(ws_attn_softmax_base, )
#if WS_HAVE_AVX2_CLONE
WS_ATTN_SOFTMAX(ws_attn_softmax_avx2, __attribute__((target("avx2,fma"))))
#define WS_ATTN_SOFTMAX_FN \
    (ws_cpu_has_avx2_fma() ? ws_attn_softmax_avx2 : ws_attn_softmax_base)
#else
#define WS_ATTN_SOFTMAX_FN ws_attn_softmax_base
#endif

int ws_attention_softmax_t_f32(float *scores_t, int64_t batch, int64_t heads,
                               int64_t length, const uint8_t *keep, int64_t keep_stride,
                               double scale) {
    if (batch < 0 || heads < 0 || length < 0) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t pairs = batch * heads;
    const int threads = ws_attn_threads(pairs, pairs * length * length);
    void (*softmax)(float *, int64_t, const uint8_t *, float, float *) = WS_ATTN_SOFTMAX_FN;
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        float *col = malloc((size_t)(2 * length) * sizeof(float) + 4);
        failed = col == NULL;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < pairs; ++p) {
            if (col != NULL) {
                softmax(scores_t + p * length * length, length,
                        keep ? keep + (p / heads) * keep_stride : NULL, (float)scale, col);
            }
        }
        free(col);
    }
    return failed ? WS_ERR_NOMEM : WS_OK;
}

int ws_attention_context_f32(const float *v, const float *probs_t, int64_t ld,
                             int64_t batch, int64_t heads, int64_t length, int64_t d,
                             float *context) {
    if (!ws_attn_check(ld, batch, heads, length, d)) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t pairs = batch * heads;
    const int threads = ws_attn_threads(pairs, pairs * length * length * d);
    const ws_attn_gemm gemm = WS_ATTN_GEMM_FN;
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        float *vt = malloc((size_t)(d * length) * sizeof(float) + 4);
        failed = vt == NULL;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < pairs; ++p) {
            if (vt == NULL) {
                continue;
            }
            const int64_t b = p / heads, h = p % heads;
            const int64_t at = h * d * ld + b * length;
            /* V^T of the pair: vt[j][e] = v[e][j]. */
            for (int64_t e = 0; e < d; ++e) {
                const float *row = v + at + e * ld;
                for (int64_t j = 0; j < length; ++j) {
                    vt[j * d + e] = row[j];
                }
            }
            /* context[e][i] = sum over j of vt[j][e] probs_t[j][i]. */
            gemm(vt, d, probs_t + p * length * length, length, length, d, length,
                 context + at, ld);
        }
        free(vt);
    }
    return failed ? WS_ERR_NOMEM : WS_OK;
}
