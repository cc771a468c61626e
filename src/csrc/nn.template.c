/*
 * One type's kernels of nn.c, included with TYPE and SUFFIX.  The row loops
 * are compiled for the baseline and for AVX2 + FMA (nn_kernels.template.c);
 * the functions below split the work over threads.
 */
#include "templating.h"

#define WS_ISA_ATTR
#define WS_KNAME(name) WS_CAT(WS_NAME(name), base)
#include "nn_kernels.template.c"
#undef WS_ISA_ATTR
#undef WS_KNAME
#if WS_HAVE_AVX2_CLONE
#define WS_ISA_ATTR __attribute__((target("avx2,fma")))
#define WS_KNAME(name) WS_CAT(WS_NAME(name), avx2)
#include "nn_kernels.template.c"
#undef WS_ISA_ATTR
#undef WS_KNAME
#define WS_KERNEL(name) \
    (ws_cpu_has_avx2_fma() ? WS_CAT(WS_NAME(name), avx2) : WS_CAT(WS_NAME(name), base))
#else
#define WS_KERNEL(name) WS_CAT(WS_NAME(name), base)
#endif

/* The threads for `work` elements, at most `parts` (one part each at least). */
static int WS_NAME(ws_nn_threads)(int64_t work, int64_t parts) {
    int threads = ws_threads_for(work);
    return parts < threads ? (int)parts : threads;
}

int WS_NAME(ws_bias_act)(ws_dense *y, const TYPE *bias, int act) {
    if (y->col_stride != 1 || y->rows < 0 || y->cols < 0 ||
        (act != WS_ACT_NONE && act != WS_ACT_RELU && act != WS_ACT_GELU)) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t rows = y->rows, cols = y->cols, ld = y->row_stride;
    TYPE *yd = (TYPE *)y->data;
    const int threads = WS_NAME(ws_nn_threads)(rows * cols * (act == WS_ACT_GELU ? 8 : 1),
                                                rows);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
        WS_KERNEL(ws_row_bias_act)(yd + i * ld, cols, bias ? bias[i] : 0, act);
    }
    return WS_OK;
}

int WS_NAME(ws_add_layer_norm)(const ws_dense *x, const ws_dense *r,
                                const TYPE *gamma, const TYPE *beta, double eps,
                                ws_dense *out) {
    if (x->col_stride != 1 || out->col_stride != 1 || out->rows != x->rows ||
        out->cols != x->cols || x->rows < 1 ||
        (r != NULL && (r->col_stride != 1 || r->rows != x->rows || r->cols != x->cols))) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t slabs = (x->cols + WS_LN_COLS - 1) / WS_LN_COLS;
    const int threads = WS_NAME(ws_nn_threads)(x->rows * x->cols * 4, slabs);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t s = 0; s < slabs; ++s) {
        const int64_t j0 = s * WS_LN_COLS;
        const int64_t w = x->cols - j0 < WS_LN_COLS ? x->cols - j0 : WS_LN_COLS;
        WS_KERNEL(ws_slab_layer_norm)(
            (const TYPE *)x->data + j0, x->row_stride,
            r ? (const TYPE *)r->data + j0 : NULL, r ? r->row_stride : 0,
            gamma, beta, (TYPE)eps, x->rows, w, (TYPE *)out->data + j0,
            out->row_stride);
    }
    return WS_OK;
}

int WS_NAME(ws_masked_softmax)(ws_dense *s, int64_t group_rows,
                                const uint8_t *keep, int64_t keep_stride,
                                double scale) {
    if (s->col_stride != 1 || group_rows < 1 || s->rows < 0 || s->cols < 0) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t rows = s->rows, cols = s->cols, ld = s->row_stride;
    TYPE *sd = (TYPE *)s->data;
    const int threads = WS_NAME(ws_nn_threads)(rows * cols * 4, rows);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
        const uint8_t *k = keep ? keep + (i / group_rows) * keep_stride : NULL;
        WS_KERNEL(ws_row_softmax)(sd + i * ld, cols, k, (TYPE)scale);
    }
    return WS_OK;
}

#undef WS_KERNEL
