/*
 * Magnitude masks: out[i] = w[i] if |w[i]| >= t else 0; mask[i] = kept.
 *
 * Build options:
 *   -DREAL=float|double   element type (double needs cl_khr_fp64)
 * Launch: 1-D, any local size; a grid-stride loop covers n elements, so the
 * host can keep the global size a fixed multiple of the device's work-groups.
 * Each work-item touches consecutive elements across the grid, so a wavefront
 * reads one contiguous run of memory per step (coalesced on the RX 580).
 */
#ifndef REAL
#error "build with -DREAL=float or -DREAL=double"
#endif
#ifdef WS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

__kernel void apply_threshold(__global const REAL *w, const REAL t,
                              __global REAL *out, __global uchar *mask,
                              const uint n) {
    const uint stride = (uint)get_global_size(0);
    for (uint i = (uint)get_global_id(0); i < n; i += stride) {
        const REAL x = w[i];
        const int keep = fabs(x) >= t;
        out[i] = keep ? x : (REAL)0;
        mask[i] = (uchar)keep;
    }
}
