# Declarations of the CPU kernels (include/wavesparse/*.h) and the two
# helpers every wrapper uses: an ndarray as a ws_view, a status as an error.
from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t
from libc.stdlib cimport malloc, free


cdef extern from "wavesparse/common.h" nogil:
    ctypedef struct ws_view:
        const void *data
        int64_t rows
        int64_t cols
        int64_t row_stride
        int64_t col_stride
    int WS_OK
    int WS_ERR_NAN
    int WS_ERR_RANGE
    int WS_ERR_NOMEM
    int WS_ERR_ARGUMENT
    int WS_ERR_OVERFLOW
    const char *ws_status_name(int status)
    int ws_max_threads()
    int ws_threads_for(int64_t work)
    void ws_thread_range(int64_t n, int threads, int t, int64_t *lo,
                         int64_t *hi)
    ctypedef struct ws_cursor:
        size_t view
        int64_t offset
    void ws_cursor_init(ws_cursor *cursor, const ws_view *views, size_t count,
                        int64_t position, int64_t end)
    int ws_segment_next(ws_cursor *cursor, size_t itemsize, const char **first,
                        int64_t *length, int64_t *stride)
    int64_t ws_views_size(const ws_view *views, size_t count)


cdef extern from "wavesparse/select.h" nogil:
    int ws_kth_magnitude_f32(const ws_view *views, size_t count, int64_t k,
                             float *value, int64_t *n_below, int64_t *n_equal)
    int ws_kth_magnitude_f64(const ws_view *views, size_t count, int64_t k,
                             double *value, int64_t *n_below, int64_t *n_equal)


cdef extern from "wavesparse/mask.h" nogil:
    int ws_apply_threshold_f32(const ws_view *src, float t, float *out,
                               uint8_t *mask)
    int ws_apply_threshold_f64(const ws_view *src, double t, double *out,
                               uint8_t *mask)
    int ws_any_nan_f32(const ws_view *views, size_t count)
    int ws_any_nan_f64(const ws_view *views, size_t count)


cdef extern from "wavesparse/convert.h" nogil:
    int WS_KEEP_NONZERO
    int WS_KEEP_ABOVE
    int WS_KEEP_MASKED
    int WS_BLOCK_NONZERO
    int WS_BLOCK_L1
    int WS_BLOCK_L2
    int ws_csr_count_f32(const ws_view *src, int keep, float threshold,
                         const ws_view *mask, int64_t *row_nnz)
    int ws_csr_count_f64(const ws_view *src, int keep, double threshold,
                         const ws_view *mask, int64_t *row_nnz)
    int ws_csr_fill_f32_i32(const ws_view *src, int keep, float threshold,
                            const ws_view *mask, const int32_t *indptr,
                            float *data, int32_t *indices)
    int ws_csr_fill_f32_i64(const ws_view *src, int keep, float threshold,
                            const ws_view *mask, const int64_t *indptr,
                            float *data, int64_t *indices)
    int ws_csr_fill_f64_i32(const ws_view *src, int keep, double threshold,
                            const ws_view *mask, const int32_t *indptr,
                            double *data, int32_t *indices)
    int ws_csr_fill_f64_i64(const ws_view *src, int keep, double threshold,
                            const ws_view *mask, const int64_t *indptr,
                            double *data, int64_t *indices)
    int ws_bsr_count_f32(const ws_view *src, int64_t br, int64_t bc, int keep,
                         double threshold, uint8_t *kept, int64_t *brow_nnz)
    int ws_bsr_count_f64(const ws_view *src, int64_t br, int64_t bc, int keep,
                         double threshold, uint8_t *kept, int64_t *brow_nnz)
    int ws_bsr_fill_f32_i32(const ws_view *src, int64_t br, int64_t bc,
                            const uint8_t *kept, const int32_t *indptr,
                            float *data, int32_t *indices)
    int ws_bsr_fill_f32_i64(const ws_view *src, int64_t br, int64_t bc,
                            const uint8_t *kept, const int64_t *indptr,
                            float *data, int64_t *indices)
    int ws_bsr_fill_f64_i32(const ws_view *src, int64_t br, int64_t bc,
                            const uint8_t *kept, const int32_t *indptr,
                            double *data, int32_t *indices)
    int ws_bsr_fill_f64_i64(const ws_view *src, int64_t br, int64_t bc,
                            const uint8_t *kept, const int64_t *indptr,
                            double *data, int64_t *indices)


