/*
 * One (value type, index type) pair's products, included by spmm.c with
 * TYPE (the type of X's packed panels, of Y and of the sums), ATYPE (how A's
 * values are stored: TYPE, or uint16_t for 16-bit floats), SUFFIX (the name
 * of A's value type), CSUFFIX (TYPE's), PANEL (columns of X packed, and
 * of Y made, at once), IDX and ISUFFIX; WS_LOAD_BASE(v) and WS_LOAD_AVX2(v)
 * read one stored value as TYPE in each instruction set, WS_AVX2_TARGET and
 * WS_AVX2_USABLE() name and test the CPU features of the second one.  With
 * WS_HALF16 defined, the functions take 16-bit A (see spmm.h) and an xkind.
 */
#include "templating.h"
#define WS_SPLIT_(I) ws_split_##I
#define WS_SPLIT(I) WS_SPLIT_(I)
/* A name for the value type alone (the index type left out). */
#define WS_TYPED(name) WS_CAT(name, CSUFFIX)

/* A row of a panel: WS_VECS vectors of WS_LANES values. */
#define WS_LANES (32 / (int)sizeof(TYPE))
#define WS_VECS (PANEL / WS_LANES)
typedef TYPE WS_NAME(ws_vec) __attribute__((vector_size(32)));
/*
 * s in every lane.  s - 0 is s for every s, -0 included, so the compiler
 * drops the subtraction and emits one broadcast (0 + s is +0 for s = -0:
 * it had to keep an add before each broadcast).
 */
#define WS_SPLAT(s) ((s) - (WS_NAME(ws_vec)){0})

/*
 * Copies columns [j0, j0 + w) of rows [r0, r1) of X (rows ldx apart, columns
 * csx apart) into `panel` (leading dimension PANEL).  Rows of X a power of
 * two apart fall into a few cache sets, and an F-ordered X has its columns
 * far apart; packed, the panel is row-major and stays in L2 either way.  A
 * 16-bit X (xkind) is widened on the way.
 */
static void WS_NAME(ws_pack)(const void *xv, int xkind, int64_t ldx,
                             int64_t csx, int64_t r0, int64_t r1, int64_t j0,
                             int64_t w, TYPE *panel) {
    const TYPE *x = (const TYPE *)xv;
    for (int64_t r = r0; r < r1; ++r) {
#ifdef WS_HALF16
        if (xkind != WS_X_F32) {
            ws_widen16(xkind, (const uint16_t *)xv + r * ldx + j0 * csx, csx, w,
                       panel + r * PANEL);
        } else
#else
        (void)xkind;
#endif
        if (csx == 1 && w == PANEL) {
            /* Of constant size: copied inline, no call per row. */
            memcpy(panel + r * PANEL, x + r * ldx + j0, PANEL * sizeof(TYPE));
        } else if (csx == 1) {
            memcpy(panel + r * PANEL, x + r * ldx + j0, (size_t)w * sizeof(TYPE));
        } else {
            for (int64_t j = 0; j < w; ++j) {
                panel[r * PANEL + j] = x[r * ldx + (j0 + j) * csx];
            }
        }
        if (w < PANEL) {
            memset(panel + r * PANEL + w, 0, (size_t)(PANEL - w) * sizeof(TYPE));
        }
    }
}

/* The kernels for the baseline, and for AVX2 + FMA where the compiler can. */
#define WS_KCAT4(a, b, c, d) a##_##b##_##c##_##d
#define WS_KCAT(a, b, c, d) WS_KCAT4(a, b, c, d)
#define WS_ISA_ATTR
#define WS_KNAME(name) WS_KCAT(name, SUFFIX, ISUFFIX, base)
#define WS_LOAD_A(v) WS_LOAD_BASE(v)
/*
 * Register tiles (spmm_kernels.template.c), by the registers each instruction
 * set has.  Baseline, 16 of 16 bytes (a vector takes two): block tiles of
 * 2 rows x 2 vectors, CSR rows half a panel wide.  AVX2, 16 of 32 bytes:
 * 6 x 2 = 12 sums, the 2 vectors of X and a broadcast value; the rows left
 * 4 x 2, 2 x 4, 1 x 4; CSR rows the whole panel (8 sums) wide.
 */
