/*
 * The inner loops of spmm.template.c for one instruction set, included twice
 * per (type, index type): with WS_ISA_ATTR empty (the x86-64 baseline, or any
 * other CPU) and with the AVX2 + FMA target attribute.  WS_KNAME adds the
 * instruction set to each name, WS_LOAD_A reads one of A's stored values as
 * TYPE in that instruction set.
 */
/*
 * The epilogue of one output value, and of n sums in place: act(s + b).
 * Branches on act outside the loops, which then vectorise.
 */
WS_ISA_ATTR static inline TYPE WS_KNAME(ws_finish1)(TYPE s, TYPE b, int act) {
    s += b;
    if (act == WS_ACT_GELU) {
        return WS_TYPED(ws_gelu)(s);
    }
    return act == WS_ACT_RELU ? WS_TYPED(ws_relu)(s) : s;
}

/*
 * Inlined always, so that n is a constant where it is called: a call with a
 * run-time n left the GELU loop scalar (a CSR product with GELU took 6x
 * its time without).
 */
WS_ISA_ATTR static inline __attribute__((always_inline)) void
WS_KNAME(ws_finish)(TYPE *v, int n, TYPE b, int act) {
    if (act == WS_ACT_GELU) {
        for (int j = 0; j < n; ++j) {
            v[j] = WS_TYPED(ws_gelu)(v[j] + b);
        }
    } else if (act == WS_ACT_RELU) {
        for (int j = 0; j < n; ++j) {
            v[j] = WS_TYPED(ws_relu)(v[j] + b);
        }
    } else if (b != 0) {
        for (int j = 0; j < n; ++j) {
            v[j] += b;
        }
    }
}

/*
 * Writes the first w of the nv * WS_LANES sums in acc (a row's, or part of
 * it), ycs apart (1 for row-major Y), after the epilogue act(sum + b); all
 * nv vectors, the usual case, in one copy of constant size.  A macro, not a
 * function: acc must not have its address taken inside the loop, or it
 * leaves the registers for the stack.
 */
#define WS_STORE_VECS(acc, nv, yi, w, ycs, b, act)                       \
    do {                                                                 \
        TYPE sums_[PANEL];                                               \
        memcpy(sums_, (acc), (size_t)(nv) * WS_LANES * sizeof(TYPE));    \
        WS_KNAME(ws_finish)(sums_, (nv) * WS_LANES, (b), (act));         \
        if ((ycs) == 1 && (w) == (nv) * WS_LANES) {                      \
            memcpy((yi), sums_, (size_t)(nv) * WS_LANES * sizeof(TYPE)); \
        } else if ((ycs) == 1) {                                         \
            memcpy((yi), sums_, (size_t)(w) * sizeof(TYPE));             \
        } else {                                                         \
            for (int64_t j_ = 0; j_ < (w); ++j_) {                       \
                (yi)[j_ * (ycs)] = sums_[j_];                            \
            }                                                            \
        }                                                                \
    } while (0)

/*
 * A's values are read WS_RUN_LEN at a time through WS_RUN(src, c, buf): the
 * c values at src as TYPE.  Stored as TYPE, that is src itself; stored in 16
 * bits, they are widened into buf (eight at a time where WS_WIDEN8 is defined,
 * with F16C) and buf is read instead.
 */
#define WS_RUN_LEN 16
#ifdef WS_HALF16
WS_ISA_ATTR static inline const TYPE *WS_KNAME(ws_widen_run)(const ATYPE *src,
                                                          int64_t c, TYPE *dst) {
    int64_t j = 0;
#ifdef WS_WIDEN8
    for (; j + 8 <= c; j += 8) {
        WS_WIDEN8(src + j, dst + j);
    }
#endif
    for (; j < c; ++j) {
        dst[j] = WS_LOAD_A(src[j]);
    }
    return dst;
}
#define WS_RUN(src, c, buf) WS_KNAME(ws_widen_run)((src), (c), (buf))
#else
#define WS_RUN(src, c, buf) ((void)(buf), (src))
#endif

/*
 * Rows [r0, r1) of one panel of Y = A X, vectors [v0, v0 + NV) of it:
 * `panel` holds columns [j0, j0 + w) of X packed with leading dimension
 * PANEL (zero past w), and `y` points at column j0 (columns ycs apart).  A
 * row's NV sums stay in registers (NV constant, the function inlined).
 */
