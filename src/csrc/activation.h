/*
 * Scalar exp and exact GELU for the kernels' output writes (spmm and nn).
 *
 * The float versions use no library call, so that a loop over them
 * vectorises; the double versions call libm.  ws_gelu_f32 is within a few
 * units in the last place of x * Phi(x) for |x| <= 10 (relative, also in the
 * negative tail, where x * Phi(x) is tiny).
 */
#ifndef WAVESPARSE_ACTIVATION_H
#define WAVESPARSE_ACTIVATION_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/*
 * exp(hi + lo) for float, |lo| small against 1: hi is reduced by n ln 2 in
 * two exact steps (Cody and Waite), so a large hi loses nothing to rounding
 * before lo joins the small remainder.  Saturates at the ends of float's
 * range (exp of a very negative argument is the smallest normal, not 0).
 */
static inline float ws_exp2part_f32(float hi, float lo) {
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f; /* 9 significant bits: n * ln2_hi is exact */
    const float ln2_lo = -2.12194440e-4f;
    const float round = 12582912.0f;   /* 1.5 * 2^23: adding it rounds to an integer */
    float x = hi + lo;
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float n = (x * log2e + round) - round;
    float r = hi - n * ln2_hi;
    r = (r - n * ln2_lo) + lo;
    /* exp(r) for |r| <= 0.35: Taylor to r^7 (next term < 6e-9 relative). */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

static inline float ws_exp_f32(float x) { return ws_exp2part_f32(x, 0.0f); }

/*
 * x * Phi(x) = x * erfc(-x / sqrt 2) / 2.  erfc(a) for a >= 0 is
 * t exp(-a^2 + P(t)), t = 1 / (1 + a / 2), with the Chebyshev-fitted P of
 * Press et al. (relative error below 1.2e-7 for every a >= 0); a^2 = x^2 / 2
 * enters exp as an exact sum hi + lo.
 */
static inline float ws_gelu_f32(float x) {
    const float a = fabsf(x) * 0.70710678118654752f;
    const float t = 1.0f / (1.0f + 0.5f * a);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    const float sq = x * x;
    const float sq_lo = fmaf(x, x, -sq);
    const float half_erfc = 0.5f * t * ws_exp2part_f32(-0.5f * sq, p - 0.5f * sq_lo);
    /* Phi(x) = 1 - erfc(a) / 2 for x >= 0, erfc(a) / 2 below: a blend, no branch. */
    const float below = (float)(x < 0.0f);
    return x * ((1.0f - below) - (1.0f - 2.0f * below) * half_erfc);
}

static inline double ws_gelu_f64(double x) {
    return 0.5 * x * erfc(-x * 0.70710678118654752440);
}

static inline float ws_relu_f32(float x) { return x > 0.0f ? x : 0.0f; }
static inline double ws_relu_f64(double x) { return x > 0.0 ? x : 0.0; }

#endif /* WAVESPARSE_ACTIVATION_H */
