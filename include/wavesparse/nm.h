/*
 * N:M sparse times dense: Y = A X for A in the compact N:M storage.
 *
 * A (rows x cols) keeps at most n of every m consecutive columns of a row.
 * Row i holds `kept` = groups * n entries (groups = ceil(cols / m)): entry e
 * has the value values[i * kept + e] and the column (e / n) * m +
 * positions[i * kept + e], its position in its group being a byte.  Entries
 * whose column is past `cols` (fillers of a last, partial group) are skipped;
 * filler values are zero anyway.  X (cols x nx) and Y (rows x nx) are
 * row-major with rows ldx and ldy elements apart.  For nx > 1, X is copied
 * panel by panel of columns into a buffer (the columns of the groups past
 * `cols` are zero there); rows of Y are split over threads; Y is written,
 * never read.  Returns WS_OK, WS_ERR_NOMEM or WS_ERR_ARGUMENT (cols < 1,
 * nx < 1, or not 1 <= n <= m <= 256).
 */
#ifndef WAVESPARSE_NM_H
#define WAVESPARSE_NM_H

#include "wavesparse/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WS_NM_DECLARE(T, TS)                                                  \
    int ws_nm_spmm_##TS(int64_t rows, int64_t cols, int64_t n, int64_t m,     \
                        const T *values, const uint8_t *positions,            \
                        const T *x, int64_t ldx, int64_t nx, T *y,            \
                        int64_t ldy);
WS_NM_DECLARE(float, f32)
WS_NM_DECLARE(double, f64)
#undef WS_NM_DECLARE

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_NM_H */
