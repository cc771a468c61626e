/*
 * The per-token work of a network around its products, for activations
 * stored feature-major (one row per feature, one column per token):
 * bias + activation in place (after a dense product), residual add + layer
 * norm over each column, and masked softmax over each row of attention
 * scores.  Arrays are ws_dense with unit column stride (row-major rows).
 */
#ifndef WAVESPARSE_NN_H
#define WAVESPARSE_NN_H

#include "wavesparse/spmm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WS_NN_DECLARE(T, TS)                                                  \
    /* y[i, j] = act(y[i, j] + bias[i]) (bias NULL: none). */                 \
    int ws_bias_act_##TS(ws_dense *y, const T *bias, int act);               \
    /* z = x + r (r NULL: x); out[:, j] = (z[:, j] - mean) / sqrt(var + eps)  \
       * gamma + beta, mean and var over the column; out may be x. */         \
    int ws_add_layer_norm_##TS(const ws_dense *x, const ws_dense *r,          \
                               const T *gamma, const T *beta, double eps,     \
                               ws_dense *out);                                \
    /* Row r of s (group g = r / group_rows) becomes softmax(scale * s[r])    \
       over the columns j with keep[g * keep_stride + j] != 0 (keep NULL:     \
       all), 0 elsewhere; a row with none kept becomes 0. */                  \
    int ws_masked_softmax_##TS(ws_dense *s, int64_t group_rows,               \
                               const uint8_t *keep, int64_t keep_stride,      \
                               double scale);
WS_NN_DECLARE(float, f32)
WS_NN_DECLARE(double, f64)
#undef WS_NN_DECLARE

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_NN_H */
