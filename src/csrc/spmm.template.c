/*
 * One (type, index type) pair's products, included by spmm.c with TYPE,
 * SUFFIX, PANEL (columns of Y held in registers at once), IDX and ISUFFIX.
 */
#define WS_CAT3(a, b, c) a##_##b##_##c
#define WS_CAT(a, b, c) WS_CAT3(a, b, c)
#define WS_NAME(name) WS_CAT(name, SUFFIX, ISUFFIX)
#define WS_SPLIT_(I) ws_split_##I
#define WS_SPLIT(I) WS_SPLIT_(I)

/* Rows [r0, r1) of Y = A X for row-major X and Y. */
WS_DISPATCH
static void WS_NAME(ws_csr_rows)(int64_t r0, int64_t r1, const IDX *indptr,
                                 const IDX *indices, const TYPE *data,
                                 const TYPE *x, int64_t ldx, TYPE *y,
                                 int64_t ldy, int64_t n) {
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t p0 = (int64_t)indptr[i], p1 = (int64_t)indptr[i + 1];
        TYPE *yi = y + i * ldy;
        int64_t j0 = 0;
        for (; j0 + PANEL <= n; j0 += PANEL) {
            TYPE acc[PANEL];
            for (int j = 0; j < PANEL; ++j) {
                acc[j] = 0;
            }
            for (int64_t p = p0; p < p1; ++p) {
                const TYPE a = data[p];
                const TYPE *xr = x + (int64_t)indices[p] * ldx + j0;
                for (int j = 0; j < PANEL; ++j) {
                    acc[j] += a * xr[j];
                }
            }
            for (int j = 0; j < PANEL; ++j) {
                yi[j0 + j] = acc[j];
            }
        }
        if (j0 < n) {
            const int64_t w = n - j0;
            TYPE acc[PANEL];
            for (int64_t j = 0; j < w; ++j) {
                acc[j] = 0;
            }
            for (int64_t p = p0; p < p1; ++p) {
                const TYPE a = data[p];
                const TYPE *xr = x + (int64_t)indices[p] * ldx + j0;
                for (int64_t j = 0; j < w; ++j) {
                    acc[j] += a * xr[j];
                }
            }
            for (int64_t j = 0; j < w; ++j) {
                yi[j0 + j] = acc[j];
            }
        }
    }
}

/* Rows [r0, r1) of column j: y = A x with strided x and y. */
WS_DISPATCH
static void WS_NAME(ws_csr_column)(int64_t r0, int64_t r1, const IDX *indptr,
                                   const IDX *indices, const TYPE *data,
                                   const TYPE *x, int64_t incx, TYPE *y,
                                   int64_t incy) {
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t p0 = (int64_t)indptr[i], p1 = (int64_t)indptr[i + 1];
        TYPE s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t p = p0;
        for (; p + 4 <= p1; p += 4) {
            s0 += data[p] * x[(int64_t)indices[p] * incx];
            s1 += data[p + 1] * x[(int64_t)indices[p + 1] * incx];
            s2 += data[p + 2] * x[(int64_t)indices[p + 2] * incx];
            s3 += data[p + 3] * x[(int64_t)indices[p + 3] * incx];
        }
        for (; p < p1; ++p) {
            s0 += data[p] * x[(int64_t)indices[p] * incx];
        }
        y[i * incy] = (s0 + s1) + (s2 + s3);
    }
}

int WS_NAME(ws_csr_spmm)(int64_t m, const IDX *indptr, const IDX *indices,
                         const TYPE *data, const ws_dense *x, ws_dense *y) {
    if (m < 1 || x->cols != y->cols || y->rows != m) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t n = x->cols;
    const int64_t nnz = (int64_t)indptr[m] - (int64_t)indptr[0];
    int threads = ws_threads_for(nnz * (n < 16 ? n : 16) + m);
    int64_t first[257];
    if (threads > 256) {
        threads = 256;
    }
    WS_SPLIT(IDX)(m, indptr, threads, first);
    const TYPE *xd = (const TYPE *)x->data;
    TYPE *yd = (TYPE *)y->data;
    const int rowwise = x->col_stride == 1 && y->col_stride == 1 && n > 1;
#pragma omp parallel num_threads(threads)
    {
        int t = 0, used = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        used = omp_get_num_threads();
#endif
        /* The runtime may grant fewer threads than asked: share the parts. */
        for (; t < threads; t += used) {
            if (rowwise) {
                WS_NAME(ws_csr_rows)(first[t], first[t + 1], indptr, indices,
                                     data, xd, x->row_stride, yd,
                                     y->row_stride, n);
            } else {
                for (int64_t j = 0; j < n; ++j) {
                    WS_NAME(ws_csr_column)(first[t], first[t + 1], indptr,
                                           indices, data,
                                           xd + j * x->col_stride,
                                           x->row_stride,
                                           yd + j * y->col_stride,
                                           y->row_stride);
                }
            }
        }
    }
    return WS_OK;
}

