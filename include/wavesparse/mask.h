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
 * ws_apply_threshold: for each element of `in`, in its row-major order:
 * out[i] = w if |w| >= t else 0, mask[i] = 1 if kept else 0.  `out` and
 * `mask` are contiguous and hold rows * cols elements.  Returns WS_OK or
 * WS_ERR_NAN (outputs are then partly written).
 *
 * ws_any_nan: 1 when some element of the views is NaN, else 0.
 */
#define WS_MASK_DECLARE(T, TS)                                                \
    int ws_apply_threshold_##TS(const ws_view *in, T t, T *out,               \
                                uint8_t *mask);                               \
    int ws_any_nan_##TS(const ws_view *views, size_t count);
WS_MASK_DECLARE(float, f32)
WS_MASK_DECLARE(double, f64)
#undef WS_MASK_DECLARE

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_MASK_H */
