"""Kernels behind :mod:`wavesparse.ops` on the device: thresholds, radix
selection and CSR/BSR products.

Callers (wavesparse.ops, wavesparse.layers) have validated the arguments and
refused NaN.
"""

import numpy as np

from wavesparse._dispatch import check_device_size
from wavesparse.halfs import is_half
from wavesparse.opencl import _runtime
from wavesparse.opencl.calls import (GROUPS_PER_UNIT, grid_size, index_option,
                                      local_size, product_source, real_options, upload,
                                      value_options)
from wavesparse.opencl.session import get_program, launch, session as current_session


def apply_threshold(w, t):
    """``(pruned, mask)`` like wavesparse.ops.apply_threshold, on the device."""
    n = w.size
    check_device_size(n, "w")
    session = current_session()
    order = "F" if (w.flags.f_contiguous and not w.flags.c_contiguous) else "C"
    flat = w.ravel(order=order)
    out, mask_buffer = threshold_buffer(session, upload(session, flat), n, w.dtype, t)
    pruned = np.empty(n, dtype=w.dtype)
    mask = np.empty(n, dtype=np.bool_)
    out.read(session.queue, pruned)
    mask_buffer.read(session.queue, mask.view(np.uint8))
    return pruned.reshape(w.shape, order=order), mask.reshape(w.shape, order=order)


def threshold_buffer(session, source, n, dtype, t):
    """Device buffers (pruned, mask) of n elements of ``source``: |w| >= t kept."""
    program = get_program(session, "mask.cl", real_options(session, dtype))
    kernel = _runtime.Kernel(program, "apply_threshold")
    out = _runtime.Buffer(session.context, n * dtype.itemsize)
    mask_buffer = _runtime.Buffer(session.context, n)
    kernel.set_arg(0, source)
    kernel.set_arg(1, dtype.type(t))  # t is already in the dtype's range
    kernel.set_arg(2, out)
    kernel.set_arg(3, mask_buffer)
    kernel.set_arg(4, np.uint32(n))
    launch(session, kernel, (grid_size(session, n),), (local_size(session),))
    return out, mask_buffer

