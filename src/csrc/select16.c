/* 16-bit selection and thresholds: see wavesparse/select16.h. */
#include "wavesparse/select16.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define WS_CHUNK16 ((int64_t)1 << 16)

/* Counts one run of elements; returns nonzero when it met a NaN. */
static int ws_count16(const uint16_t *first, int64_t length, int64_t stride,
                      uint16_t inf_key, int64_t *hist) {
    uint16_t largest = 0;
    for (int64_t i = 0; i < length; ++i) {
        uint16_t key = first[i * stride] & 0x7fff;
        largest = key > largest ? key : largest;
        hist[key] += 1;
    }
    return largest > inf_key;
}

int ws_histogram16(const ws_view *views, size_t count, uint16_t inf_key,
                   int64_t *hist) {
    int64_t n = ws_views_size(views, count);
    int threads = ws_threads_for(n);
    int64_t chunks = (n + WS_CHUNK16 - 1) / WS_CHUNK16;
    if (threads > chunks) {
        threads = chunks > 0 ? (int)chunks : 1;
    }
    int64_t *local = calloc((size_t)threads * WS_KEYS16, sizeof(int64_t));
    if (local == NULL) {
        return WS_ERR_NOMEM;
    }
    int nan_seen = 0;
#pragma omp parallel num_threads(threads) reduction(| : nan_seen)
    {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        int64_t *mine = local + (size_t)t * WS_KEYS16;
#pragma omp for schedule(static)
        for (int64_t c = 0; c < chunks; ++c) {
            int64_t lo = c * WS_CHUNK16;
            int64_t hi = lo + WS_CHUNK16 < n ? lo + WS_CHUNK16 : n;
            ws_cursor cursor;
            ws_cursor_init(&cursor, views, count, lo, hi);
            const char *first;
            int64_t length, stride;
            while (ws_segment_next(&cursor, sizeof(uint16_t), &first, &length,
                                   &stride)) {
                nan_seen |= ws_count16((const uint16_t *)first, length, stride,
                                       inf_key, mine);
            }
        }
    }
    if (!nan_seen) {
        for (int t = 0; t < threads; ++t) {
            const int64_t *mine = local + (size_t)t * WS_KEYS16;
            for (int key = 0; key < WS_KEYS16; ++key) {
                hist[key] += mine[key];
            }
        }
    }
    free(local);
    return nan_seen ? WS_ERR_NAN : WS_OK;
}

/* Thresholds one run of elements into out/mask; returns the largest key
   seen.  The contiguous case is its own loop, with the keep flag as a
   0/0xffff mask rather than a branch, so that it vectorises: a
   checkpoint's tensors are thresholded at memory speed. */
static uint16_t ws_threshold_run16(const uint16_t *values, int64_t length,
                                   int64_t stride, uint16_t t_key,
                                   uint16_t *out, uint8_t *mask) {
    uint16_t largest = 0;
    if (stride == 1) {
        for (int64_t i = 0; i < length; ++i) {
            uint16_t bits = values[i];
            uint16_t key = bits & 0x7fff;
            uint16_t keep = (uint16_t)-(uint16_t)(key >= t_key);
            largest = key > largest ? key : largest;
            out[i] = bits & keep;
            mask[i] = (uint8_t)(keep & 1u);
        }
        return largest;
    }
    for (int64_t i = 0; i < length; ++i) {
        uint16_t bits = values[i * stride];
        uint16_t key = bits & 0x7fff;
        int keep = key >= t_key;
        largest = key > largest ? key : largest;
        out[i] = keep ? bits : 0;
        mask[i] = (uint8_t)keep;
    }
    return largest;
}

/* As ws_threshold_run16 at t_key, but the first *left elements of key
   t_key are pruned (and *left counted down) and the others kept: the one
   run of a tensor where its share of a threshold's ties runs out. */
