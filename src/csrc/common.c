/* Status names, thread counts and the element cursor; see common.h. */
#include "wavesparse/common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many elements a kernel runs on one thread: the fork costs more. */
#define WS_ELEMENTS_PER_THREAD ((int64_t)1 << 16)

const char *ws_status_name(int status) {
    switch (status) {
    case WS_OK: return "WS_OK";
    case WS_ERR_NAN: return "WS_ERR_NAN";
    case WS_ERR_RANGE: return "WS_ERR_RANGE";
    case WS_ERR_NOMEM: return "WS_ERR_NOMEM";
    case WS_ERR_ARGUMENT: return "WS_ERR_ARGUMENT";
    case WS_ERR_OVERFLOW: return "WS_ERR_OVERFLOW";
    default: return "WS_UNKNOWN";
    }
}

int ws_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int ws_threads_for(int64_t work) {
    int64_t wanted = work / WS_ELEMENTS_PER_THREAD;
    int most = ws_max_threads();
    if (wanted < 1) {
        return 1;
    }
    return wanted < most ? (int)wanted : most;
}

void ws_thread_range(int64_t n, int threads, int t, int64_t *lo, int64_t *hi) {
    const int64_t share = n / threads, longer = n % threads;
    *lo = share * t + (t < longer ? t : longer);
    *hi = *lo + share + (t < longer ? 1 : 0);
}

int64_t ws_views_size(const ws_view *views, size_t count) {
    int64_t total = 0;
    for (size_t i = 0; i < count; ++i) {
        total += views[i].rows * views[i].cols;
    }
    return total;
}

void ws_cursor_init(ws_cursor *cursor, const ws_view *views, size_t count,
                    int64_t position, int64_t end) {
    cursor->views = views;
    cursor->count = count;
    cursor->view = 0;
    cursor->offset = position;
    cursor->position = position;
    cursor->end = end;
    while (cursor->view < count) {
        int64_t size = views[cursor->view].rows * views[cursor->view].cols;
        if (cursor->offset < size) {
            break;
        }
        cursor->offset -= size;
        cursor->view += 1;
    }
}

int ws_segment_next(ws_cursor *cursor, size_t itemsize, const char **first,
                    int64_t *length, int64_t *stride) {
    while (cursor->position < cursor->end && cursor->view < cursor->count) {
        const ws_view *v = &cursor->views[cursor->view];
        int64_t size = v->rows * v->cols;
        if (cursor->offset >= size) {
            cursor->view += 1;
            cursor->offset = 0;
            continue;
        }
        int64_t row = cursor->offset / v->cols;
        int64_t col = cursor->offset - row * v->cols;
        int64_t run = v->cols - col;
        if (run > cursor->end - cursor->position) {
            run = cursor->end - cursor->position;
        }
        *first = (const char *)v->data +
                 (row * v->row_stride + col * v->col_stride) * (int64_t)itemsize;
        *length = run;
        *stride = v->col_stride;
        cursor->offset += run;
        cursor->position += run;
        return 1;
    }
    return 0;
}
