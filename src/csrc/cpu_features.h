/*
 * Run-time choice of instruction set for the kernels of spmm.c and nn.c.
 */
#ifndef WAVESPARSE_CPU_FEATURES_H
#define WAVESPARSE_CPU_FEATURES_H

/*
 * The inner loops are compiled twice, for the x86-64 baseline and for AVX2
 * with FMA, and the CPU's features choose at run time: the wheel stays
 * portable and needs no -march=native.
 */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define WS_HAVE_AVX2_CLONE 1
static inline int ws_cpu_has_avx2_fma(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return known;
}
#else
#define WS_HAVE_AVX2_CLONE 0
#endif

/* Keeps GCC from vectorising a loop whose loads go through an index. */
#if defined(__GNUC__) && !defined(__clang__)
#define WS_SCALAR __attribute__((optimize("no-tree-vectorize")))
#else
#define WS_SCALAR
#endif

#endif /* WAVESPARSE_CPU_FEATURES_H */
