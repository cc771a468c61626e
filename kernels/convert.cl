/*
 * Dense to CSR and dense to BSR on the device, equal to the CPU path bit for
 * bit (canonical: sorted indices, no explicit zeros).
 *
 * CSR, three steps:
 *   csr_count   one wavefront per row counts what the row keeps (lanes stride
 *               over the columns; the partial counts fold in local memory);
 *   scan_*      an exclusive, work-efficient (Blelloch) scan of the counts in
 *               local memory, block by block, then the block sums, then
 *               add_block_offsets: the row offsets, without a host loop;
 *   csr_fill    one wavefront per row again: a chunk of WAVE columns at a
 *               time, every lane flags its element, a scan of the flags in
 *               local memory gives each kept element its slot, so the row is
 *               written in column order.
 * BSR: bsr_flags (one work-item per block: kept or not), bsr_row_counts, the
 * same scan, bsr_positions (the slot of each kept block, in order) and
 * bsr_copy (one work-item per element of a kept block).
 *
 * Build options (from the device and the call):
 *   -DREAL=float|double    element type (double with -DWS_FP64)
 *   -DINDEX=int|long       index type of the result
 *   -DACC=float|double     accumulator of block norms (double where the
 *                          device has fp64, as on the CPU)
 *   -DWAVE=n               lanes per row (the wavefront: 64 on GCN)
 *   -DSCAN=n               work-items of a scan group (2 * SCAN values each)
 *   -DKEEP=0|1|2           CSR keeps w != 0, and: nothing / |w| >= t / mask
 *   -DBLOCK_RULE=0|1|2     BSR keeps any nonzero / L1 >= t / L2 >= t
 *   -DBR=r -DBC=c          BSR block shape
 * Every work-group is at most 256 work-items and 8 KB of local memory.
 */
#ifdef WS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#if !defined(REAL) || !defined(INDEX) || !defined(ACC) || !defined(WAVE) || !defined(SCAN)
#error "build with -DREAL, -DINDEX, -DACC, -DWAVE and -DSCAN"
#endif
#ifndef KEEP
#define KEEP 0
#endif

inline int keeps(const REAL x, const REAL t, const uchar m) {
#if KEEP == 1
    return x != (REAL)0 && fabs(x) >= t;
#elif KEEP == 2
    return x != (REAL)0 && m != 0;
#else
    return x != (REAL)0;
#endif
}

__kernel __attribute__((reqd_work_group_size(WAVE, 1, 1)))
void csr_count(__global const REAL *w, __global const uchar *mask,
               const ulong rows, const ulong cols, const REAL t,
               __global ulong *counts) {
    __local uint partial[WAVE];
    const size_t row = get_group_id(0);
    const uint lane = get_local_id(0);
    uint count = 0;
    for (size_t j = lane; j < cols; j += WAVE) {
        const size_t at = row * cols + j;
        count += keeps(w[at], t, KEEP == 2 ? mask[at] : (uchar)1);
    }
    partial[lane] = count;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint span = WAVE / 2; span > 0; span >>= 1) {
        if (lane < span) {
            partial[lane] += partial[lane + span];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane == 0) {
        counts[row] = partial[0];
    }
}

/*
 * Exclusive scan of n values in blocks of 2 * SCAN (Blelloch: up-sweep,
 * clear, down-sweep), in place; block b's total goes to sums[b].
 */
__kernel __attribute__((reqd_work_group_size(SCAN, 1, 1)))
void scan_blocks(__global ulong *values, const ulong n, __global ulong *sums) {
    __local ulong tree[2 * SCAN];
    const uint lid = get_local_id(0);
    const size_t base = get_group_id(0) * 2 * SCAN;
    tree[2 * lid] = base + 2 * lid < n ? values[base + 2 * lid] : 0;
    tree[2 * lid + 1] = base + 2 * lid + 1 < n ? values[base + 2 * lid + 1] : 0;
    uint offset = 1;
    for (uint d = SCAN; d > 0; d >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < d) {
            const uint a = offset * (2 * lid + 1) - 1;
            const uint b = offset * (2 * lid + 2) - 1;
            tree[b] += tree[a];
        }
        offset <<= 1;
    }
    if (lid == 0) {
        sums[get_group_id(0)] = tree[2 * SCAN - 1];
        tree[2 * SCAN - 1] = 0;
    }
    for (uint d = 1; d <= SCAN; d <<= 1) {
        offset >>= 1;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < d) {
            const uint a = offset * (2 * lid + 1) - 1;
            const uint b = offset * (2 * lid + 2) - 1;
            const ulong left = tree[a];
            tree[a] = tree[b];
            tree[b] += left;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (base + 2 * lid < n) {
        values[base + 2 * lid] = tree[2 * lid];
    }
    if (base + 2 * lid + 1 < n) {
        values[base + 2 * lid + 1] = tree[2 * lid + 1];
    }
}

