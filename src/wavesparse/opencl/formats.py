"""The OpenCL side of wavesparse.formats: dense to CSR and BSR on the device.

Callers have validated the arguments and refused NaN.  Every function takes
the matrix as a device buffer (row-major, C-contiguous) so that a
:class:`wavesparse.opencl.DeviceArray` is packed where it lies; the parts come
back as numpy arrays.
"""

import numpy as np

from wavesparse._dispatch import index_dtype
from wavesparse.opencl import _runtime
from wavesparse.opencl.calls import index_option, real_options, run, upload
from wavesparse.opencl.session import get_program

# Work-items of a scan group: each scans 2 * SCAN values (4 KB of ulong).
SCAN = 256
KEEP_RULES = {"nonzero": 0, "above": 1, "mask": 2}
BLOCK_RULES = {"nonzero": 0, "l1": 1, "l2": 2}


def _options(session, dtype, index, extra=""):
    options = real_options(session, dtype) + index_option(index)
    if session.device.has_fp64:
        options += " -DACC=double"
        if "-DWS_FP64" not in options:
            options += " -DWS_FP64"
    else:
        options += " -DACC=float"
    return options + " -DWAVE=%d -DSCAN=%d %s" % (session.wavefront(), SCAN, extra)


def exclusive_scan(session, program, values, n):
    """Scans n ulongs of ``values`` in place (exclusive), on the device.

    Blocks of 2 * SCAN are scanned in local memory; their sums are scanned the
    same way (recursively) and added back.
    """
    block = 2 * SCAN
    groups = -(-n // block)
    sums = _runtime.Buffer(session.context, groups * 8)
    run(session, program, "scan_blocks", [values, np.uint64(n), sums],
         (groups * SCAN,), (SCAN,))
    if groups > 1:
        exclusive_scan(session, program, sums, groups)
        local = min(256, session.device.max_work_group_size)
        run(session, program, "add_block_offsets", [values, np.uint64(n), sums],
             (-(-n // local) * local,), (local,))


def _read_last(session, buffer, n):
    """The n-th ulong of a buffer (one 8-byte read)."""
    out = np.empty(1, np.uint64)
    buffer.read(session.queue, out, offset=8 * n)
    return int(out[0])


def csr_parts(session, source, shape, dtype, keep, threshold, mask, index_limit):
    """``(data, indices, indptr)`` of the row-major matrix in buffer ``source``."""
    rows, cols = shape
    counts_program = get_program(
        session, "convert.cl", _options(session, dtype, np.int32,
                                        "-DKEEP=%d" % KEEP_RULES[keep]))
    mask_buffer = (upload(session, np.ascontiguousarray(mask, dtype=np.uint8))
                   if keep == "mask" else _runtime.Buffer(session.context, 1))
    t = dtype.type(threshold)
    offsets = _runtime.Buffer(session.context, 8 * (rows + 1))
    offsets.fill(session.queue, np.uint64(0))
    wave = session.wavefront()
    run(session, counts_program, "csr_count",
         [source, mask_buffer, np.uint64(rows), np.uint64(cols), t, offsets],
         (rows * wave,), (wave,))
    exclusive_scan(session, counts_program, offsets, rows + 1)
    nnz = _read_last(session, offsets, rows)
    index = index_dtype(max(rows, cols, nnz), index_limit)
    program = get_program(
        session, "convert.cl", _options(session, dtype, index,
                                        "-DKEEP=%d" % KEEP_RULES[keep]))
    indptr = np.empty(rows + 1, index)
    data = np.empty(nnz, dtype)
    indices = np.empty(nnz, index)
    indptr_buffer = _runtime.Buffer(session.context, indptr.nbytes)
    data_buffer = _runtime.Buffer(session.context, max(data.nbytes, 1))
    indices_buffer = _runtime.Buffer(session.context, max(indices.nbytes, 1))
    run(session, program, "csr_fill",
         [source, mask_buffer, np.uint64(rows), np.uint64(cols), t, offsets,
          data_buffer, indices_buffer, indptr_buffer], (rows * wave,), (wave,))
    indptr_buffer.read(session.queue, indptr)
    if nnz:
        data_buffer.read(session.queue, data)
        indices_buffer.read(session.queue, indices)
    return data, indices, indptr


def bsr_parts(session, source, shape, dtype, block, rule, threshold, index_limit):
    """``(data, indices, indptr)`` of the row-major matrix in buffer ``source``,
    whose shape the block (R, C) divides."""
    (rows, cols), (br, bc) = shape, block
    block_rows, block_cols = rows // br, cols // bc
    extra = "-DBR=%d -DBC=%d -DBLOCK_RULE=%d" % (br, bc, BLOCK_RULES[rule])
    program = get_program(session, "convert.cl", _options(session, dtype, np.int32, extra))
    acc = np.float64 if session.device.has_fp64 else np.float32
    flags = _runtime.Buffer(session.context, block_rows * block_cols)
    group = (16, 16)
    run(session, program, "bsr_flags",
         [source, np.uint64(block_rows), np.uint64(block_cols), acc(threshold), flags],
         (-(-block_cols // 16) * 16, -(-block_rows // 16) * 16), group)
    offsets = _runtime.Buffer(session.context, 8 * (block_rows + 1))
    offsets.fill(session.queue, np.uint64(0))
    local = min(256, session.device.max_work_group_size)
    run(session, program, "bsr_row_counts",
         [flags, np.uint64(block_rows), np.uint64(block_cols), offsets],
         (-(-block_rows // local) * local,), (local,))
    exclusive_scan(session, program, offsets, block_rows + 1)
    nnzb = _read_last(session, offsets, block_rows)
    index = index_dtype(max(block_rows, block_cols, nnzb), index_limit)
    if index == np.int64:
        program = get_program(session, "convert.cl",
                                     _options(session, dtype, index, extra))
    indptr = np.empty(block_rows + 1, index)
    indices = np.empty(nnzb, index)
    data = np.empty((nnzb, br, bc), dtype)
    slots = _runtime.Buffer(session.context, 8 * block_rows * block_cols)
    indptr_buffer = _runtime.Buffer(session.context, indptr.nbytes)
    indices_buffer = _runtime.Buffer(session.context, max(indices.nbytes, 1))
    data_buffer = _runtime.Buffer(session.context, max(data.nbytes, 1))
    run(session, program, "bsr_positions",
         [flags, np.uint64(block_rows), np.uint64(block_cols), offsets, slots,
          indices_buffer, indptr_buffer], (-(-block_rows // local) * local,), (local,))
    run(session, program, "bsr_copy",
         [source, np.uint64(block_rows), np.uint64(block_cols), slots, data_buffer],
         (-(-cols // 16) * 16, -(-rows // 16) * 16), group)
    indptr_buffer.read(session.queue, indptr)
    if nnzb:
        indices_buffer.read(session.queue, indices)
        data_buffer.read(session.queue, data)
    return data, indices, indptr