class DeviceMatrix:
    """A CSR or BSR matrix uploaded once, multiplied on the device many times.

    ``parts`` are the :class:`wavesparse._dispatch.SparseParts` of the matrix;
    the buffers stay on the device as long as this object lives.  16-bit
    values stay 16-bit there and are summed in float32 (``dtype``, the
    result's, is then float32).
    """

    def __init__(self, parts):
        kind, data, indices, indptr, blocksize, shape = parts
        self.session = current_session()
        self.kind, self.shape = kind, tuple(shape)
        self.dtype = np.dtype(np.float32) if is_half(data.dtype) else data.dtype
        self.blocksize = tuple(blocksize)
        wave = self.session.wavefront()
        options = value_options(self.session, data.dtype) + index_option(indices.dtype)
        options += " -DWAVE=%d" % wave
        if kind == "csr":
            self.rows_per_group = max(1, min(4, self.session.device.max_work_group_size // wave))
            options += " -DROWS=%d" % self.rows_per_group
            self.program = get_program(self.session, product_source("spmm_csr.cl"),
                                       options)
        else:
            br, bc = self.blocksize
            lanes = max(1, min(br, self.session.device.max_work_group_size // wave, 4))
            while br % lanes:
                lanes -= 1
            self.lanes_r = lanes
            options += " -DBR=%d -DBC=%d -DLANES_R=%d" % (br, bc, lanes)
            self.program = get_program(self.session, product_source("spmm_bsr.cl"),
                                       options)
        self.wave = wave
        # GPUs get the kernels that stage nonzeros or blocks in local memory;
        # CPU devices the direct ones (see the kernels' notes).
        self.tiled = self.session.device.is_gpu
        self.indptr = upload(self.session, indptr)
        self.indices = upload(self.session, indices)
        self.data = upload(self.session, data)

    def matmul(self, X):
        """``A @ X`` for a 2-D X of ``dtype`` (or 16-bit, widened here); returns numpy."""
        m, n = self.shape[0], X.shape[1]
        x = np.ascontiguousarray(X, dtype=self.dtype)
        xbuf = upload(self.session, x)
        y = np.empty((m, n), dtype=self.dtype)
        out = _runtime.Buffer(self.session.context, y.nbytes, "w")
        if self.kind == "csr" and n == 1:
            kernel = _runtime.Kernel(self.program, "csr_spmv")
            args = [self.indptr, self.indices, self.data, xbuf, out, np.uint64(m)]
            group = self.wave * self.rows_per_group
            global_size = (-(-m // self.rows_per_group) * group,)
            local = (group,)
        elif self.kind == "csr":
            args = [self.indptr, self.indices, self.data, xbuf, np.uint64(n), out,
                    np.uint64(n), np.uint64(m), np.uint64(n)]
            local = (self.wave, self.rows_per_group)
            global_size = (-(-n // self.wave) * self.wave,
                           -(-m // self.rows_per_group) * self.rows_per_group)
            kernel = _runtime.Kernel(self.program, "csr_spmm" if self.tiled
                                    else "csr_spmm_direct")
        else:
            block_rows = m // self.blocksize[0]
            args = [self.indptr, self.indices, self.data, xbuf, np.uint64(n), out,
                    np.uint64(n), np.uint64(block_rows), np.uint64(n)]
            if self.tiled:
                kernel = _runtime.Kernel(self.program, "bsr_spmm")
                local = (self.wave, self.lanes_r)
                global_size = (-(-n // self.wave) * self.wave, block_rows * self.lanes_r)
            else:
                kernel = _runtime.Kernel(self.program, "bsr_spmm_direct")
                local = (self.wave, 1)
                global_size = (-(-n // self.wave) * self.wave, m)
        for i, arg in enumerate(args):
            kernel.set_arg(i, arg)
        launch(self.session, kernel, global_size, local)
        out.read(self.session.queue, y)
        return np.asfortranarray(y) if (X.flags.f_contiguous and not X.flags.c_contiguous) else y


# Radix selection: 11-bit digits from the top (11/10/10 for float32's 31-bit
# keys, 11/11/11/10/10/10 for float64's 63), a 2048-bin histogram per pass.
SELECT_BINS = 2048


def _digits(key_bits):
    widths, left = [], key_bits
    passes = -(-key_bits // 11)
    for i in range(passes):
        width = -(-left // (passes - i))
        widths.append(width)
        left -= width
    return widths


def kth_magnitude(arrays, k):
    """``(value, n_below, n_equal)`` like wavesparse.ops.rank_magnitude, with the
    histogram passes on the device; each array is uploaded once, never joined.
    """
    session = current_session()
    buffers = []
    for i, a in enumerate(arrays):
        check_device_size(a.size, "w[%d]" % i)
        buffers.append((upload(session, a.ravel(order="K")), a.size))
    return select_in_buffers(session, buffers, arrays[0].dtype, k)


def select_in_buffers(session, buffers, dtype, k):
    """Radix selection over device buffers [(buffer, n), ...] of one dtype."""
    program = get_program(session, "select.cl", real_options(session, dtype)
                                 + " -DBINS=%d" % SELECT_BINS)
    key_bits = 31 if dtype == np.float32 else 63
    key_type = np.uint32 if dtype == np.float32 else np.uint64
    rank = k
    hist = _runtime.Buffer(session.context, SELECT_BINS * 4)
    counts = np.empty(SELECT_BINS, np.uint32)
    kernel = _runtime.Kernel(program, "radix_histogram")
    prefix, consumed = 0, 0
    for width in _digits(key_bits):
        shift = key_bits - consumed - width
        total = np.zeros(SELECT_BINS, np.int64)
        for buffer, n in buffers:
            hist.fill(session.queue, np.uint32(0))
            for i, arg in enumerate([buffer, np.uint32(n), np.int32(consumed == 0),
                                     key_type(prefix), np.uint32(key_bits - consumed),
                                     np.uint32(shift), hist]):
                kernel.set_arg(i, arg)
            # A few groups per compute unit, whatever the device: each group
            # clears and merges its 2048 bins once.
            groups = min(-(-n // local_size(session)),
                         session.device.compute_units * GROUPS_PER_UNIT)
            launch(session, kernel, (groups * local_size(session),),
                          (local_size(session),))
            hist.read(session.queue, counts)
            total += counts
        below = np.cumsum(total)
        bucket = int(np.searchsorted(below, k, side="right"))
        k -= int(below[bucket - 1]) if bucket else 0
        prefix = (prefix << width) | bucket
        consumed += width
        remaining = int(total[bucket])
    value = np.array([prefix], dtype=key_type).view(dtype)[0]
    return value, rank - k, remaining
