/*
 * One pass of the radix selection of the k-th smallest |w| (see select.c).
 *
 * |w| is ordered like its bits with the sign cleared (the key).  A pass
 * counts, among the elements whose higher digits equal `prefix`, how many
 * have each value of the next digit.  Each work-group counts into a
 * histogram in local memory with 32-bit local atomics, then adds its nonzero
 * bins to the global histogram with 32-bit global atomics: no 64-bit or
 * float atomics (the RX 580's OpenCL 1.2 has neither).  The host reads the
 * BINS counts (8 KB), picks the bucket that holds k, and runs the next pass.
 *
 * Build options:
 *   -DREAL=float|double (double with -DWS_FP64)
 *   -DBINS=n    histogram size, a power of two (2048: 11-bit digits; 8 KB of
 *               local memory, within the 32 KB a portable work-group may use)
 * Launch: 1-D, any work-group size, a grid-stride loop over n elements.
 */
#ifndef REAL
#error "build with -DREAL=float or -DREAL=double"
#endif
#ifndef BINS
#error "build with -DBINS=2048"
#endif
#ifdef WS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef ulong key_t;
#define KEY_OF(x) (as_ulong(x) & 0x7fffffffffffffffUL)
#else
typedef uint key_t;
#define KEY_OF(x) (as_uint(x) & 0x7fffffffU)
#endif

__kernel void radix_histogram(__global const REAL *w, const uint n,
                              const int first, const key_t prefix,
                              const uint prefix_shift, const uint shift,
                              __global uint *hist) {
    __local uint counts[BINS];
    for (uint b = get_local_id(0); b < BINS; b += get_local_size(0)) {
        counts[b] = 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const uint stride = (uint)get_global_size(0);
    for (uint i = (uint)get_global_id(0); i < n; i += stride) {
        const key_t key = KEY_OF(w[i]);
        if (first || (key >> prefix_shift) == prefix) {
            atomic_inc(&counts[(uint)(key >> shift) & (BINS - 1)]);
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint b = get_local_id(0); b < BINS; b += get_local_size(0)) {
        if (counts[b] != 0) {
            atomic_add(&hist[b], counts[b]);
        }
    }
}
