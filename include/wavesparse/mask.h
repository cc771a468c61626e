/*
 * Magnitude masks: zero every weight whose |w| is below a threshold.
 */
#ifndef WAVESPARSE_MASK_H
#define WAVESPARSE_MASK_H

#include "wavesparse/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * For each element of `in`, in its row-major order: out[i] = w if |w| >= t
 * else 0, mask[i] = 1 if kept else 0.  `out` and `mask` are contiguous and
 * hold rows * cols elements.  Returns WS_OK or WS_ERR_NAN (outputs are then
 * partly written).
 */
int ws_apply_threshold_f32(const ws_view *in, float t, float *out,
                           uint8_t *mask);
int ws_apply_threshold_f64(const ws_view *in, double t, double *out,
                           uint8_t *mask);

/* 1 when some element of the views is NaN, else 0. */
int ws_any_nan_f32(const ws_view *views, size_t count);
int ws_any_nan_f64(const ws_view *views, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_MASK_H */
