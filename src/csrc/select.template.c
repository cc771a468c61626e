/*
 * One type's radix selection, included by select.c with TYPE (float or
 * double), SUFFIX, KEY_T (its bits as an unsigned integer), KEY_BITS (bits of
 * a magnitude) and INF_KEY (the key of +inf; larger keys are NaN).
 */
#include "templating.h"

static inline KEY_T WS_NAME(ws_key)(const char *element) {
    KEY_T bits;
    memcpy(&bits, element, sizeof(bits));
    return bits & (((KEY_T)1 << KEY_BITS) - 1);
}

/* What one histogram pass looks for. */
typedef struct {
    int first;        /* no prefix to match: every element counts */
    int prefix_shift; /* key >> prefix_shift must equal prefix */
    KEY_T prefix;
    int shift;        /* the digit is (key >> shift) & mask */
    KEY_T mask;
} WS_NAME(ws_pass);

/* The pass that reads the next digit once `consumed` bits fixed `prefix`. */
static WS_NAME(ws_pass) WS_NAME(ws_pass_after)(int consumed, KEY_T prefix) {
    const int bits = KEY_BITS - consumed < WS_DIGIT_BITS ? KEY_BITS - consumed
                                                         : WS_DIGIT_BITS;
    WS_NAME(ws_pass) pass;
    pass.first = consumed == 0;
    pass.prefix_shift = KEY_BITS - consumed;
    pass.prefix = prefix;
    pass.shift = KEY_BITS - consumed - bits;
    pass.mask = ((KEY_T)1 << bits) - 1;
    return pass;
}

/*
 * Counts one run of elements into `hist`; returns the largest key seen
 * (first pass only).  The pass's fields are copied into locals: `hist` holds
 * integers of the key's type, so the compiler could not otherwise keep them
 * in registers across the increments.
 */
static KEY_T WS_NAME(ws_count_run)(const WS_NAME(ws_pass) * pass,
                                   const char *first, int64_t length,
                                   int64_t stride, uint32_t *hist) {
    const int64_t step = stride * (int64_t)sizeof(TYPE);
    const int shift = pass->shift;
    const int prefix_shift = pass->prefix_shift;
    const KEY_T prefix = pass->prefix;
    const KEY_T mask = pass->mask;
    KEY_T largest = 0;
    if (pass->first) {
        for (int64_t i = 0; i < length; ++i) {
            KEY_T key = WS_NAME(ws_key)(first + i * step);
            largest = key > largest ? key : largest;
            hist[key >> shift] += 1;
        }
        return largest;
    }
    int64_t i = 0;
    if (stride == 1) {
        /*
         * Few elements match a later pass's prefix: test a block of them at
         * once (a loop the compiler vectorises) and count only in the rare
         * blocks that hold a match.
         */
        enum { BLOCK = 32 };
        for (; i + BLOCK <= length; i += BLOCK) {
            int any = 0;
            for (int j = 0; j < BLOCK; ++j) {
                KEY_T key = WS_NAME(ws_key)(first + (i + j) * sizeof(TYPE));
                any |= (key >> prefix_shift) == prefix;
            }
            if (!any) {
                continue;
            }
            for (int j = 0; j < BLOCK; ++j) {
                KEY_T key = WS_NAME(ws_key)(first + (i + j) * sizeof(TYPE));
                if ((key >> prefix_shift) == prefix) {
                    hist[(key >> shift) & mask] += 1;
                }
            }
        }
    }
    for (; i < length; ++i) {
        KEY_T key = WS_NAME(ws_key)(first + i * step);
        if ((key >> prefix_shift) == prefix) {
            hist[(key >> shift) & mask] += 1;
        }
    }
    return 0;
}

/*
 * What the first pass also copies aside (see ws_guess_range): the elements
 * whose first digit lies in [lo, lo + span], thread t's into buffer + t * cap,
 * counted in filled[t].  `overflow` is set when a thread's share ran out.
 */
typedef struct {
    KEY_T lo;
    KEY_T span;
    TYPE *buffer;
    int64_t cap;
    int64_t *filled;
    int overflow;
} WS_NAME(ws_aside);

/*
 * The first pass's count of one run when it also copies aside: into `region`
 * from *filled up to cap, setting *spilled past it.  Returns the largest key.
 */