/* values[i] += offsets[i / (2 * SCAN)]: block offsets into a scanned array. */
__kernel void add_block_offsets(__global ulong *values, const ulong n,
                                __global const ulong *offsets) {
    const size_t i = get_global_id(0);
    if (i < n) {
        values[i] += offsets[i / (2 * SCAN)];
    }
}

__kernel __attribute__((reqd_work_group_size(WAVE, 1, 1)))
void csr_fill(__global const REAL *w, __global const uchar *mask,
              const ulong rows, const ulong cols, const REAL t,
              __global const ulong *offsets, __global REAL *data,
              __global INDEX *indices, __global INDEX *indptr) {
    __local uint slots[WAVE];
    const size_t row = get_group_id(0);
    const uint lane = get_local_id(0);
    ulong base = offsets[row];
    if (lane == 0) {
        indptr[row] = (INDEX)base;
        if (row == rows - 1) {
            indptr[rows] = (INDEX)offsets[rows];
        }
    }
    for (size_t j0 = 0; j0 < cols; j0 += WAVE) {
        const size_t j = j0 + lane;
        const size_t at = row * cols + j;
        const REAL x = j < cols ? w[at] : (REAL)0;
        const uint flag = j < cols && keeps(x, t, KEEP == 2 ? mask[at] : (uchar)1);
        slots[lane] = flag;
        barrier(CLK_LOCAL_MEM_FENCE);
        /* Inclusive scan of the flags (Hillis-Steele over WAVE lanes). */
        for (uint span = 1; span < WAVE; span <<= 1) {
            const uint add = lane >= span ? slots[lane - span] : 0;
            barrier(CLK_LOCAL_MEM_FENCE);
            slots[lane] += add;
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (flag) {
            const ulong slot = base + slots[lane] - 1;
            data[slot] = x;
            indices[slot] = (INDEX)j;
        }
        base += slots[WAVE - 1];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

#if defined(BR) && defined(BC)
#ifndef BLOCK_RULE
#define BLOCK_RULE 0
#endif

/* One work-item per block (i, j): keep it or not.  A NaN keeps a block. */
__kernel void bsr_flags(__global const REAL *w, const ulong block_rows,
                        const ulong block_cols, const ACC t,
                        __global uchar *flags) {
    const size_t j = get_global_id(0);
    const size_t i = get_global_id(1);
    if (i >= block_rows || j >= block_cols) {
        return;
    }
    const size_t cols = block_cols * BC;
    ACC norm = 0;
    int any = 0;
    for (int r = 0; r < BR; ++r) {
        __global const REAL *row = w + (i * BR + r) * cols + j * BC;
        for (int c = 0; c < BC; ++c) {
            const REAL x = row[c];
#if BLOCK_RULE == 1
            norm += fabs((ACC)x);
#elif BLOCK_RULE == 2
            norm += (ACC)x * (ACC)x;
#else
            any |= x != (REAL)0;
#endif
        }
    }
#if BLOCK_RULE == 0
    flags[i * block_cols + j] = (uchar)any;
#else
#if BLOCK_RULE == 2
    norm = sqrt(norm);
#endif
    flags[i * block_cols + j] = (uchar)(norm >= t && norm > 0);
#endif
}

/* Kept blocks per block row (one work-item per block row). */
__kernel void bsr_row_counts(__global const uchar *flags, const ulong block_rows,
                             const ulong block_cols, __global ulong *counts) {
    const size_t i = get_global_id(0);
    if (i >= block_rows) {
        return;
    }
    ulong count = 0;
    for (size_t j = 0; j < block_cols; ++j) {
        count += flags[i * block_cols + j];
    }
    counts[i] = count;
}

/* The slot of each kept block in column order, its index, and indptr. */
__kernel void bsr_positions(__global const uchar *flags, const ulong block_rows,
                            const ulong block_cols, __global const ulong *offsets,
                            __global long *slots, __global INDEX *indices,
                            __global INDEX *indptr) {
    const size_t i = get_global_id(0);
    if (i >= block_rows) {
        return;
    }
    ulong p = offsets[i];
    indptr[i] = (INDEX)p;
    if (i == block_rows - 1) {
        indptr[block_rows] = (INDEX)offsets[block_rows];
    }
    for (size_t j = 0; j < block_cols; ++j) {
        if (flags[i * block_cols + j]) {
            slots[i * block_cols + j] = (long)p;
            indices[p] = (INDEX)j;
            p += 1;
        } else {
            slots[i * block_cols + j] = -1;
        }
    }
}

/* One work-item per element of the matrix: copied when its block is kept. */
__kernel void bsr_copy(__global const REAL *w, const ulong block_rows,
                       const ulong block_cols, __global const long *slots,
                       __global REAL *data) {
    const size_t col = get_global_id(0);
    const size_t row = get_global_id(1);
    const size_t cols = block_cols * BC;
    if (row >= block_rows * BR || col >= cols) {
        return;
    }
    const long slot = slots[(row / BR) * block_cols + col / BC];
    if (slot >= 0) {
        data[(size_t)slot * (BR * BC) + (row % BR) * BC + col % BC] = w[row * cols + col];
    }
}
#endif
