/*
 * One type's N:M product, included by nm.c with TYPE, SUFFIX and PANEL (the
 * columns of one row of Y held in registers at once).
 */
#include "templating.h"

/* The panel kernel for the baseline (16-byte vectors), and for AVX2 + FMA
 * (32-byte vectors) where the compiler can; the CPU chooses at run time. */
#define WS_NM_KNAME(name) WS_CAT(WS_NAME(name), base)
#define WS_NM_ISA_ATTR
#define WS_NM_VBYTES 16
#include "nm_kernel.template.c"
#undef WS_NM_KNAME
#undef WS_NM_ISA_ATTR
#undef WS_NM_VBYTES
#if WS_HAVE_AVX2_CLONE
#define WS_NM_KNAME(name) WS_CAT(WS_NAME(name), avx2)
#define WS_NM_ISA_ATTR __attribute__((target("avx2,fma")))
#define WS_NM_VBYTES 32
#include "nm_kernel.template.c"
#undef WS_NM_KNAME
#undef WS_NM_ISA_ATTR
#undef WS_NM_VBYTES
#define WS_NM_PANEL_KERNEL \
    (ws_cpu_has_avx2_fma() ? WS_CAT(WS_NAME(ws_nm_panel), avx2) \
                      : WS_CAT(WS_NAME(ws_nm_panel), base))
#else
#define WS_NM_PANEL_KERNEL WS_CAT(WS_NAME(ws_nm_panel), base)
#endif

/* Row i of Y for one column of X: a dot product over the kept entries. */
static TYPE WS_NAME(ws_nm_dot)(int64_t kept, int64_t full, int64_t n,
                                  int64_t m, int64_t cols, const TYPE *v,
                                  const uint8_t *p, const TYPE *x,
                                  int64_t ldx) {
    TYPE sum = (TYPE)0;
    for (int64_t e = 0, base = 0; e < kept; e += n, base += m) {
        for (int64_t t = 0; t < n; ++t) {
            const int64_t col = base + p[e + t];
            if (e < full || col < cols) {
                sum += v[e + t] * x[col * ldx];
            }
        }
    }
    return sum;
}

/*
 * Copies columns [j0, j0 + w) of rows [r0, r1) of X into `panel` (rows PANEL
 * apart, zero past w).  Rows of X a power of two apart share a few cache
 * sets; packed, the panel stays in L2 for every row of A.
 */
static void WS_NAME(ws_nm_pack)(const TYPE *x, int64_t ldx, int64_t r0,
                                   int64_t r1, int64_t j0, int64_t w,
                                   TYPE *panel) {
    for (int64_t r = r0; r < r1; ++r) {
        memcpy(panel + r * PANEL, x + r * ldx + j0, (size_t)w * sizeof(TYPE));
        if (w < PANEL) {
            memset(panel + r * PANEL + w, 0, (size_t)(PANEL - w) * sizeof(TYPE));
        }
    }
}

int WS_NAME(ws_nm_spmm)(int64_t rows, int64_t cols, int64_t n, int64_t m,
                           const TYPE *values, const uint8_t *positions,
                           const TYPE *x, int64_t ldx, int64_t nx, TYPE *y,
                           int64_t ldy) {
    if (rows < 0 || cols < 1 || n < 1 || m < n || m > 256 || nx < 1) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t kept = ((cols + m - 1) / m) * n;
    const int64_t full = (cols / m) * n;
    const int threads = ws_threads_for(rows * kept * (nx < 16 ? nx : 16));
    if (nx == 1) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t i = 0; i < rows; ++i) {
            y[i * ldy] = WS_NAME(ws_nm_dot)(kept, full, n, m, cols, values + i * kept,
                                               positions + i * kept, x, ldx);
        }
        return WS_OK;
    }
    /* The panel holds every row of X up to the last group's end. */
    const int64_t k = ((cols + m - 1) / m) * m;
    TYPE *panel = (TYPE *)malloc((size_t)k * PANEL * sizeof(TYPE));
    if (panel == NULL) {
        return WS_ERR_NOMEM;
    }
    memset(panel + cols * PANEL, 0, (size_t)(k - cols) * PANEL * sizeof(TYPE));
#pragma omp parallel num_threads(threads)
    {
        int t0 = 0, used = 1;
#ifdef _OPENMP
        t0 = omp_get_thread_num();
        used = omp_get_num_threads();
#endif
        TYPE out[PANEL];
        for (int64_t j0 = 0; j0 < nx; j0 += PANEL) {
            const int64_t w = nx - j0 < PANEL ? nx - j0 : PANEL;
            WS_NAME(ws_nm_pack)(x, ldx, cols * t0 / used, cols * (t0 + 1) / used, j0, w,
                                   panel);
#pragma omp barrier
#pragma omp for schedule(static)
            for (int64_t i = 0; i < rows; ++i) {
                TYPE *yi = y + i * ldy + j0;
                WS_NM_PANEL_KERNEL(kept, n, m, values + i * kept, positions + i * kept,
                                        panel, w == PANEL ? yi : out);
                if (w < PANEL) {
                    memcpy(yi, out, (size_t)w * sizeof(TYPE));
                }
            }
        }
    }
    free(panel);
    return WS_OK;
}

#undef WS_NM_PANEL_KERNEL
