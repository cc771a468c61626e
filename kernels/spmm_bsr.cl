/*
 * BSR times dense on the device: Y = A X, X and Y row-major.
 *
 * Build options (set by the host):
 *   -DREAL=float|double, -DINDEX=int|long   as in spmm_csr.cl
 *   -DA_HALF | -DA_BF16   16-bit stored values (storage.cl, as in spmm_csr.cl)
 *   -DBR=r -DBC=c    the block shape, so block loops have constant bounds
 *   -DWAVE=n         columns per work-group (the SIMD width)
 *   -DLANES_R=g      work-item rows per work-group; each covers BR / LANES_R
 *                    rows of the block row (LANES_R divides BR)
 *
 * A work-group takes one block row and WAVE columns.  For each block of the
 * block row it copies the BR x BC values into local memory once, then every
 * work-item multiplies its rows of the block by the BC rows of X under it,
 * reading one column: a wavefront reads WAVE neighbouring addresses.  Launch
 * 2-D groups (WAVE, LANES_R) over (columns rounded up, block rows * LANES_R).
 */
#ifndef REAL
#error "build with -DREAL=float or -DREAL=double"
#endif
#if !defined(INDEX) || !defined(BR) || !defined(BC) || !defined(WAVE) || !defined(LANES_R)
#error "build with -DINDEX, -DBR, -DBC, -DWAVE and -DLANES_R"
#endif
#ifdef WS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define PER_ITEM (BR / LANES_R)

__kernel __attribute__((reqd_work_group_size(WAVE, LANES_R, 1)))
void bsr_spmm(__global const INDEX *indptr, __global const INDEX *indices,
              __global const VALUE *data, __global const REAL *x,
              const ulong ldx, __global REAL *y, const ulong ldy,
              const ulong block_rows, const ulong n) {
    __local REAL block[BR * BC];
    const uint lane = get_local_id(0);
    const uint group_row = get_local_id(1);
    const uint flat = group_row * WAVE + lane;
    const size_t col = get_global_id(0);
    const size_t b = get_group_id(1);
    REAL sums[PER_ITEM];
    for (int i = 0; i < PER_ITEM; ++i) {
        sums[i] = (REAL)0;
    }
    const INDEX first = b < block_rows ? indptr[b] : 0;
    const INDEX last = b < block_rows ? indptr[b + 1] : 0;
    for (INDEX p = first; p < last; ++p) {
        for (uint e = flat; e < BR * BC; e += WAVE * LANES_R) {
            block[e] = LOAD_A(data, (size_t)p * (BR * BC) + e);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (col < n) {
            __global const REAL *xb = x + (size_t)indices[p] * BC * ldx + col;
            for (int c = 0; c < BC; ++c) {
                const REAL xv = xb[c * ldx];
                for (int i = 0; i < PER_ITEM; ++i) {
                    sums[i] += block[(group_row + i * LANES_R) * BC + c] * xv;
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (col < n && b < block_rows) {
        for (int i = 0; i < PER_ITEM; ++i) {
            y[(b * BR + group_row + i * LANES_R) * ldy + col] = sums[i];
        }
    }
}

/*
 * bsr_spmm_direct: one work-item per element of Y, block values read from
 * global memory; for CPU devices (see csr_spmm_direct in spmm_csr.cl).
 */
__kernel void bsr_spmm_direct(__global const INDEX *indptr,
                              __global const INDEX *indices,
                              __global const VALUE *data,
                              __global const REAL *x, const ulong ldx,
                              __global REAL *y, const ulong ldy,
                              const ulong block_rows, const ulong n) {
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    if (col >= n || row >= block_rows * BR) {
        return;
    }
    const size_t b = row / BR;
    const size_t r = row % BR;
    REAL sum = (REAL)0;
    for (INDEX p = indptr[b]; p < indptr[b + 1]; ++p) {
        __global const VALUE *a = data + ((size_t)p * BR + r) * BC;
        __global const REAL *xb = x + (size_t)indices[p] * BC * ldx + col;
        for (int c = 0; c < BC; ++c) {
            sum += LOAD_A(a, c) * xb[c * ldx];
        }
    }
    y[row * ldy + col] = sum;
}
