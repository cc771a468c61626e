/*
 * The inner loops of spmm.template.c for one instruction set, included twice
 * per (type, index type): with WS_ISA_ATTR empty (the x86-64 baseline, or any
 * other CPU) and with the AVX2 + FMA target attribute.  WS_KNAME adds the
 * instruction set to each name, WS_LOAD_A reads one of A's stored values as
 * TYPE in that instruction set.
 */
WS_ISA_ATTR static inline void WS_KNAME(ws_axpy_panel)(WS_NAME(ws_vec) * acc, TYPE a,
                                          const TYPE *xr) {
    const WS_NAME(ws_vec) va = (WS_NAME(ws_vec)){0} + a;
    for (int v = 0; v < WS_VECS; ++v) {
        WS_NAME(ws_vec) xv;
        memcpy(&xv, xr + v * WS_LANES, sizeof(xv));
        acc[v] += va * xv;
    }
}

/*
 * The epilogue of one output value, and of a row's PANEL sums in place:
 * act(s + b).  Branches on act outside the loops, which then vectorise.
 */
WS_ISA_ATTR static inline TYPE WS_KNAME(ws_finish1)(TYPE s, TYPE b, int act) {
    s += b;
    if (act == WS_ACT_GELU) {
        return WS_TYPED(ws_gelu)(s);
    }
    return act == WS_ACT_RELU ? WS_TYPED(ws_relu)(s) : s;
}

WS_ISA_ATTR static inline void WS_KNAME(ws_finish)(TYPE *v, TYPE b, int act) {
    if (act == WS_ACT_GELU) {
        for (int j = 0; j < PANEL; ++j) {
            v[j] = WS_TYPED(ws_gelu)(v[j] + b);
        }
    } else if (act == WS_ACT_RELU) {
        for (int j = 0; j < PANEL; ++j) {
            v[j] = WS_TYPED(ws_relu)(v[j] + b);
        }
    } else if (b != 0) {
        for (int j = 0; j < PANEL; ++j) {
            v[j] += b;
        }
    }
}

/*
 * Writes the first w of a row's PANEL sums, ycs apart (1 for row-major Y),
 * after the epilogue act(sum + b).  A macro, not a function: acc must not
 * have its address taken inside the loop, or it leaves the registers for the
 * stack.
 */
