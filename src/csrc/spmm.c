/* Sparse times dense on the CPU; see spmm.h. */
#include "wavesparse/spmm.h"

#include "activation.h"
#include "cpu_features.h"

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

#define TYPE float
#define SUFFIX f32
#define PANEL 32
#define IDX int32_t
#define ISUFFIX i32
#include "spmm.template.c"
#undef IDX
#undef ISUFFIX
#define IDX int64_t
#define ISUFFIX i64
#include "spmm.template.c"
#undef IDX
#undef ISUFFIX
#undef TYPE
#undef SUFFIX
#undef PANEL

#define TYPE double
#define SUFFIX f64
#define PANEL 16
#define IDX int32_t
#define ISUFFIX i32
#include "spmm.template.c"
#undef IDX
#undef ISUFFIX
#define IDX int64_t
#define ISUFFIX i64
#include "spmm.template.c"