static uint16_t ws_threshold_partial16(const uint16_t *values, int64_t length,
                                       int64_t stride, uint16_t t_key,
                                       int64_t *left, uint16_t *out,
                                       uint8_t *mask) {
    uint16_t largest = 0;
    int64_t budget = *left;
    for (int64_t i = 0; i < length; ++i) {
        uint16_t bits = values[i * stride];
        uint16_t key = bits & 0x7fff;
        int keep;
        if (key == t_key) {
            keep = budget <= 0;
            budget -= budget > 0;
        } else {
            keep = key > t_key;
        }
        largest = key > largest ? key : largest;
        out[i] = keep ? bits : 0;
        mask[i] = (uint8_t)keep;
    }
    *left = budget;
    return largest;
}

/* Elements of key t_key in [lo, hi) of the view. */
static int64_t ws_count_key16(const ws_view *in, int64_t lo, int64_t hi,
                              uint16_t t_key) {
    ws_cursor cursor;
    ws_cursor_init(&cursor, in, 1, lo, hi);
    const char *first;
    int64_t length, stride, count = 0;
    while (ws_segment_next(&cursor, sizeof(uint16_t), &first, &length,
                           &stride)) {
        const uint16_t *values = (const uint16_t *)first;
        for (int64_t i = 0; i < length; ++i) {
            count += (values[i * stride] & 0x7fff) == t_key;
        }
    }
    return count;
}

int ws_threshold16(const ws_view *in, uint16_t t_key, uint16_t inf_key,
                   uint16_t *out, uint8_t *mask) {
    return ws_threshold_ties16(in, t_key, inf_key, 0, out, mask, NULL);
}

int ws_threshold_ties16(const ws_view *in, uint16_t t_key, uint16_t inf_key,
                        int64_t ties, uint16_t *out, uint8_t *mask,
                        int64_t *ties_pruned) {
    int64_t n = in->rows * in->cols;
    int threads = ws_threads_for(n);
    int64_t chunks = (n + WS_CHUNK16 - 1) / WS_CHUNK16;
    int64_t *before = NULL; /* ties (key t_key) before each chunk, prefix */
    if (ties > 0) {
        before = malloc((size_t)(chunks + 1) * sizeof(int64_t));
        if (!before) {
            return WS_ERR_NOMEM;
        }
        before[0] = 0;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t c = 0; c < chunks; ++c) {
            int64_t lo = c * WS_CHUNK16;
            int64_t hi = lo + WS_CHUNK16 < n ? lo + WS_CHUNK16 : n;
            before[c + 1] = ws_count_key16(in, lo, hi, t_key);
        }
        for (int64_t c = 0; c < chunks; ++c) {
            before[c + 1] += before[c];
        }
    }
    int nan_seen = 0;
#pragma omp parallel for num_threads(threads) schedule(static) \
    reduction(| : nan_seen)
    for (int64_t c = 0; c < chunks; ++c) {
        int64_t lo = c * WS_CHUNK16;
        int64_t hi = lo + WS_CHUNK16 < n ? lo + WS_CHUNK16 : n;
        /* This chunk's share of the ties: none (threshold at t_key), all
           (threshold one key up) or some (the partial run). */
        int64_t left = 0, here = 0;
        if (before) {
            here = before[c + 1] - before[c];
            left = ties - before[c];
            left = left < 0 ? 0 : left > here ? here : left;
        }
        uint16_t cut = (uint16_t)(left > 0 && left == here ? t_key + 1 : t_key);
        int partial = left > 0 && left < here;
        ws_cursor cursor;
        ws_cursor_init(&cursor, in, 1, lo, hi);
        const char *first;
        int64_t length, stride;
        int64_t at = lo;
        while (ws_segment_next(&cursor, sizeof(uint16_t), &first, &length,
                               &stride)) {
            const uint16_t *values = (const uint16_t *)first;
            uint16_t largest = partial
                ? ws_threshold_partial16(values, length, stride, t_key, &left,
                                         out + at, mask + at)
                : ws_threshold_run16(values, length, stride, cut, out + at,
                                     mask + at);
            nan_seen |= largest > inf_key;
            at += length;
        }
    }
    if (ties_pruned) {
        *ties_pruned = before ? (ties < before[chunks] ? ties : before[chunks]) : 0;
    }
    free(before);
    return nan_seen ? WS_ERR_NAN : WS_OK;
}
