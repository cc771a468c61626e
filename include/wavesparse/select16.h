/*
 * Selection and thresholds over 16-bit floats (IEEE float16 and bfloat16).
 *
 * The magnitude of a 16-bit float is ordered like its bits with the sign
 * cleared, a 15-bit key, so one histogram of 32768 counts holds the whole
 * order: the k-th smallest magnitude is read from the histogram after a
 * single pass, and histograms of separate arrays (shards, workers) add up.
 * Keys above `inf_key` (0x7c00 for float16, 0x7f80 for bfloat16) are NaN.
 */
#ifndef WAVESPARSE_SELECT16_H
#define WAVESPARSE_SELECT16_H

#include "wavesparse/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WS_KEYS16 32768

/*
 * Adds the key counts of the elements of `count` views of 16-bit values
 * into hist[WS_KEYS16].  Returns WS_OK, WS_ERR_NAN (hist then unchanged) or
 * WS_ERR_NOMEM.  Any number of threads works.
 */
int ws_histogram16(const ws_view *views, size_t count, uint16_t inf_key,
                   int64_t *hist);

/*
 * out[i] = in[i] where key(in[i]) >= t_key, else +0 (bits 0); mask[i] says
 * which, in the view's row-major order.  Returns WS_OK or WS_ERR_NAN.
 */
int ws_threshold16(const ws_view *in, uint16_t t_key, uint16_t inf_key,
                   uint16_t *out, uint8_t *mask);

/*
 * As ws_threshold16, and of the elements of key exactly t_key the first
 * `ties` in the view's row-major order are pruned too (the position tie
 * rule); *ties_pruned (if not NULL) says how many were, min(ties, count).
 * Returns WS_OK, WS_ERR_NAN or WS_ERR_NOMEM.
 */
int ws_threshold_ties16(const ws_view *in, uint16_t t_key, uint16_t inf_key,
                        int64_t ties, uint16_t *out, uint8_t *mask,
                        int64_t *ties_pruned);

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_SELECT16_H */