cdef inline uintptr_t address_of(object array):
    """The address of an ndarray's first element."""
    return <uintptr_t>array.__array_interface__["data"][0]


cdef inline int fill_view(ws_view *view, object array) except -1:
    """Describes a non-empty 2-D ndarray as a ws_view (strides in elements)."""
    cdef Py_ssize_t itemsize = array.itemsize
    rs, cs = array.strides
    if rs % itemsize or cs % itemsize:
        raise ValueError("array strides must be whole elements, got %r"
                         % (array.strides,))
    view.data = <const void *>address_of(array)
    view.rows = array.shape[0]
    view.cols = array.shape[1]
    view.row_stride = rs // itemsize
    view.col_stride = cs // itemsize
    return 0


cdef inline ws_view *new_views(list arrays) except NULL:
    """The ws_views of non-empty 2-D ndarrays, in a block the caller frees."""
    cdef Py_ssize_t count = len(arrays)
    # One more than needed: malloc(0) may return NULL.
    cdef ws_view *views = <ws_view *>malloc((count + 1) * sizeof(ws_view))
    if views == NULL:
        raise MemoryError("no memory for %d array views" % count)
    try:
        for i in range(count):
            fill_view(&views[i], arrays[i])
    except BaseException:
        free(views)
        raise
    return views


cdef inline int check_status(int status, str argument) except -1:
    """Raises the exception a C status calls for; `argument` names the input."""
    if status == WS_OK:
        return 0
    if status == WS_ERR_NAN:
        raise ValueError("%s holds NaN; pruning and packing need finite or "
                         "infinite values, not NaN" % argument)
    if status == WS_ERR_NOMEM:
        raise MemoryError("scratch memory for %s could not be allocated"
                          % argument)
    raise RuntimeError("C kernel failed on %s: %s"
                       % (argument, ws_status_name(status).decode()))


cdef extern from "wavesparse/spmm.h" nogil:
    ctypedef struct ws_dense:
        void *data
        int64_t rows
        int64_t cols
        int64_t row_stride
        int64_t col_stride
    int ws_csr_spmm_f32_i32(int64_t m, const int32_t *indptr, const int32_t *indices,
                            const float *data, const ws_dense *x, ws_dense *y)
    int ws_csr_spmm_f32_i64(int64_t m, const int64_t *indptr, const int64_t *indices,
                            const float *data, const ws_dense *x, ws_dense *y)
    int ws_csr_spmm_f64_i32(int64_t m, const int32_t *indptr, const int32_t *indices,
                            const double *data, const ws_dense *x, ws_dense *y)
    int ws_csr_spmm_f64_i64(int64_t m, const int64_t *indptr, const int64_t *indices,
                            const double *data, const ws_dense *x, ws_dense *y)
    int ws_bsr_spmm_f32_i32(int64_t block_rows, int64_t br, int64_t bc,
                            const int32_t *indptr, const int32_t *indices,
                            const float *data, const ws_dense *x, ws_dense *y)
    int ws_bsr_spmm_f32_i64(int64_t block_rows, int64_t br, int64_t bc,
                            const int64_t *indptr, const int64_t *indices,
                            const float *data, const ws_dense *x, ws_dense *y)
    int ws_bsr_spmm_f64_i32(int64_t block_rows, int64_t br, int64_t bc,
                            const int32_t *indptr, const int32_t *indices,
                            const double *data, const ws_dense *x, ws_dense *y)
    int ws_bsr_spmm_f64_i64(int64_t block_rows, int64_t br, int64_t bc,
                            const int64_t *indptr, const int64_t *indices,
                            const double *data, const ws_dense *x, ws_dense *y)
