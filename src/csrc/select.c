/* Radix selection of the k-th smallest magnitude; see select.h. */
#include "wavesparse/select.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Digits of 16 bits: a 256 KiB histogram of 32-bit counts per thread. */
#define WS_DIGIT_BITS 16
#define WS_BUCKETS ((size_t)1 << WS_DIGIT_BITS)
/* Candidates gathered into a buffer once at most this many remain. */
#define WS_GATHER_LIMIT ((int64_t)1 << 20)
/* A thread flushes its 32-bit counts before they could overflow. */
#define WS_FLUSH_EVERY ((int64_t)1 << 31)

#define TYPE float
#define SUFFIX f32
#define KEY_T uint32_t
#define KEY_BITS 31
#define INF_KEY ((uint32_t)0x7f800000u)
#include "select.template.c"
#undef TYPE
#undef SUFFIX
#undef KEY_T
#undef KEY_BITS
#undef INF_KEY

#define TYPE double
#define SUFFIX f64
#define KEY_T uint64_t
#define KEY_BITS 63
#define INF_KEY ((uint64_t)0x7ff0000000000000ull)
#include "select.template.c"