#define WS_BSR_ROWS 2
#define WS_BSR_NV 2
#define WS_BSR_REM_NV 2
#define WS_CSR_WHOLE 0
#include "spmm_kernels.template.c"
#undef WS_ISA_ATTR
#undef WS_KNAME
#undef WS_LOAD_A
#undef WS_BSR_ROWS
#undef WS_BSR_NV
#undef WS_BSR_REM_NV
#undef WS_CSR_WHOLE
#if WS_HAVE_AVX2_CLONE
#define WS_ISA_ATTR __attribute__((target(WS_AVX2_TARGET)))
#define WS_KNAME(name) WS_KCAT(name, SUFFIX, ISUFFIX, avx2)
#define WS_LOAD_A(v) WS_LOAD_AVX2(v)
#define WS_BSR_ROWS 6
#define WS_BSR_NV 2
#define WS_BSR_REM_NV 4
#define WS_CSR_WHOLE 1
#ifdef WS_WIDEN8_AVX2
#define WS_WIDEN8(src, dst) WS_WIDEN8_AVX2(src, dst)
#endif
#include "spmm_kernels.template.c"
#undef WS_ISA_ATTR
#undef WS_KNAME
#undef WS_LOAD_A
#undef WS_WIDEN8
#undef WS_BSR_ROWS
#undef WS_BSR_NV
#undef WS_BSR_REM_NV
#undef WS_CSR_WHOLE
#define WS_KERNEL(name) \
    (WS_AVX2_USABLE() ? WS_KCAT(name, SUFFIX, ISUFFIX, avx2) \
                      : WS_KCAT(name, SUFFIX, ISUFFIX, base))
#else
#define WS_KERNEL(name) WS_KCAT(name, SUFFIX, ISUFFIX, base)
#endif

/*
 * Y = A X for CSR (block_rows = rows, br = bc = 1, csr set) or BSR: splits the
 * (block) rows over threads by nonzeros, then either packs X panel by panel
 * and runs the panel kernel, or runs one column at a time.
 */
