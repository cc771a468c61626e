/*
 * CSR times dense on the device: Y = A X, X and Y row-major.
 *
 * Build options (all set by the host from the device's properties):
 *   -DREAL=float|double   element type (double needs -DWS_FP64)
 *   -DA_HALF | -DA_BF16   16-bit stored values, summed as float (storage.cl,
 *                         which the host puts in front of this file)
 *   -DINDEX=int|long      type of indptr and indices
 *   -DWAVE=n              SIMD width: 64 on GCN (RX 580), the warp elsewhere
 *   -DROWS=n              rows per work-group (work-group = WAVE x ROWS)
 *
 * csr_spmv (N = 1): one wavefront per row.  Its WAVE lanes stride over the
 * row's nonzeros (coalesced reads of indices and data), then fold their
 * partial sums in local memory.  Launch (WAVE * ROWS, ...) x 1 groups of
 * (WAVE * ROWS).
 *
 * csr_spmm (N > 1): a work-group is a tile of ROWS rows x WAVE columns.  The
 * lanes of a row load WAVE of its nonzeros at a time into local memory, once
 * for all the columns, and each lane then reads one column of the X rows
 * those nonzeros name: neighbouring lanes, neighbouring addresses.  Launch 2-D
 * (WAVE, ROWS) groups over (columns rounded up, rows rounded up).
 */
#ifndef REAL
#error "build with -DREAL=float or -DREAL=double"
#endif
#if !defined(INDEX) || !defined(WAVE) || !defined(ROWS)
#error "build with -DINDEX, -DWAVE and -DROWS"
#endif
#ifdef WS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

__kernel __attribute__((reqd_work_group_size(WAVE * ROWS, 1, 1)))
void csr_spmv(__global const INDEX *indptr, __global const INDEX *indices,
              __global const VALUE *data, __global const REAL *x,
              __global REAL *y, const ulong m) {
    __local REAL partial[WAVE * ROWS];
    const uint lane = get_local_id(0) % WAVE;
    const uint slot = get_local_id(0) / WAVE;
    const size_t row = get_group_id(0) * ROWS + slot;
    REAL sum = (REAL)0;
    if (row < m) {
        const INDEX end = indptr[row + 1];
        for (INDEX p = indptr[row] + lane; p < end; p += WAVE) {
            sum += LOAD_A(data, p) * x[indices[p]];
        }
    }
    partial[get_local_id(0)] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint span = WAVE / 2; span > 0; span >>= 1) {
        if (lane < span) {
            partial[get_local_id(0)] += partial[get_local_id(0) + span];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0 && row < m) {
        y[row] = partial[get_local_id(0)];
    }
}

__kernel __attribute__((reqd_work_group_size(WAVE, ROWS, 1)))
void csr_spmm(__global const INDEX *indptr, __global const INDEX *indices,
              __global const VALUE *data, __global const REAL *x,
              const ulong ldx, __global REAL *y, const ulong ldy,
              const ulong m, const ulong n) {
    __local INDEX cols[ROWS][WAVE];
    __local REAL vals[ROWS][WAVE];
    __local int longest;
    const uint lane = get_local_id(0);
    const uint slot = get_local_id(1);
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    const INDEX start = row < m ? indptr[row] : 0;
    const int length = row < m ? (int)(indptr[row + 1] - start) : 0;
    if (lane == 0 && slot == 0) {
        longest = 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lane == 0) {
        atomic_max(&longest, length);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int chunks = (longest + WAVE - 1) / WAVE;
    REAL sum = (REAL)0;
    for (int c = 0; c < chunks; ++c) {
        const int at = c * WAVE + (int)lane;
        if (at < length) {
            cols[slot][lane] = indices[start + at];
            vals[slot][lane] = LOAD_A(data, start + at);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const int take = min(WAVE, length - c * WAVE);
        if (col < n) {
            for (int q = 0; q < take; ++q) {
                sum += vals[slot][q] * x[(size_t)cols[slot][q] * ldx + col];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < m && col < n) {
        y[row * ldy + col] = sum;
    }
}

/*
 * csr_spmm_direct: the same product without local memory or barriers, one
 * work-item per element of Y.  For CPU devices (PoCL), where local memory is
 * emulated and every barrier splits the work-group loop, while neighbouring
 * work-items along dimension 0 still vectorise over columns.
 */
__kernel void csr_spmm_direct(__global const INDEX *indptr,
                              __global const INDEX *indices,
                              __global const VALUE *data,
                              __global const REAL *x, const ulong ldx,
                              __global REAL *y, const ulong ldy,
                              const ulong m, const ulong n) {
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    if (col >= n || row >= m) {
        return;
    }
    REAL sum = (REAL)0;
    const INDEX end = indptr[row + 1];
    for (INDEX p = indptr[row]; p < end; ++p) {
        sum += LOAD_A(data, p) * x[(size_t)indices[p] * ldx + col];
    }
    y[row * ldy + col] = sum;
}