#define WS_STORE_PANEL(acc, yi, w, ycs, b, act)                 \
    do {                                                        \
        TYPE sums_[PANEL];                                      \
        memcpy(sums_, (acc), sizeof(sums_));                    \
        WS_KNAME(ws_finish)(sums_, (b), (act));                 \
        if ((ycs) == 1) {                                       \
            memcpy((yi), sums_, (size_t)(w) * sizeof(TYPE));    \
        } else {                                                \
            for (int64_t j_ = 0; j_ < (w); ++j_) {              \
                (yi)[j_ * (ycs)] = sums_[j_];                   \
            }                                                   \
        }                                                       \
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
 * Rows [r0, r1) of one panel of Y = A X: `panel` holds columns [j0, j0 + w)
 * of X packed with leading dimension PANEL (zero past w), and `y` points at
 * column j0 (columns ycs apart).  A row's PANEL sums stay in registers.
 */
WS_ISA_ATTR
static void WS_KNAME(ws_csr_panel)(int64_t r0, int64_t r1, const IDX *indptr,
                                  const IDX *indices, const ATYPE *data,
                                  const TYPE *panel, TYPE *y, int64_t ldy,
                                  int64_t ycs, int64_t w, const TYPE *bias,
                                  int act) {
    for (int64_t i = r0; i < r1; ++i) {
        WS_NAME(ws_vec) acc[WS_VECS];
        for (int v = 0; v < WS_VECS; ++v) {
            acc[v] = (WS_NAME(ws_vec)){0};
        }
        const int64_t end = (int64_t)indptr[i + 1];
        for (int64_t p0 = (int64_t)indptr[i]; p0 < end; p0 += WS_RUN_LEN) {
            const int64_t c = end - p0 < WS_RUN_LEN ? end - p0 : WS_RUN_LEN;
            TYPE buf[WS_RUN_LEN];
            const TYPE *vals = WS_RUN(data + p0, c, buf);
            for (int64_t q = 0; q < c; ++q) {
                WS_KNAME(ws_axpy_panel)(acc, vals[q],
                                       panel + (int64_t)indices[p0 + q] * PANEL);
            }
        }
        WS_STORE_PANEL(acc, y + i * ldy, w, ycs, bias ? bias[i] : 0, act);
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
 * Block rows [b0, b1) of one panel of Y = A X (see ws_csr_panel): row r of
 * block row b sums, over the row's blocks, br x bc values times the bc
 * packed rows of X under each block.
 */
WS_ISA_ATTR
static void WS_KNAME(ws_bsr_panel)(int64_t b0, int64_t b1, int64_t br,
                                  int64_t bc, const IDX *indptr,
                                  const IDX *indices, const ATYPE *data,
                                  const TYPE *panel, TYPE *y, int64_t ldy,
                                  int64_t ycs, int64_t w, const TYPE *bias,
                                  int act) {
    typedef WS_NAME(ws_vec) vec;
    for (int64_t b = b0; b < b1; ++b) {
        int64_t r = 0;
        /*
         * Two rows of the block row at a time: every vector of X loaded from
         * the panel feeds two accumulators, halving the loads per FMA.
         */
        for (; r + 2 <= br; r += 2) {
            vec acc0[WS_VECS], acc1[WS_VECS];
            for (int v = 0; v < WS_VECS; ++v) {
                acc0[v] = (vec){0};
                acc1[v] = (vec){0};
            }
            for (int64_t p = (int64_t)indptr[b]; p < (int64_t)indptr[b + 1];
                 ++p) {
                const ATYPE *a0 = data + (p * br + r) * bc;
                const ATYPE *a1 = a0 + bc;
                for (int64_t c0 = 0; c0 < bc; c0 += WS_RUN_LEN) {
                    const int64_t cn = bc - c0 < WS_RUN_LEN ? bc - c0 : WS_RUN_LEN;
                    TYPE buf0[WS_RUN_LEN], buf1[WS_RUN_LEN];
                    const TYPE *w0 = WS_RUN(a0 + c0, cn, buf0);
                    const TYPE *w1 = WS_RUN(a1 + c0, cn, buf1);
                    const TYPE *xb = panel + ((int64_t)indices[p] * bc + c0) * PANEL;
                    for (int64_t c = 0; c < cn; ++c) {
                        const vec v0 = (vec){0} + w0[c];
                        const vec v1 = (vec){0} + w1[c];
                        for (int v = 0; v < WS_VECS; ++v) {
                            vec xv;
                            memcpy(&xv, xb + c * PANEL + v * WS_LANES, sizeof(xv));
                            acc0[v] += v0 * xv;
                            acc1[v] += v1 * xv;
                        }
                    }
                }
            }
            WS_STORE_PANEL(acc0, y + (b * br + r) * ldy, w, ycs,
                           bias ? bias[b * br + r] : 0, act);
            WS_STORE_PANEL(acc1, y + (b * br + r + 1) * ldy, w, ycs,
                           bias ? bias[b * br + r + 1] : 0, act);
        }
        for (; r < br; ++r) {
            vec acc[WS_VECS];
            for (int v = 0; v < WS_VECS; ++v) {
                acc[v] = (vec){0};
            }
            for (int64_t p = (int64_t)indptr[b]; p < (int64_t)indptr[b + 1];
                 ++p) {
                const ATYPE *a = data + (p * br + r) * bc;
                for (int64_t c0 = 0; c0 < bc; c0 += WS_RUN_LEN) {
                    const int64_t cn = bc - c0 < WS_RUN_LEN ? bc - c0 : WS_RUN_LEN;
                    TYPE buf[WS_RUN_LEN];
                    const TYPE *vals = WS_RUN(a + c0, cn, buf);
                    const TYPE *xb = panel + ((int64_t)indices[p] * bc + c0) * PANEL;
                    for (int64_t c = 0; c < cn; ++c) {
                        WS_KNAME(ws_axpy_panel)(acc, vals[c], xb + c * PANEL);
                    }
                }
            }
            WS_STORE_PANEL(acc, y + (b * br + r) * ldy, w, ycs,
                           bias ? bias[b * br + r] : 0, act);
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
