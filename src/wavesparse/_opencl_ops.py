"""The OpenCL side of wavesparse.ops: upload, run a kernel, download.

Callers (wavesparse.ops) have validated the arguments and checked for NaN.
"""

import numpy as np

from wavesparse import _opencl, opencl
from wavesparse.errors import OpenCLUnavailable

# One fixed work-group size: PoCL re-specialises a kernel per local size, and
# 256 is the most the RX 580 runs at full occupancy with these kernels.
LOCAL_SIZE = 256
# Work-groups per compute unit in a grid-stride launch.
GROUPS_PER_UNIT = 16


def real_options(session, dtype):
    """Build options for a kernel templated on REAL (float or double)."""
    if dtype == np.float32:
        return "-DREAL=float"
    if not session.device.has_fp64:
        raise OpenCLUnavailable("device %r has no fp64 (cl_khr_fp64): float64 "
                                "weights must run on the CPU backend"
                                % session.device.name)
    return "-DREAL=double -DWS_FP64"


def local_size(session):
    return min(LOCAL_SIZE, session.device.max_work_group_size)


def grid_size(session, n):
    """A 1-D global size for a grid-stride kernel over n elements."""
    local = local_size(session)
    groups = min(-(-n // local), session.device.compute_units * GROUPS_PER_UNIT)
    return max(groups, 1) * local


def upload(session, array, flags="r"):
    """A device buffer holding a C-contiguous copy of ``array``."""
    host = np.ascontiguousarray(array)
    buffer = _opencl.Buffer(session.context, host.nbytes, flags)
    buffer.write(session.queue, host)
    return buffer


def apply_threshold(w, t):
    """``(pruned, mask)`` like wavesparse.ops.apply_threshold, on the device."""
    n = w.size
    if n > (1 << 31) - 1:
        raise ValueError("w has %d elements; the OpenCL kernels take at most "
                         "2**31 - 1 per call" % n)
    session = opencl.session()
    order = "F" if (w.flags.f_contiguous and not w.flags.c_contiguous) else "C"
    flat = w.ravel(order=order)
    program = opencl.get_program(session, "mask.cl",
                                 real_options(session, w.dtype))
    kernel = _opencl.Kernel(program, "apply_threshold")
    src = upload(session, flat)
    out = _opencl.Buffer(session.context, flat.nbytes, "w")
    mask_buffer = _opencl.Buffer(session.context, n, "w")
    kernel.set_arg(0, src)
    kernel.set_arg(1, w.dtype.type(t))
    kernel.set_arg(2, out)
    kernel.set_arg(3, mask_buffer)
    kernel.set_arg(4, np.uint32(n))
    kernel.enqueue(session.queue, (grid_size(session, n),),
                   (local_size(session),))
    pruned = np.empty(n, dtype=w.dtype)
    mask = np.empty(n, dtype=np.bool_)
    out.read(session.queue, pruned)
    mask_buffer.read(session.queue, mask.view(np.uint8))
    return pruned.reshape(w.shape, order=order), mask.reshape(w.shape, order=order)


# Work-group of the products: columns x rows.
SPMM_GROUP = (64, 4)


def spmm(kind, data, indices, indptr, blocksize, shape, X):
    """``A @ X`` on the device for CSR/BSR parts (X 2-D, dtypes checked)."""
    session = opencl.session()
    options = real_options(session, data.dtype) + " -DINDEX=%s" % (
        "long" if indices.dtype == np.int64 else "int")
    program = opencl.get_program(session, "spmm.cl", options)
    m, n = shape[0], X.shape[1]
    x = np.ascontiguousarray(X)
    buffers = [upload(session, indptr), upload(session, indices),
               upload(session, data), upload(session, x)]
    y = np.empty((m, n), dtype=data.dtype)
    out = _opencl.Buffer(session.context, y.nbytes, "w")
    if kind == "csr":
        kernel = _opencl.Kernel(program, "csr_spmm")
        args = buffers[:3] + [buffers[3], np.uint64(n), out, np.uint64(n),
                              np.uint64(m), np.uint64(n)]
    else:
        kernel = _opencl.Kernel(program, "bsr_spmm")
        args = buffers[:3] + [np.uint32(blocksize[0]), np.uint32(blocksize[1]),
                              buffers[3], np.uint64(n), out, np.uint64(n),
                              np.uint64(m), np.uint64(n)]
    for i, arg in enumerate(args):
        kernel.set_arg(i, arg)
    gx, gy = SPMM_GROUP
    kernel.enqueue(session.queue, (-(-n // gx) * gx, -(-m // gy) * gy), SPMM_GROUP)
    out.read(session.queue, y)
    return np.asfortranarray(y) if (X.flags.f_contiguous and not X.flags.c_contiguous) else y