static KEY_T WS_NAME(ws_count_aside_run)(int shift, KEY_T lo, KEY_T span,
                                         const char *first, int64_t length,
                                         int64_t stride, uint32_t *hist,
                                         TYPE *region, int64_t cap,
                                         int64_t *filled, int *spilled) {
    const int64_t step = stride * (int64_t)sizeof(TYPE);
    int64_t f = *filled;
    int spill = 0;
    KEY_T largest = 0;
    for (int64_t i = 0; i < length; ++i) {
        const char *element = first + i * step;
        const KEY_T key = WS_NAME(ws_key)(element);
        const KEY_T digit = key >> shift;
        largest = key > largest ? key : largest;
        hist[digit] += 1;
        if ((KEY_T)(digit - lo) <= span) {
            if (f < cap) {
                memcpy(region + f, element, sizeof(TYPE));
                f += 1;
            } else {
                spill = 1;
            }
        }
    }
    *filled = f;
    *spilled |= spill;
    return largest;
}

/* total[b] = the sum over threads of per_thread[t * BUCKETS + b]. */
static void WS_NAME(ws_sum_threads)(const int64_t *per_thread, int threads,
                                    int64_t *total) {
    memset(total, 0, WS_BUCKETS * sizeof(int64_t));
    for (int t = 0; t < threads; ++t) {
        for (size_t b = 0; b < WS_BUCKETS; ++b) {
            total[b] += per_thread[(size_t)t * WS_BUCKETS + b];
        }
    }
}

/*
 * One pass over the elements of the views: per_thread[t * BUCKETS + b]
 * receives how many elements of thread t's range match the pass's prefix
 * and have digit b (ranges as ws_thread_range gives them for `threads`), and
 * total[b] the sum over threads.  *largest receives the largest key (first
 * pass only).  `aside`, NULL or for the first pass only, says what to copy.
 */
static int WS_NAME(ws_histogram)(const ws_view *views, size_t count,
                                 int64_t n, int threads,
                                 const WS_NAME(ws_pass) * pass,
                                 WS_NAME(ws_aside) * aside,
                                 int64_t *per_thread, int64_t *total,
                                 KEY_T *largest) {
    uint32_t *local = (uint32_t *)malloc((size_t)threads * WS_BUCKETS *
                                         sizeof(uint32_t));
    if (local == NULL) {
        return WS_ERR_NOMEM;
    }
    KEY_T top = 0;
    int spilled = 0;
#pragma omp parallel for num_threads(threads) schedule(static, 1) \
    reduction(max : top) reduction(| : spilled)
    for (int t = 0; t < threads; ++t) {
        uint32_t *hist = local + (size_t)t * WS_BUCKETS;
        int64_t *mine = per_thread + (size_t)t * WS_BUCKETS;
        int64_t lo, hi, filled = 0;
        ws_thread_range(n, threads, t, &lo, &hi);
        memset(mine, 0, WS_BUCKETS * sizeof(int64_t));
        while (lo < hi) {
            int64_t stop = hi - lo > WS_FLUSH_EVERY ? lo + WS_FLUSH_EVERY : hi;
            memset(hist, 0, WS_BUCKETS * sizeof(uint32_t));
            ws_cursor cursor;
            ws_cursor_init(&cursor, views, count, lo, stop);
            const char *first;
            int64_t length, stride;
            while (ws_segment_next(&cursor, sizeof(TYPE), &first, &length,
                                   &stride)) {
                KEY_T seen =
                    aside == NULL
                        ? WS_NAME(ws_count_run)(pass, first, length, stride,
                                                hist)
                        : WS_NAME(ws_count_aside_run)(
                              pass->shift, aside->lo, aside->span, first,
                              length, stride, hist,
                              aside->buffer + (size_t)t * (size_t)aside->cap,
                              aside->cap, &filled, &spilled);
                top = seen > top ? seen : top;
            }
            for (size_t b = 0; b < WS_BUCKETS; ++b) {
                mine[b] += hist[b];
            }
            lo = stop;
        }
        if (aside != NULL) {
            aside->filled[t] = filled;
        }
    }
    free(local);
    WS_NAME(ws_sum_threads)(per_thread, threads, total);
    *largest = top;
    if (aside != NULL) {
        aside->overflow = spilled;
    }
    return WS_OK;
}

/*
 * Copies the values whose key >> shift equals prefix into `out`, in
 * parallel: thread t writes from the sum of the earlier threads' counts
 * (`before`, known from the histogram of the same ranges).
 */
