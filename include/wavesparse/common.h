/*
 * What every CPU kernel of wavesparse shares: status codes, the strided view
 * of an array, and the walk over a range of elements of one or many views.
 *
 * A view is a 2-D strided window: `rows` x `cols` elements, strides counted in
 * elements (not bytes), either of them possibly negative.  Python reduces any
 * array to such a view without copying (a contiguous array of any rank is one
 * row).  The elements of several views are numbered one after the other, view
 * by view, row by row, which is how work is split over threads.
 */
#ifndef WAVESPARSE_COMMON_H
#define WAVESPARSE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ws_status {
    WS_OK = 0,
    WS_ERR_NAN = -1,       /* an input holds NaN */
    WS_ERR_RANGE = -2,     /* an index or rank outside its range */
    WS_ERR_NOMEM = -3,     /* scratch memory could not be allocated */
    WS_ERR_ARGUMENT = -4,  /* sizes or strides that do not fit together */
    WS_ERR_OVERFLOW = -5   /* a count too large for the index type */
} ws_status;

/* "WS_ERR_NAN" for WS_ERR_NAN, and so on; "WS_UNKNOWN" otherwise. */
const char *ws_status_name(int status);

typedef struct ws_view {
    const void *data;
    int64_t rows;
    int64_t cols;
    int64_t row_stride;
    int64_t col_stride;
} ws_view;

/* The number of threads the kernels use for `work` elements (>= 1). */
int ws_threads_for(int64_t work);

/* The threads a build can use at most: 1 without OpenMP. */
int ws_max_threads(void);

/*
 * Thread t of `threads` takes elements [*lo, *hi) of n: consecutive ranges
 * that tile [0, n), the first n % threads of them one element longer.
 */
void ws_thread_range(int64_t n, int threads, int t, int64_t *lo, int64_t *hi);

/*
 * A cursor over the elements [position, end) of `count` views: each call of
 * ws_segment_next gives the next run of elements that lie in one row of one
 * view (its first element's address, its length and its stride in elements).
 */
typedef struct ws_cursor {
    const ws_view *views;
    size_t count;
    size_t view;      /* the view that holds `position` */
    int64_t offset;   /* `position` minus the first index of that view */
    int64_t position;
    int64_t end;
} ws_cursor;

void ws_cursor_init(ws_cursor *cursor, const ws_view *views, size_t count,
                    int64_t position, int64_t end);

int ws_segment_next(ws_cursor *cursor, size_t itemsize, const char **first,
                    int64_t *length, int64_t *stride);

/* The number of elements of `count` views together. */
int64_t ws_views_size(const ws_view *views, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_COMMON_H */
