# Declarations of the N:M product (include/wavesparse/nm.h).
from libc.stdint cimport int64_t, uint8_t


cdef extern from "wavesparse/nm.h" nogil:
    int ws_nm_spmm_f32(int64_t rows, int64_t cols, int64_t n, int64_t m,
                       const float *values, const uint8_t *positions,
                       const float *x, int64_t ldx, int64_t nx, float *y,
                       int64_t ldy)
    int ws_nm_spmm_f64(int64_t rows, int64_t cols, int64_t n, int64_t m,
                       const double *values, const uint8_t *positions,
                       const double *x, int64_t ldx, int64_t nx, double *y,
                       int64_t ldy)