static void WS_NAME(ws_gather)(const ws_view *views, size_t count, int64_t n,
                               int threads, const int64_t *before,
                               KEY_T prefix, int shift, TYPE *out) {
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; ++t) {
        int64_t lo, hi, filled = before[t];
        ws_thread_range(n, threads, t, &lo, &hi);
        ws_cursor cursor;
        ws_cursor_init(&cursor, views, count, lo, hi);
        const char *first;
        int64_t length, stride;
        while (ws_segment_next(&cursor, sizeof(TYPE), &first, &length,
                               &stride)) {
            const int64_t step = stride * (int64_t)sizeof(TYPE);
            for (int64_t i = 0; i < length; ++i) {
                const char *element = first + i * step;
                if ((WS_NAME(ws_key)(element) >> shift) == prefix) {
                    memcpy(out + filled, element, sizeof(TYPE));
                    filled += 1;
                }
            }
        }
    }
}

/*
 * Speculation for the first pass.  A sample of the elements (64 runs of 2048,
 * spread over them) says which first digits [lo, hi] hold the k-th smallest,
 * with a margin of 4 sqrt(sample) ranks (8 standard deviations for
 * independent values).  The first pass then also copies the elements of
 * those digits aside, so that when the sample was right (the chosen digit
 * lies in [lo, hi] and nothing overflowed) the low digits are read from the
 * copy and the weights are read once.  When it was wrong, the normal second
 * pass follows: the result is the same either way.  Returns 0 when the
 * elements are too few, or the range would hold too many, to be worth it.
 */
static int WS_NAME(ws_guess_range)(const ws_view *views, size_t count,
                                   int64_t n, int64_t k, int shift, KEY_T *lo,
                                   KEY_T *hi) {
    enum { RUNS = 64, RUN = 2048 };
    const int64_t sample = (int64_t)RUNS * RUN;
    if (n < 16 * sample) {
        return 0;
    }
    uint32_t *hist = (uint32_t *)calloc(WS_BUCKETS, sizeof(uint32_t));
    if (hist == NULL) {
        return 0;
    }
    for (int64_t r = 0; r < RUNS; ++r) {
        const int64_t start = (n - RUN) / (RUNS - 1) * r;
        ws_cursor cursor;
        ws_cursor_init(&cursor, views, count, start, start + RUN);
        const char *first;
        int64_t length, stride;
        while (ws_segment_next(&cursor, sizeof(TYPE), &first, &length, &stride)) {
            for (int64_t i = 0; i < length; ++i) {
                hist[WS_NAME(ws_key)(first + i * stride * (int64_t)sizeof(TYPE)) >> shift] += 1;
            }
        }
    }
    const int64_t at = (int64_t)((double)k / (double)n * (double)sample);
    const int64_t margin = 4 * 362; /* 4 sqrt(sample) */
    const int64_t want_lo = at - margin < 0 ? 0 : at - margin;
    const int64_t want_hi = at + margin >= sample ? sample - 1 : at + margin;
    int64_t seen = 0, inside = 0;
    size_t b = 0;
    for (; b < WS_BUCKETS && seen + hist[b] <= want_lo; ++b) {
        seen += hist[b];
    }
    *lo = (KEY_T)b;
    for (; b < WS_BUCKETS; ++b) {
        seen += hist[b];
        inside += hist[b];
        if (seen > want_hi) {
            break;
        }
    }
    *hi = (KEY_T)(b < WS_BUCKETS ? b : WS_BUCKETS - 1);
    free(hist);
    /* Expected copies, scaled from the sample, within half the buffer. */
    return (double)inside * (double)n / (double)sample <= WS_GATHER_LIMIT / 2;
}

/* Makes `view` one contiguous row of the n values at `values`. */
static void WS_NAME(ws_row_view)(ws_view *view, const TYPE *values,
                                 int64_t n) {
    view->data = values;
    view->rows = 1;
    view->cols = n;
    view->row_stride = n;
    view->col_stride = 1;
}

