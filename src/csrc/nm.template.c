/* One type's N:M product, included by nm.c with TYPE and SUFFIX. */
#define WS_NM_CAT2(a, b) a##_##b
#define WS_NM_CAT(a, b) WS_NM_CAT2(a, b)
#define WS_NM_NAME(name) WS_NM_CAT(name, SUFFIX)

/*
 * Row i of Y, columns [j0, j0 + w): acc starts at zero and takes v * (row
 * col of X) for each kept entry, the inner loop over contiguous columns.
 */
static void WS_NM_NAME(ws_nm_row)(int64_t kept, int64_t n, int64_t m,
                                  int64_t cols, const TYPE *v,
                                  const uint8_t *p, const TYPE *x,
                                  int64_t ldx, int64_t j0, int64_t w,
                                  TYPE *acc) {
    memset(acc, 0, (size_t)w * sizeof(TYPE));
    for (int64_t e = 0; e < kept; ++e) {
        const int64_t col = (e / n) * m + p[e];
        const TYPE a = v[e];
        if (col >= cols || a == (TYPE)0) {
            continue;
        }
        const TYPE *xr = x + col * ldx + j0;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) {
            acc[j] += a * xr[j];
        }
    }
}

/* Row i of Y for one column of X: a dot product over the kept entries. */
static TYPE WS_NM_NAME(ws_nm_dot)(int64_t kept, int64_t n, int64_t m,
                                  int64_t cols, const TYPE *v,
                                  const uint8_t *p, const TYPE *x,
                                  int64_t ldx) {
    TYPE sum = (TYPE)0;
    const int64_t full = (cols / m) * n; /* entries of whole groups */
    int64_t e = 0;
    for (int64_t g = 0; e + n <= full; ++g, e += n) {
        for (int64_t t = 0; t < n; ++t) {
            sum += v[e + t] * x[(g * m + p[e + t]) * ldx];
        }
    }
    for (; e < kept; ++e) {
        const int64_t col = (e / n) * m + p[e];
        if (col < cols) {
            sum += v[e] * x[col * ldx];
        }
    }
    return sum;
}

int WS_NM_NAME(ws_nm_spmm)(int64_t rows, int64_t cols, int64_t n, int64_t m,
                           const TYPE *values, const uint8_t *positions,
                           const TYPE *x, int64_t ldx, int64_t nx, TYPE *y,
                           int64_t ldy) {
    if (rows < 0 || cols < 0 || n < 1 || m < n || m > 256 || nx < 1) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t kept = ((cols + m - 1) / m) * n;
    const int threads = ws_threads_for(rows * kept * (nx < 16 ? nx : 16));
#pragma omp parallel num_threads(threads)
    {
        TYPE acc[WS_NM_PANEL];
        if (nx == 1) {
#pragma omp for schedule(static)
            for (int64_t i = 0; i < rows; ++i) {
                y[i * ldy] = WS_NM_NAME(ws_nm_dot)(kept, n, m, cols, values + i * kept,
                                                   positions + i * kept, x, ldx);
            }
        } else {
            /* Panel by panel of columns, so the panel of X stays in L2 while
             * every row of A reads it; each thread keeps its rows. */
            for (int64_t j0 = 0; j0 < nx; j0 += WS_NM_PANEL) {
                const int64_t w = nx - j0 < WS_NM_PANEL ? nx - j0 : WS_NM_PANEL;
#pragma omp for schedule(static) nowait
                for (int64_t i = 0; i < rows; ++i) {
                    WS_NM_NAME(ws_nm_row)(kept, n, m, cols, values + i * kept,
                                          positions + i * kept, x, ldx, j0, w, acc);
                    memcpy(y + i * ldy + j0, acc, (size_t)w * sizeof(TYPE));
                }
            }
        }
    }
    return WS_OK;
}

#undef WS_NM_CAT2
#undef WS_NM_CAT
#undef WS_NM_NAME
