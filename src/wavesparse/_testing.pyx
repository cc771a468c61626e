# cython: language_level=3, boundscheck=False, wraparound=False
"""Test-only hooks into the compiled layers; not part of the production path.

Built with ``install_tag: 'tests'`` (as SciPy's ``_test_ccallback`` and
NumPy's ``_multiarray_tests`` are), so a build installed with
``--tags=runtime,python-runtime`` leaves it out and the tests that need it
skip.  ``pip install .`` installs every tag, this module included.

Two kinds of hooks:

* The C helpers every CPU kernel uses (``src/csrc/common.c``), as ``def``
  wrappers that tests compare with numpy and formulas: how a range of the
  elements of many views splits into runs within one row, how work splits
  over threads, status names and the exception each status becomes.  The
  static library ws_core is linked in here as in each kernel module; those
  helpers keep no state, so the copies cannot disagree.
* The OpenCL runtime's probes: counts of live buffers, programs and kernels,
  and a fault hook that makes the next buffer allocation or build return a
  given status.  They must exist once per process, so they are not C of a
  static library (each extension linking it would get its own copy): they
  are one struct, ``RuntimeProbes``, kept by ``wavesparse.opencl._runtime``
  and reached through its ``cdef`` function ``runtime_probes()``, which
  Cython exports through ``_runtime``'s ``__pyx_capi__`` and this module
  cimports.  The runtime itself has nothing public for them.
"""
from libc.stdlib cimport free
from libc.stdint cimport int64_t

from wavesparse._core cimport (
    ws_view, ws_cursor, new_views, check_status,
    ws_status_name, ws_max_threads, ws_threads_for, ws_thread_range,
    ws_cursor_init, ws_segment_next, ws_views_size,
    WS_OK, WS_ERR_NAN, WS_ERR_RANGE, WS_ERR_NOMEM, WS_ERR_ARGUMENT,
    WS_ERR_OVERFLOW,
)
from wavesparse.opencl._runtime cimport RuntimeProbes, runtime_probes

import numpy as np


# ------------------------------------------------------------ statuses

def status_codes():
    """The ws_status codes by name, as the kernels' declarations give them."""
    return {"WS_OK": WS_OK, "WS_ERR_NAN": WS_ERR_NAN,
            "WS_ERR_RANGE": WS_ERR_RANGE, "WS_ERR_NOMEM": WS_ERR_NOMEM,
            "WS_ERR_ARGUMENT": WS_ERR_ARGUMENT,
            "WS_ERR_OVERFLOW": WS_ERR_OVERFLOW}


def status_name(int status):
    """ws_status_name(status)."""
    return ws_status_name(status).decode()


def raise_for_status(int status, str argument):
    """What the kernel wrappers do with a status: nothing, or raise."""
    check_status(status, argument)


# ------------------------------------------------------------- threads

def max_threads():
    """ws_max_threads(): 1 in a build without OpenMP."""
    return ws_max_threads()


def threads_for(int64_t work):
    """ws_threads_for(work): the threads a kernel uses for `work` elements."""
    return ws_threads_for(work)


def thread_range(int64_t n, int threads, int t):
    """ws_thread_range: the elements [lo, hi) of n that thread t takes."""
    cdef int64_t lo = 0, hi = 0
    if threads < 1 or not 0 <= t < threads:
        raise ValueError("need 0 <= t < threads, got t=%d, threads=%d"
                         % (t, threads))
    ws_thread_range(n, threads, t, &lo, &hi)
    return lo, hi


# ---------------------------------------------------------------- views

def views_size(list arrays):
    """ws_views_size over 2-D arrays: their elements together."""
    cdef ws_view *views = new_views(arrays)
    try:
        return ws_views_size(views, len(arrays))
    finally:
        free(views)


def segments(list arrays, int64_t position, int64_t end):
    """The runs ws_segment_next gives over elements [position, end).

    `arrays` are 2-D float64 arrays of any strides, numbered one after the
    other in row-major order.  Returns a list of ``(view, values)``: the
    index of the array a run lies in and the run's elements, read through
    the address, length and stride that ws_segment_next gave.
    """
    cdef ws_view *views = new_views(arrays)
    cdef ws_cursor cursor
    cdef const char *first = NULL
    cdef int64_t length = 0, stride = 0, i
    cdef double[::1] out
    runs = []
    try:
        for array in arrays:
            if array.dtype != np.float64:
                raise TypeError("arrays must be float64, got %s" % array.dtype)
        ws_cursor_init(&cursor, views, len(arrays), position, end)
        while ws_segment_next(&cursor, sizeof(double), &first, &length,
                              &stride):
            values = np.empty(length)
            out = values
            for i in range(length):
                out[i] = (<const double *>first)[i * stride]
            runs.append((cursor.view, values))
    finally:
        free(views)
    return runs


# ------------------------------------------------------ OpenCL runtime

def live_objects():
    """Counts of OpenCL buffers (and their bytes), programs and kernels alive."""
    cdef RuntimeProbes *probes = runtime_probes()
    return {"buffers": probes.buffers, "buffer_bytes": probes.buffer_bytes,
            "programs": probes.programs, "kernels": probes.kernels}


def inject_failure(str what, int code):
    """Make the next buffer allocation (``"buffer"``) or build (``"build"``)
    fail with the OpenCL status ``code``, without calling OpenCL."""
    cdef RuntimeProbes *probes = runtime_probes()
    if code == 0:
        raise ValueError("code must be a failing OpenCL status (nonzero), got 0")
    if what == "buffer":
        probes.fail_next_buffer = code
    elif what == "build":
        probes.fail_next_build = code
    else:
        raise ValueError("what must be 'buffer' or 'build', got %r" % what)
