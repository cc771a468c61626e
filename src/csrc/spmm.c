/* Sparse times dense on the CPU; see spmm.h. */
#include "wavesparse/spmm.h"

#include "activation.h"
#include "cpu_features.h"
#include "half.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/*
 * Thread t of `threads` takes rows [first[t], first[t + 1]): the row where
 * the running nonzero count passes t / threads of the total.
 */
#define WS_SPLIT_BY_NNZ(I)                                                    \
    static void ws_split_##I(int64_t m, const I *indptr, int threads,         \
                             int64_t *first) {                                \
        int64_t nnz = (int64_t)indptr[m] - (int64_t)indptr[0];                \
        first[0] = 0;                                                         \
        for (int t = 1; t < threads; ++t) {                                   \
            int64_t goal = (int64_t)indptr[0] + nnz * t / threads;            \
            int64_t lo = first[t - 1], hi = m;                                \
            while (lo < hi) {                                                 \
                int64_t mid = lo + (hi - lo) / 2;                             \
                if ((int64_t)indptr[mid] < goal) {                            \
                    lo = mid + 1;                                             \
                } else {                                                      \
                    hi = mid;                                                 \
                }                                                             \
            }                                                                 \
            first[t] = lo;                                                    \
        }                                                                     \
        first[threads] = m;                                                   \
    }
WS_SPLIT_BY_NNZ(int32_t)
WS_SPLIT_BY_NNZ(int64_t)

/* The most the per-thread panels of the column split may take, in bytes. */
#define WS_COLWISE_BYTES ((size_t)64 << 20)

#define WS_TEMPLATE "spmm.template.c"

/* float and double: A's values are read as they are. */
#define WS_LOAD_BASE(v) (v)
#define WS_LOAD_AVX2(v) (v)
#define WS_AVX2_TARGET "avx2,fma"
#define WS_AVX2_USABLE() ws_cpu_has_avx2_fma()

#define TYPE float
#define ATYPE float
#define SUFFIX f32
#define CSUFFIX f32
#define PANEL 64
#include "both_indices.h"
#undef TYPE
#undef ATYPE
#undef SUFFIX
#undef CSUFFIX
#undef PANEL

#define TYPE double
#define ATYPE double
#define SUFFIX f64
#define CSUFFIX f64
#define PANEL 16
#include "both_indices.h"
#undef TYPE
#undef ATYPE
#undef SUFFIX
#undef CSUFFIX
#undef PANEL
#undef WS_LOAD_BASE
#undef WS_LOAD_AVX2
#undef WS_AVX2_TARGET
#undef WS_AVX2_USABLE

/*
 * 16-bit A (float16, bfloat16), float sums: each stored value is widened as
 * it is loaded.  F16C's one-value conversion comes with the AVX2 kernels
 * (every AVX2 CPU has it; it is checked all the same).
 */
#define WS_HALF16
#define TYPE float
#define ATYPE uint16_t
#define CSUFFIX f32
#define PANEL 32

#define SUFFIX f16
#define WS_LOAD_BASE(v) ws_f16_to_f32(v)
#define WS_LOAD_AVX2(v) _cvtsh_ss(v)
#define WS_AVX2_TARGET "avx2,fma,f16c"
#define WS_AVX2_USABLE() (ws_cpu_has_avx2_fma() && ws_cpu_has_f16c())
#define WS_WIDEN8_AVX2(src, dst) \
    _mm256_storeu_ps((dst), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src))))
#include "both_indices.h"
#undef SUFFIX
#undef WS_LOAD_BASE
#undef WS_LOAD_AVX2
#undef WS_AVX2_TARGET
#undef WS_AVX2_USABLE
#undef WS_WIDEN8_AVX2

#define SUFFIX bf16
#define WS_LOAD_BASE(v) ws_bf16_to_f32(v)
#define WS_LOAD_AVX2(v) ws_bf16_to_f32(v)
#define WS_AVX2_TARGET "avx2,fma"
#define WS_AVX2_USABLE() ws_cpu_has_avx2_fma()
/* bfloat16 is float's upper half: eight zero-extended and shifted up 16 bits. */
#define WS_WIDEN8_AVX2(src, dst)                                                  \
    _mm256_storeu_ps((dst), _mm256_castsi256_ps(_mm256_slli_epi32(              \
                                _mm256_cvtepu16_epi32(                            \
                                    _mm_loadu_si128((const __m128i *)(src))),     \
                                16)))
#include "both_indices.h"
