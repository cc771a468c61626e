/* One type's masks, included by mask.c with TYPE and SUFFIX. */
#include "templating.h"

/* Threshold one run; returns nonzero when it met a NaN. */
static int WS_NAME(ws_threshold_run)(const TYPE *first, int64_t length,
                                     int64_t stride, TYPE t, TYPE *out,
                                     uint8_t *mask) {
    int nan_seen = 0;
    if (stride == 1) {
        for (int64_t i = 0; i < length; ++i) {
            TYPE w = first[i];
            int keep = ABS(w) >= t;
            nan_seen |= w != w;
            out[i] = keep ? w : (TYPE)0;
            mask[i] = (uint8_t)keep;
        }
    } else {
        for (int64_t i = 0; i < length; ++i) {
            TYPE w = first[i * stride];
            int keep = ABS(w) >= t;
            nan_seen |= w != w;
            out[i] = keep ? w : (TYPE)0;
            mask[i] = (uint8_t)keep;
        }
    }
    return nan_seen;
}

int WS_NAME(ws_apply_threshold)(const ws_view *in, TYPE t, TYPE *out,
                                uint8_t *mask) {
    int64_t n = in->rows * in->cols;
    int threads = ws_threads_for(n);
    int nan_seen = 0;
    /* Fixed chunks keep each thread's runs long when there is a single row. */
    const int64_t chunk = (int64_t)1 << 15;
    int64_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static) \
    reduction(| : nan_seen)
    for (int64_t c = 0; c < chunks; ++c) {
        int64_t lo = c * chunk;
        int64_t hi = lo + chunk < n ? lo + chunk : n;
        ws_cursor cursor;
        ws_cursor_init(&cursor, in, 1, lo, hi);
        const char *first;
        int64_t length, stride;
        int64_t at = lo;
        while (ws_segment_next(&cursor, sizeof(TYPE), &first, &length,
                               &stride)) {
            nan_seen |= WS_NAME(ws_threshold_run)(
                (const TYPE *)first, length, stride, t, out + at, mask + at);
            at += length;
        }
    }
    return nan_seen ? WS_ERR_NAN : WS_OK;
}

int WS_NAME(ws_any_nan)(const ws_view *views, size_t count) {
    int64_t n = ws_views_size(views, count);
    int threads = ws_threads_for(n);
    const int64_t chunk = (int64_t)1 << 15;
    int64_t chunks = (n + chunk - 1) / chunk;
    int nan_seen = 0;
#pragma omp parallel for num_threads(threads) schedule(static) \
    reduction(| : nan_seen)
    for (int64_t c = 0; c < chunks; ++c) {
        int64_t lo = c * chunk;
        int64_t hi = lo + chunk < n ? lo + chunk : n;
        ws_cursor cursor;
        ws_cursor_init(&cursor, views, count, lo, hi);
        const char *first;
        int64_t length, stride;
        while (ws_segment_next(&cursor, sizeof(TYPE), &first, &length,
                               &stride)) {
            const TYPE *values = (const TYPE *)first;
            int found = 0;
            for (int64_t i = 0; i < length; ++i) {
                TYPE w = values[i * stride];
                found |= w != w;
            }
            nan_seen |= found;
        }
    }
    return nan_seen;
}
