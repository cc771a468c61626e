/* N:M sparse times dense on the CPU; see nm.h. */
#include "wavesparse/nm.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/*
 * The panel kernels are compiled for the x86-64 baseline and for AVX2 with
 * FMA, and the CPU's features choose at run time: the wheel stays portable
 * and needs no -march=native.
 */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define WS_NM_HAVE_AVX2 1
static int ws_nm_avx2_fma(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return known;
}
#else
#define WS_NM_HAVE_AVX2 0
#endif

#define TYPE float
#define SUFFIX f32
#define PANEL 32
#include "nm.template.c"
#undef TYPE
#undef SUFFIX
#undef PANEL

#define TYPE double
#define SUFFIX f64
#define PANEL 16
#include "nm.template.c"
#undef TYPE
#undef SUFFIX
#undef PANEL