WS_ISA_ATTR static inline __attribute__((always_inline)) void
WS_KNAME(ws_csr_rows)(const int NV, int64_t v0, int64_t r0, int64_t r1,
                      const IDX *indptr, const IDX *indices, const ATYPE *data,
                      const TYPE *panel, TYPE *y, int64_t ldy, int64_t ycs,
                      int64_t w, const TYPE *bias, int act) {
    typedef WS_NAME(ws_vec) vec;
    const TYPE *xp = panel + v0 * WS_LANES;
    const int64_t wv = w - v0 * WS_LANES < NV * WS_LANES ? w - v0 * WS_LANES
                                                          : NV * WS_LANES;
    for (int64_t i = r0; i < r1; ++i) {
        vec acc[WS_VECS];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
            acc[v] = (vec){0};
        }
        const int64_t end = (int64_t)indptr[i + 1];
        for (int64_t p0 = (int64_t)indptr[i]; p0 < end; p0 += WS_RUN_LEN) {
            const int64_t c = end - p0 < WS_RUN_LEN ? end - p0 : WS_RUN_LEN;
            TYPE buf[WS_RUN_LEN];
            const TYPE *vals = WS_RUN(data + p0, c, buf);
            for (int64_t q = 0; q < c; ++q) {
                const vec va = WS_SPLAT(vals[q]);
                const TYPE *xr = xp + (int64_t)indices[p0 + q] * PANEL;
#pragma GCC unroll 8
                for (int v = 0; v < NV; ++v) {
                    vec xv;
                    memcpy(&xv, xr + v * WS_LANES, sizeof(xv));
                    acc[v] += va * xv;
                }
            }
        }
        WS_STORE_VECS(acc, NV, y + i * ldy + v0 * WS_LANES * ycs, wv, ycs,
                      bias ? bias[i] : 0, act);
    }
}

/*
 * Rows [r0, r1) of one panel (see ws_csr_rows): the whole panel at once
 * where WS_CSR_WHOLE (enough registers), w needs more than half of it and
 * Y is row-major, else by halves, those under the w columns (a column-major
 * Y's rows are written half a panel, half as many cache lines, at a time).
 */
WS_ISA_ATTR
static void WS_KNAME(ws_csr_panel)(int64_t r0, int64_t r1, const IDX *indptr,
                                  const IDX *indices, const ATYPE *data,
                                  const TYPE *panel, TYPE *y, int64_t ldy,
                                  int64_t ycs, int64_t w, const TYPE *bias,
                                  int act) {
    if (WS_CSR_WHOLE && 2 * w > PANEL && ycs == 1) {
        WS_KNAME(ws_csr_rows)(WS_VECS, 0, r0, r1, indptr, indices, data, panel,
                              y, ldy, ycs, w, bias, act);
        return;
    }
    for (int64_t v0 = 0; v0 * WS_LANES < w; v0 += WS_VECS / 2) {
        WS_KNAME(ws_csr_rows)(WS_VECS / 2, v0, r0, r1, indptr, indices, data,
                              panel, y, ldy, ycs, w, bias, act);
    }
}

/*
 * Rows [r0, r1) of column j: y = A x with strided x and y.  Four partial
 * sums hide the latency of the loads through indices; left scalar, as
 * vectorised gathers are slower than loads on many x86 cores.
 */
WS_ISA_ATTR WS_SCALAR
static void WS_KNAME(ws_csr_column)(int64_t r0, int64_t r1, const IDX *indptr,
                                   const IDX *indices, const ATYPE *data,
                                   const TYPE *x, int64_t incx, TYPE *y,
                                   int64_t incy, const TYPE *bias, int act) {
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t p0 = (int64_t)indptr[i], p1 = (int64_t)indptr[i + 1];
        TYPE s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t p = p0;
        for (; p + 4 <= p1; p += 4) {
            s0 += WS_LOAD_A(data[p]) * x[(int64_t)indices[p] * incx];
            s1 += WS_LOAD_A(data[p + 1]) * x[(int64_t)indices[p + 1] * incx];
            s2 += WS_LOAD_A(data[p + 2]) * x[(int64_t)indices[p + 2] * incx];
            s3 += WS_LOAD_A(data[p + 3]) * x[(int64_t)indices[p + 3] * incx];
        }
        for (; p < p1; ++p) {
            s0 += WS_LOAD_A(data[p]) * x[(int64_t)indices[p] * incx];
        }
        y[i * incy] = WS_KNAME(ws_finish1)((s0 + s1) + (s2 + s3),
                                            bias ? bias[i] : 0, act);
    }
}

