/*
 * Exact selection of the k-th smallest magnitude, by radix selection.
 *
 * |w| of a float is ordered like the integer made of its bits with the sign
 * bit cleared, so the k-th smallest magnitude is found digit by digit: one
 * histogram pass per 16-bit digit, each counting only the elements whose
 * higher digits match the bucket already chosen.  Once few candidates remain
 * they are gathered into a small buffer and the last digits are read there.
 * Extra memory is a histogram per thread (and that small buffer), never a
 * copy of the weights, over one view or many (global pruning).
 */
#ifndef WAVESPARSE_SELECT_H
#define WAVESPARSE_SELECT_H

#include "wavesparse/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The k-th smallest |w| (0-based) over the elements of `count` views, how
 * many elements have a smaller magnitude and how many exactly that one.
 * Returns WS_OK, WS_ERR_RANGE when k is outside [0, n), WS_ERR_NAN when an
 * element is NaN, WS_ERR_NOMEM.  Any number of threads works.
 */
#define WS_SELECT_DECLARE(T, TS)                                              \
    int ws_kth_magnitude_##TS(const ws_view *views, size_t count, int64_t k,  \
                              T *value, int64_t *n_below, int64_t *n_equal);
WS_SELECT_DECLARE(float, f32)
WS_SELECT_DECLARE(double, f64)
#undef WS_SELECT_DECLARE

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_SELECT_H */