/*
 * Block rows [b0, b1) of Y = A X, row-major X and Y: each block adds its
 * br x bc values times bc rows of X into br rows of Y, four rows of X per
 * pass over a row of Y.
 */
WS_DISPATCH
static void WS_NAME(ws_bsr_rows)(int64_t b0, int64_t b1, int64_t br,
                                 int64_t bc, const IDX *indptr,
                                 const IDX *indices, const TYPE *data,
                                 const TYPE *x, int64_t ldx, TYPE *y,
                                 int64_t ldy, int64_t n) {
    for (int64_t b = b0; b < b1; ++b) {
        for (int64_t r = 0; r < br; ++r) {
            TYPE *yr = y + (b * br + r) * ldy;
            for (int64_t j = 0; j < n; ++j) {
                yr[j] = 0;
            }
        }
        for (int64_t p = (int64_t)indptr[b]; p < (int64_t)indptr[b + 1]; ++p) {
            const TYPE *block = data + p * br * bc;
            const TYPE *xb = x + (int64_t)indices[p] * bc * ldx;
            for (int64_t r = 0; r < br; ++r) {
                TYPE *yr = y + (b * br + r) * ldy;
                const TYPE *a = block + r * bc;
                int64_t c = 0;
                for (; c + 4 <= bc; c += 4) {
                    const TYPE a0 = a[c], a1 = a[c + 1], a2 = a[c + 2],
                               a3 = a[c + 3];
                    const TYPE *x0 = xb + c * ldx, *x1 = x0 + ldx,
                               *x2 = x1 + ldx, *x3 = x2 + ldx;
                    for (int64_t j = 0; j < n; ++j) {
                        yr[j] += a0 * x0[j] + a1 * x1[j] + a2 * x2[j] +
                                 a3 * x3[j];
                    }
                }
                for (; c < bc; ++c) {
                    const TYPE a0 = a[c];
                    const TYPE *x0 = xb + c * ldx;
                    for (int64_t j = 0; j < n; ++j) {
                        yr[j] += a0 * x0[j];
                    }
                }
            }
        }
    }
}

/* Block rows [b0, b1) of one column: y = A x, strided x and y. */
WS_DISPATCH
static void WS_NAME(ws_bsr_column)(int64_t b0, int64_t b1, int64_t br,
                                   int64_t bc, const IDX *indptr,
                                   const IDX *indices, const TYPE *data,
                                   const TYPE *x, int64_t incx, TYPE *y,
                                   int64_t incy) {
    for (int64_t b = b0; b < b1; ++b) {
        for (int64_t r = 0; r < br; ++r) {
            TYPE s = 0;
            for (int64_t p = (int64_t)indptr[b]; p < (int64_t)indptr[b + 1];
                 ++p) {
                const TYPE *a = data + p * br * bc + r * bc;
                const TYPE *xb = x + (int64_t)indices[p] * bc * incx;
                for (int64_t c = 0; c < bc; ++c) {
                    s += a[c] * xb[c * incx];
                }
            }
            y[(b * br + r) * incy] = s;
        }
    }
}

int WS_NAME(ws_bsr_spmm)(int64_t block_rows, int64_t br, int64_t bc,
                         const IDX *indptr, const IDX *indices,
                         const TYPE *data, const ws_dense *x, ws_dense *y) {
    if (block_rows < 1 || br < 1 || bc < 1 || x->cols != y->cols ||
        y->rows != block_rows * br) {
        return WS_ERR_ARGUMENT;
    }
    const int64_t n = x->cols;
    const int64_t nnzb = (int64_t)indptr[block_rows] - (int64_t)indptr[0];
    int threads = ws_threads_for(nnzb * br * bc * (n < 16 ? n : 16) + block_rows);
    int64_t first[257];
    if (threads > 256) {
        threads = 256;
    }
    WS_SPLIT(IDX)(block_rows, indptr, threads, first);
    const TYPE *xd = (const TYPE *)x->data;
    TYPE *yd = (TYPE *)y->data;
    const int rowwise = x->col_stride == 1 && y->col_stride == 1 && n > 1;
#pragma omp parallel num_threads(threads)
    {
        int t = 0, used = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        used = omp_get_num_threads();
#endif
        for (; t < threads; t += used) {
            if (rowwise) {
                WS_NAME(ws_bsr_rows)(first[t], first[t + 1], br, bc, indptr,
                                     indices, data, xd, x->row_stride, yd,
                                     y->row_stride, n);
            } else {
                for (int64_t j = 0; j < n; ++j) {
                    WS_NAME(ws_bsr_column)(first[t], first[t + 1], br, bc,
                                           indptr, indices, data,
                                           xd + j * x->col_stride,
                                           x->row_stride,
                                           yd + j * y->col_stride,
                                           y->row_stride);
                }
            }
        }
    }
    return WS_OK;
}

#undef WS_NAME
#undef WS_CAT
#undef WS_CAT3
#undef WS_SPLIT
#undef WS_SPLIT_
