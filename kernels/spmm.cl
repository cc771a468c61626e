/*
 * Sparse times dense, Y = A X, with X and Y row-major (ldx, ldy in elements).
 *
 * Build options:
 *   -DREAL=float|double    element type (double needs -DWS_FP64)
 *   -DINDEX=int|long       index type of indptr and indices
 * Launch: 2-D, dimension 0 over the n columns of Y, dimension 1 over rows
 * (block rows for BSR x its rows per block).  Neighbouring work-items of a
 * wavefront take neighbouring columns, so every nonzero's row of X is read
 * as one contiguous, coalesced run.
 */
#ifndef REAL
#error "build with -DREAL=float or -DREAL=double"
#endif
#ifndef INDEX
#error "build with -DINDEX=int or -DINDEX=long"
#endif
#ifdef WS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

__kernel void csr_spmm(__global const INDEX *indptr,
                       __global const INDEX *indices,
                       __global const REAL *data, __global const REAL *x,
                       const ulong ldx, __global REAL *y, const ulong ldy,
                       const ulong m, const ulong n) {
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    if (col >= n || row >= m) {
        return;
    }
    REAL sum = (REAL)0;
    const INDEX end = indptr[row + 1];
    for (INDEX p = indptr[row]; p < end; ++p) {
        sum += data[p] * x[(size_t)indices[p] * ldx + col];
    }
    y[row * ldy + col] = sum;
}

__kernel void bsr_spmm(__global const INDEX *indptr,
                       __global const INDEX *indices,
                       __global const REAL *data, const uint br,
                       const uint bc, __global const REAL *x,
                       const ulong ldx, __global REAL *y, const ulong ldy,
                       const ulong m, const ulong n) {
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    if (col >= n || row >= m) {
        return;
    }
    const size_t b = row / br;
    const size_t r = row % br;
    REAL sum = (REAL)0;
    const INDEX end = indptr[b + 1];
    for (INDEX p = indptr[b]; p < end; ++p) {
        __global const REAL *a = data + ((size_t)p * br + r) * bc;
        __global const REAL *xb = x + (size_t)indices[p] * bc * ldx + col;
        for (uint c = 0; c < bc; ++c) {
            sum += a[c] * xb[c * ldx];
        }
    }
    y[row * ldy + col] = sum;
}
