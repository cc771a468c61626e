/*
 * 16-bit floats read as float: IEEE float16 and bfloat16 stored as uint16_t.
 *
 * bfloat16 is the top half of a float, so widening it is a 16-bit shift.
 * float16 needs its exponent rebiased; the portable conversion below does it
 * with integer operations (exact for every value: subnormals, infinities,
 * NaN payloads), and where the CPU has F16C, rows are widened eight values at
 * a time with _mm256_cvtph_ps, chosen at run time like the AVX2 kernels.
 */
#ifndef WAVESPARSE_HALF_H
#define WAVESPARSE_HALF_H

#include "wavesparse/spmm.h"

#include "cpu_features.h"

#include <stdint.h>
#include <string.h>

#if WS_HAVE_AVX2_CLONE
#include <immintrin.h>
#endif

static inline float ws_bits_to_f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

static inline float ws_bf16_to_f32(uint16_t h) {
    return ws_bits_to_f32((uint32_t)h << 16);
}

static inline float ws_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t rest = h & 0x7fffu;
    if (rest < 0x0400u) {
        /* Zero or subnormal: rest * 2^-24, exact in float. */
        uint32_t bits;
        const float f = (float)rest * 0x1p-24f;
        memcpy(&bits, &f, sizeof(bits));
        return ws_bits_to_f32(bits | sign);
    }
    if (rest >= 0x7c00u) {
        /* Infinity or NaN: all exponent bits set, the payload kept. */
        return ws_bits_to_f32(sign | 0x7f800000u | ((rest & 0x3ffu) << 13));
    }
    /* Normal: the exponent's bias goes from 15 to 127, i.e. + 112 << 23. */
    return ws_bits_to_f32(sign | ((rest << 13) + 0x38000000u));
}

#if WS_HAVE_AVX2_CLONE
__attribute__((target("avx,f16c")))
static void ws_widen_f16c(const uint16_t *src, int64_t n, float *dst) {
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m128i h;
        memcpy(&h, src + j, sizeof(h));
        _mm256_storeu_ps(dst + j, _mm256_cvtph_ps(h));
    }
    for (; j < n; ++j) {
        dst[j] = _cvtsh_ss(src[j]);
    }
}
#endif

/*
 * dst[j] = src[j * stride] as float, j < n, for src of kind WS_X_F16 or
 * WS_X_BF16 (see spmm.h).
 */
static inline void ws_widen16(int kind, const uint16_t *src, int64_t stride,
                              int64_t n, float *dst) {
    if (kind == WS_X_BF16) {
        for (int64_t j = 0; j < n; ++j) {
            dst[j] = ws_bf16_to_f32(src[j * stride]);
        }
        return;
    }
#if WS_HAVE_AVX2_CLONE
    if (stride == 1 && ws_cpu_has_f16c()) {
        ws_widen_f16c(src, n, dst);
        return;
    }
#endif
    for (int64_t j = 0; j < n; ++j) {
        dst[j] = ws_f16_to_f32(src[j * stride]);
    }
}

#endif /* WAVESPARSE_HALF_H */
