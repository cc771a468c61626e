/*
 * N:M sparse times dense on the device: Y = A X, X and Y row-major.
 *
 * Build options (set by the host):
 *   -DREAL=float|double   element type (double needs -DWS_FP64)
 *   -DNM_N=n -DNM_M=m     the pattern, so the group loop has constant bounds
 *   -DWAVE=w              columns of Y per work-group (the SIMD width)
 *
 * A row of A keeps `kept` = groups * NM_N values with a uint8 position each
 * (see include/wavesparse/nm.h): entry e lies in column (e / NM_N) * NM_M +
 * positions[e].  Each work-item computes one element of Y: the lanes of a
 * work-group share one row of A (the same value and position at each step,
 * a broadcast) and read WAVE neighbouring columns of one row of X.  Entries
 * past the matrix's `cols` (fillers of a partial last group) are skipped.
 * Launch 2-D groups (WAVE, 1) over (columns rounded up to WAVE, rows).
 */
#ifndef REAL
#error "build with -DREAL=float or -DREAL=double"
#endif
#if !defined(NM_N) || !defined(NM_M) || !defined(WAVE)
#error "build with -DNM_N, -DNM_M and -DWAVE"
#endif
#ifdef WS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

__kernel __attribute__((reqd_work_group_size(WAVE, 1, 1)))
void nm_spmm(__global const REAL *values, __global const uchar *positions,
             __global const REAL *x, const ulong ldx, __global REAL *y,
             const ulong ldy, const ulong cols, const ulong groups,
             const ulong nx) {
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    if (col >= nx) {
        return;
    }
    const size_t kept = groups * NM_N;
    __global const REAL *v = values + row * kept;
    __global const uchar *p = positions + row * kept;
    REAL sum = (REAL)0;
    for (size_t g = 0; g < groups; ++g) {
        for (int t = 0; t < NM_N; ++t) {
            const size_t c = g * NM_M + p[g * NM_N + t];
            if (c < cols) {
                sum += v[g * NM_N + t] * x[c * ldx + col];
            }
        }
    }
    y[row * ldy + col] = sum;
}