static int WS_NAME(ws_spmm)(int csr, int64_t block_rows, int64_t br,
                            int64_t bc, const IDX *indptr, const IDX *indices,
                            const ATYPE *data, const ws_dense *x, int xkind,
                            ws_dense *y, const ws_epilogue *ep) {
    if (block_rows < 1 || br < 1 || bc < 1 || x->cols != y->cols ||
        y->rows != block_rows * br) {
        return WS_ERR_ARGUMENT;
    }
    const TYPE *bias = ep ? (const TYPE *)ep->bias : NULL;
    const int act = ep ? ep->act : WS_ACT_NONE;
    if (act != WS_ACT_NONE && act != WS_ACT_RELU && act != WS_ACT_GELU) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t n = x->cols, k = x->rows;
    if (n == 0) {
        return WS_OK;
    }
    const int64_t nnz = ((int64_t)indptr[block_rows] - (int64_t)indptr[0]) * br * bc;
    int threads = ws_threads_for(nnz * (n < 16 ? n : 16) + block_rows);
    int64_t first[257];
    if (threads > 256) {
        threads = 256;
    }
    WS_SPLIT(IDX)(block_rows, indptr, threads, first);
    const TYPE *xd = (const TYPE *)x->data;
    int64_t incx = x->row_stride;
    TYPE *yd = (TYPE *)y->data;
    /* Packing makes X's layout irrelevant: panels serve any X with n > 1. */
    const int rowwise = n > 1;
    /*
     * With panels enough for every thread, each thread takes whole panels
     * (packed into its own buffer) and all of A's rows for them: no barrier
     * at all.  Otherwise the threads share each panel's rows, two barriers
     * a panel, which at thousands of columns (a model's tokens) and an
     * OpenMP whose idle threads sleep cost more than a sparse product's
     * arithmetic.
     */
    const int colwise = rowwise && threads > 1 && n >= (int64_t)2 * PANEL * threads &&
                        (size_t)threads * (size_t)k * PANEL * sizeof(TYPE) <= WS_COLWISE_BYTES;
    const size_t panels = colwise ? (size_t)threads : 1;
    /*
     * The panel starts on a cache line: a row's group of vectors (64 bytes
     * for the AVX2 block tiles) then fills one line, never two.
     */
    void *raw = NULL;
    TYPE *panel = NULL;
    if (rowwise) {
        raw = malloc(panels * (size_t)k * PANEL * sizeof(TYPE) + 64);
        if (raw == NULL) {
            return WS_ERR_NOMEM;
        }
        panel = (TYPE *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    }
#ifdef WS_HALF16
    else if (xkind != WS_X_F32) {
        /* One column: widened once into the panel buffer, then read as TYPE. */
        raw = malloc((size_t)k * sizeof(TYPE));
        panel = (TYPE *)raw;
        if (panel == NULL) {
            return WS_ERR_NOMEM;
        }
        ws_widen16(xkind, (const uint16_t *)x->data, x->row_stride, k, panel);
        xd = panel;
        incx = 1;
    }
#endif
#pragma omp parallel num_threads(threads)
    {
        int t0 = 0, used = 1;
#ifdef _OPENMP
        t0 = omp_get_thread_num();
        used = omp_get_num_threads();
#endif
        /* The runtime may grant fewer threads than asked: share the parts. */
        if (colwise) {
            TYPE *mine = panel + (size_t)t0 * (size_t)k * PANEL;
            for (int64_t j0 = (int64_t)t0 * PANEL; j0 < n; j0 += (int64_t)used * PANEL) {
                const int64_t w = n - j0 < PANEL ? n - j0 : PANEL;
                WS_NAME(ws_pack)(x->data, xkind, x->row_stride, x->col_stride, 0, k, j0,
                                 w, mine);
                if (csr) {
                    WS_KERNEL(ws_csr_panel)(0, block_rows, indptr, indices, data, mine,
                                            yd + j0 * y->col_stride, y->row_stride,
                                            y->col_stride, w, bias, act);
                } else {
                    WS_KERNEL(ws_bsr_panel)(0, block_rows, br, bc, indptr, indices, data,
                                            mine, yd + j0 * y->col_stride, y->row_stride,
                                            y->col_stride, w, bias, act);
                }
            }
        } else if (rowwise) {
            for (int64_t j0 = 0; j0 < n; j0 += PANEL) {
                const int64_t w = n - j0 < PANEL ? n - j0 : PANEL;
                WS_NAME(ws_pack)(x->data, xkind, x->row_stride, x->col_stride,
                                 k * t0 / used, k * (t0 + 1) / used, j0, w, panel);
#pragma omp barrier
                for (int t = t0; t < threads; t += used) {
                    if (csr) {
                        WS_KERNEL(ws_csr_panel)(first[t], first[t + 1], indptr,
                                                indices, data, panel,
                                                yd + j0 * y->col_stride,
                                                y->row_stride, y->col_stride, w,
                                                bias, act);
                    } else {
                        WS_KERNEL(ws_bsr_panel)(first[t], first[t + 1], br, bc,
                                                indptr, indices, data, panel,
                                                yd + j0 * y->col_stride,
                                                y->row_stride, y->col_stride, w,
                                                bias, act);
                    }
                }
#pragma omp barrier
            }
        } else {
            for (int t = t0; t < threads; t += used) {
                if (csr) {
                    WS_KERNEL(ws_csr_column)(first[t], first[t + 1], indptr,
                                             indices, data, xd, incx, yd,
                                             y->row_stride, bias, act);
                } else {
                    WS_KERNEL(ws_bsr_column)(first[t], first[t + 1], br, bc,
                                             indptr, indices, data, xd, incx,
                                             yd, y->row_stride, bias, act);
                }
            }
        }
    }
    free(raw);
    return WS_OK;
}

#ifdef WS_HALF16
int WS_NAME(ws_csr_spmm_ep)(int64_t m, const IDX *indptr, const IDX *indices,
                            const ATYPE *data, const ws_dense *x, int xkind,
                            ws_dense *y, const ws_epilogue *ep) {
    if (xkind != WS_X_F32 && xkind != WS_X_F16 && xkind != WS_X_BF16) {
        return WS_ERR_ARGUMENT;
    }
    return WS_NAME(ws_spmm)(1, m, 1, 1, indptr, indices, data, x, xkind, y, ep);
}

int WS_NAME(ws_bsr_spmm_ep)(int64_t block_rows, int64_t br, int64_t bc,
                            const IDX *indptr, const IDX *indices,
                            const ATYPE *data, const ws_dense *x, int xkind,
                            ws_dense *y, const ws_epilogue *ep) {
    if (xkind != WS_X_F32 && xkind != WS_X_F16 && xkind != WS_X_BF16) {
        return WS_ERR_ARGUMENT;
    }
    return WS_NAME(ws_spmm)(0, block_rows, br, bc, indptr, indices, data, x,
                            xkind, y, ep);
}
#else
int WS_NAME(ws_csr_spmm)(int64_t m, const IDX *indptr, const IDX *indices,
                         const TYPE *data, const ws_dense *x, ws_dense *y) {
    return WS_NAME(ws_spmm)(1, m, 1, 1, indptr, indices, data, x, WS_X_F32, y,
                            NULL);
}

int WS_NAME(ws_bsr_spmm)(int64_t block_rows, int64_t br, int64_t bc,
                         const IDX *indptr, const IDX *indices,
                         const TYPE *data, const ws_dense *x, ws_dense *y) {
    return WS_NAME(ws_spmm)(0, block_rows, br, bc, indptr, indices, data, x,
                            WS_X_F32, y, NULL);
}

int WS_NAME(ws_csr_spmm_ep)(int64_t m, const IDX *indptr, const IDX *indices,
                            const TYPE *data, const ws_dense *x, ws_dense *y,
                            const ws_epilogue *ep) {
    return WS_NAME(ws_spmm)(1, m, 1, 1, indptr, indices, data, x, WS_X_F32, y,
                            ep);
}

int WS_NAME(ws_bsr_spmm_ep)(int64_t block_rows, int64_t br, int64_t bc,
                            const IDX *indptr, const IDX *indices,
                            const TYPE *data, const ws_dense *x, ws_dense *y,
                            const ws_epilogue *ep) {
    return WS_NAME(ws_spmm)(0, block_rows, br, bc, indptr, indices, data, x,
                            WS_X_F32, y, ep);
}
#endif

#undef WS_NAME
#undef WS_CAT
#undef WS_CAT3
#undef WS_SPLIT
#undef WS_SPLIT_
#undef WS_TYPED
#undef WS_LANES
#undef WS_STORE_VECS
#undef WS_KERNEL
#undef WS_KCAT
#undef WS_KCAT4
#undef WS_VECS
#undef WS_SPLAT