/*
 * Rows [r, r + ROWS) of block row b times vectors [v0, v0 + NV) of the panel
 * (columns v0 * WS_LANES on): ROWS x NV sums in registers, summed over the
 * block row's blocks; each vector of X loaded feeds ROWS multiply-adds, each
 * of A's values broadcast feeds NV.  Called with constant ROWS and NV, and
 * inlined, so that the loops over them unroll and acc stays in registers.
 */
#define WS_TILE_MAX_ROWS 6
_Static_assert(WS_BSR_ROWS <= WS_TILE_MAX_ROWS && WS_VECS % WS_BSR_NV == 0 &&
                   WS_VECS % WS_BSR_REM_NV == 0,
               "a tile holds at most WS_TILE_MAX_ROWS rows of whole vectors");
WS_ISA_ATTR static inline __attribute__((always_inline)) void
WS_KNAME(ws_bsr_tile)(const int ROWS, const int NV, int64_t b, int64_t r,
                      int64_t v0, int64_t br, int64_t bc, const IDX *indptr,
                      const IDX *indices, const ATYPE *data, const TYPE *panel,
                      TYPE *y, int64_t ldy, int64_t ycs, int64_t w,
                      const TYPE *bias, int act) {
    typedef WS_NAME(ws_vec) vec;
    vec acc[WS_TILE_MAX_ROWS][WS_VECS];
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
            acc[i][v] = (vec){0};
        }
    }
    const int64_t pend = (int64_t)indptr[b + 1];
    for (int64_t p = (int64_t)indptr[b]; p < pend; ++p) {
        const ATYPE *a = data + (p * br + r) * bc;
        const TYPE *xb = panel + (int64_t)indices[p] * bc * PANEL + v0 * WS_LANES;
        /* The next block's X rows, prefetched a row per row of this one. */
        const int64_t next = (int64_t)indices[p + 1 < pend ? p + 1 : p];
        const TYPE *xn = panel + next * bc * PANEL + v0 * WS_LANES;
        for (int64_t c0 = 0; c0 < bc; c0 += WS_RUN_LEN) {
            const int64_t cn = bc - c0 < WS_RUN_LEN ? bc - c0 : WS_RUN_LEN;
            TYPE buf[WS_TILE_MAX_ROWS][WS_RUN_LEN];
            const TYPE *wr[WS_TILE_MAX_ROWS];
#pragma GCC unroll 8
            for (int i = 0; i < ROWS; ++i) {
                wr[i] = WS_RUN(a + i * bc + c0, cn, buf[i]);
            }
            for (int64_t c = 0; c < cn; ++c) {
                const TYPE *xr = xb + (c0 + c) * PANEL;
                __builtin_prefetch(xn + (c0 + c) * PANEL);
                vec xv[WS_VECS];
#pragma GCC unroll 8
                for (int v = 0; v < NV; ++v) {
                    memcpy(&xv[v], xr + v * WS_LANES, sizeof(vec));
                }
#pragma GCC unroll 8
                for (int i = 0; i < ROWS; ++i) {
                    const vec wv = WS_SPLAT(wr[i][c]);
#pragma GCC unroll 8
                    for (int v = 0; v < NV; ++v) {
                        acc[i][v] += wv * xv[v];
                    }
                }
            }
        }
    }
    const int64_t wv = w - v0 * WS_LANES < NV * WS_LANES ? w - v0 * WS_LANES
                                                          : NV * WS_LANES;
    /*
     * The epilogue in a loop over the tile's rows, not unrolled with them:
     * one copy of GELU's long body, not ROWS (the product with GELU ran
     * 1.35x longer with ROWS copies).
     */
    TYPE sums[WS_TILE_MAX_ROWS][PANEL];
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
        memcpy(sums[i], &acc[i][0], (size_t)NV * WS_LANES * sizeof(TYPE));
    }
    if (act != WS_ACT_NONE || bias != NULL) {
        for (int i = 0; i < ROWS; ++i) {
            WS_KNAME(ws_finish)(sums[i], NV * WS_LANES, bias ? bias[b * br + r + i] : 0,
                                act);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
        TYPE *yi = y + (b * br + r + i) * ldy + v0 * WS_LANES * ycs;
        if (ycs == 1 && wv == NV * WS_LANES) {
            memcpy(yi, sums[i], (size_t)NV * WS_LANES * sizeof(TYPE));
        } else {
            for (int64_t j = 0; j < wv; ++j) {
                yi[j * ycs] = sums[i][j];
            }
        }
    }
}