int WS_NAME(ws_kth_magnitude)(const ws_view *views, size_t count, int64_t k,
                              TYPE *value, int64_t *n_below, int64_t *n_equal) {
    int64_t n = ws_views_size(views, count);
    const int64_t rank = k;
    if (k < 0 || k >= n) {
        return WS_ERR_RANGE;
    }
    /* Later passes run over fewer elements, so on no more threads than this. */
    int threads = ws_threads_for(n);
    /*
     * One block: the histogram's total, one histogram per thread, how many
     * values each thread copied aside and where each thread's gathered
     * values start.
     */
    int64_t *total = (int64_t *)malloc(
        ((size_t)(threads + 1) * WS_BUCKETS + 2 * (size_t)threads + 1) *
        sizeof(int64_t));
    if (total == NULL) {
        return WS_ERR_NOMEM;
    }
    int64_t *per_thread = total + WS_BUCKETS;
    int64_t *aside_filled = per_thread + (size_t)threads * WS_BUCKETS;
    int64_t *before = aside_filled + threads;
    TYPE *gathered = NULL;
    ws_view gathered_view;
    int status = WS_OK;
    KEY_T prefix = 0;
    int consumed = 0; /* bits of the key already fixed in prefix */
    int64_t remaining = n;
    /* The speculative first pass (see ws_guess_range), when it is worth it. */
    const int first_shift = KEY_BITS - WS_DIGIT_BITS;
    KEY_T lo = 0, hi = 0;
    WS_NAME(ws_aside) aside = {0};
    aside.overflow = 1;
    int have_first = 0;
    KEY_T first_largest = 0;
    if (WS_NAME(ws_guess_range)(views, count, n, k, first_shift, &lo, &hi)) {
        aside.lo = lo;
        aside.span = hi - lo;
        aside.cap = WS_GATHER_LIMIT / threads;
        aside.filled = aside_filled;
        aside.buffer = (TYPE *)malloc((size_t)threads * (size_t)aside.cap *
                                      sizeof(TYPE));
        if (aside.buffer != NULL) {
            WS_NAME(ws_pass) pass = WS_NAME(ws_pass_after)(0, 0);
            status = WS_NAME(ws_histogram)(views, count, n, threads, &pass,
                                           &aside, per_thread, total,
                                           &first_largest);
            have_first = status == WS_OK;
        }
    }
    while (status == WS_OK && consumed < KEY_BITS) {
        const WS_NAME(ws_pass) pass = WS_NAME(ws_pass_after)(consumed, prefix);
        const int bits = pass.prefix_shift - pass.shift;
        KEY_T largest = first_largest;
        if (!(pass.first && have_first)) {
            status = WS_NAME(ws_histogram)(views, count, n, threads, &pass,
                                           NULL, per_thread, total, &largest);
            if (status != WS_OK) {
                break;
            }
        }
        if (pass.first && largest > INF_KEY) {
            status = WS_ERR_NAN;
            break;
        }
        size_t bucket = 0;
        while (k >= total[bucket]) {
            k -= total[bucket];
            bucket += 1;
        }
        prefix = (prefix << bits) | (KEY_T)bucket;
        consumed += bits;
        remaining = total[bucket];
        if (pass.first && have_first && !aside.overflow && (KEY_T)bucket >= lo &&
            (KEY_T)bucket <= hi) {
            /* The sample was right: keep the copies of the chosen digit. */
            int64_t kept = 0;
            for (int t = 0; t < threads; ++t) {
                const TYPE *region = aside.buffer + (size_t)t * (size_t)aside.cap;
                for (int64_t i = 0; i < aside_filled[t]; ++i) {
                    if ((WS_NAME(ws_key)((const char *)(region + i)) >> first_shift) ==
                        (KEY_T)bucket) {
                        aside.buffer[kept++] = region[i];
                    }
                }
            }
            gathered = aside.buffer;
            aside.buffer = NULL;
            WS_NAME(ws_row_view)(&gathered_view, gathered, kept);
            views = &gathered_view;
            count = 1;
            n = kept;
            threads = ws_threads_for(n);
            continue;
        }
        if (consumed < KEY_BITS - WS_DIGIT_BITS && gathered == NULL &&
            remaining <= WS_GATHER_LIMIT) {
            /* Two or more passes to go over few candidates: gather them. */
            gathered = (TYPE *)malloc((size_t)remaining * sizeof(TYPE));
            if (gathered == NULL) {
                status = WS_ERR_NOMEM;
                break;
            }
            before[0] = 0;
            for (int t = 0; t < threads; ++t) {
                before[t + 1] = before[t] + per_thread[(size_t)t * WS_BUCKETS + bucket];
            }
            WS_NAME(ws_gather)(views, count, n, threads, before, prefix,
                               KEY_BITS - consumed, gathered);
            WS_NAME(ws_row_view)(&gathered_view, gathered, remaining);
            views = &gathered_view;
            count = 1;
            n = remaining;
            threads = ws_threads_for(n);
        }
    }
    if (status == WS_OK) {
        memcpy(value, &prefix, sizeof(TYPE));
        *n_below = rank - k; /* k is now the rank among the equal elements */
        *n_equal = remaining;
    }
    free(aside.buffer);
    free(gathered);
    free(total);
    return status;
}
