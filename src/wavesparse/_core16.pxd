# Declarations of the 16-bit kernels (select16.h).
from libc.stdint cimport int64_t, uint8_t, uint16_t

from wavesparse._core cimport ws_view


cdef extern from "wavesparse/select16.h" nogil:
    enum: WS_KEYS16
    int ws_histogram16(const ws_view *views, size_t count, uint16_t inf_key,
                       int64_t *hist)
    int ws_threshold16(const ws_view *src, uint16_t t_key, uint16_t inf_key,
                       uint16_t *out, uint8_t *mask)
    int ws_threshold_ties16(const ws_view *src, uint16_t t_key, uint16_t inf_key,
                            int64_t ties, uint16_t *out, uint8_t *mask,
                            int64_t *ties_pruned)