/*
 * Block rows [b0, b1) of one panel of Y = A X (see ws_csr_panel).  The
 * rows of a block row go WS_BSR_ROWS at a time through tiles of WS_BSR_NV
 * of the panel's vectors, those under its w columns; vector group outside,
 * rows inside, so that the group's columns of the X rows under the block
 * row stay in L1 while every tile reads them.  Of the br % WS_BSR_ROWS rows
 * left, four go in the same groups where four or five are left (blocks of
 * 16 and 64 rows), the rest two and one at a time, WS_BSR_REM_NV vectors
 * wide.
 */
WS_ISA_ATTR
static void WS_KNAME(ws_bsr_panel)(int64_t b0, int64_t b1, int64_t br,
                                  int64_t bc, const IDX *indptr,
                                  const IDX *indices, const ATYPE *data,
                                  const TYPE *panel, TYPE *y, int64_t ldy,
                                  int64_t ycs, int64_t w, const TYPE *bias,
                                  int act) {
    for (int64_t b = b0; b < b1; ++b) {
        const int64_t tiled = br - br % WS_BSR_ROWS;
        const int64_t four = WS_BSR_ROWS > 4 && br % WS_BSR_ROWS >= 4 ? 4 : 0;
        for (int64_t v0 = 0; v0 * WS_LANES < w; v0 += WS_BSR_NV) {
            for (int64_t r = 0; r < tiled; r += WS_BSR_ROWS) {
                WS_KNAME(ws_bsr_tile)(WS_BSR_ROWS, WS_BSR_NV, b, r, v0, br, bc,
                                      indptr, indices, data, panel, y, ldy, ycs,
                                      w, bias, act);
            }
            if (four) {
                WS_KNAME(ws_bsr_tile)(4, WS_BSR_NV, b, tiled, v0, br, bc, indptr,
                                      indices, data, panel, y, ldy, ycs, w,
                                      bias, act);
            }
        }
        for (int64_t v0 = 0; v0 * WS_LANES < w; v0 += WS_BSR_REM_NV) {
            int64_t r = tiled + four;
            for (; r + 2 <= br; r += 2) {
                WS_KNAME(ws_bsr_tile)(2, WS_BSR_REM_NV, b, r, v0, br, bc, indptr,
                                      indices, data, panel, y, ldy, ycs, w,
                                      bias, act);
            }
            if (r < br) {
                WS_KNAME(ws_bsr_tile)(1, WS_BSR_REM_NV, b, r, v0, br, bc, indptr,
                                      indices, data, panel, y, ldy, ycs, w,
                                      bias, act);
            }
        }
    }
}

/*
 * Block rows [b0, b1) of one column: y = A x, strided x and y.  Up to 32 rows
 * of a block row are summed at once, so each block is read once per 32 rows.
 */
WS_ISA_ATTR WS_SCALAR
static void WS_KNAME(ws_bsr_column)(int64_t b0, int64_t b1, int64_t br,
                                    int64_t bc, const IDX *indptr,
                                    const IDX *indices, const ATYPE *data,
                                    const TYPE *x, int64_t incx, TYPE *y,
                                    int64_t incy, const TYPE *bias, int act) {
    enum { ROWS = 32 };
    for (int64_t b = b0; b < b1; ++b) {
        for (int64_t r0 = 0; r0 < br; r0 += ROWS) {
            const int64_t rows = br - r0 < ROWS ? br - r0 : ROWS;
            TYPE sums[ROWS] = {0};
            for (int64_t p = (int64_t)indptr[b]; p < (int64_t)indptr[b + 1];
                 ++p) {
                const TYPE *xb = x + (int64_t)indices[p] * bc * incx;
                const ATYPE *block = data + (p * br + r0) * bc;
                for (int64_t r = 0; r < rows; ++r) {
                    const ATYPE *a = block + r * bc;
                    TYPE s = 0;
                    for (int64_t c = 0; c < bc; ++c) {
                        s += WS_LOAD_A(a[c]) * xb[c * incx];
                    }
                    sums[r] += s;
                }
            }
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t row = b * br + r0 + r;
                y[row * incy] = WS_KNAME(ws_finish1)(sums[r], bias ? bias[row] : 0, act);
            }
        }
    }
}

#undef WS_RUN
#undef WS_RUN_LEN
