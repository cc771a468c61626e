/*
 * The two batched products of attention, for activations stored
 * feature-major (one row per feature, one column per token), float32:
 * (sequence, head) pairs spread over the threads, each pair's small product
 * in register tiles.
 */
#ifndef WAVESPARSE_ATTENTION_H
#define WAVESPARSE_ATTENTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * scores[b][h][i][j] = sum over e < d of q[h*d + e][b*length + i] *
 * k[h*d + e][b*length + j], for b < batch, h < heads; q and k rows ld
 * apart, scores C-contiguous (batch, heads, length, length).  Returns WS_OK
 * or WS_ERR_ARGUMENT.
 */
int ws_attention_scores_f32(const float *q, const float *k, int64_t ld, int64_t batch,
                            int64_t heads, int64_t length, int64_t d, float *scores);

/*
 * Each (sequence b, head h)'s scores_t[b][h] (length x length, C-ordered,
 * row j a key, column i a query: scores with q and k swapped) becomes, column
 * by column, softmax(scale * column) over the rows j with
 * keep[b * keep_stride + j] != 0 (keep NULL: all), the other rows 0.
 * Returns WS_OK, WS_ERR_ARGUMENT or WS_ERR_NOMEM.
 */
int ws_attention_softmax_t_f32(float *scores_t, int64_t batch, int64_t heads,
                               int64_t length, const uint8_t *keep, int64_t keep_stride,
                               double scale);

/*
 * context[h*d + e][b*length + i] = sum over j of v[h*d + e][b*length + j] *
 * probs_t[b][h][j][i]; v and context rows ld apart, probs_t C-contiguous
 * (the transposed probabilities ws_attention_softmax_t_f32 leaves).
 * Returns WS_OK, WS_ERR_ARGUMENT or WS_ERR_NOMEM.
 */
int ws_attention_context_f32(const float *v, const float *probs_t, int64_t ld,
                             int64_t batch, int64_t heads, int64_t length, int64_t d,
                             float *context);

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_ATTENTION_H */
