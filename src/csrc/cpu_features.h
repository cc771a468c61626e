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
/* name(): whether the CPU has features a and b, asked once. */
#define WS_CPU_TEST(name, a, b)                                              \
    static inline int name(void) {                                           \
        static int known = -1;                                               \
        if (known < 0) {                                                     \
            __builtin_cpu_init();                                            \
            known = __builtin_cpu_supports(a) && __builtin_cpu_supports(b); \
        }                                                                    \
        return known;                                                        \
    }
WS_CPU_TEST(ws_cpu_has_avx2_fma, "avx2", "fma")
/* F16C: float16 <-> float conversions (_mm256_cvtph_ps, _cvtsh_ss). */
WS_CPU_TEST(ws_cpu_has_f16c, "avx", "f16c")
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
