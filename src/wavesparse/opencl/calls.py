"""What every OpenCL kernel call shares: build options, work sizes, uploads.

Callers have validated their arguments (see :mod:`wavesparse._dispatch`).
"""

import numpy as np

from wavesparse.errors import OpenCLUnavailable
from wavesparse.opencl import _runtime
from wavesparse.opencl.session import launch

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


def value_options(session, dtype):
    """Build options for the products' stored values (see ``kernels/storage.cl``).

    float32/float64 as :func:`real_options`; float16 and bfloat16 are summed
    as float on every device, read through ``vload_half`` or as shifted
    ``ushort`` (no cl_khr_fp16 needed).
    """
    from wavesparse.halfs import BFLOAT16
    if dtype == np.float16:
        return "-DREAL=float -DA_HALF"
    if dtype == BFLOAT16:
        return "-DREAL=float -DA_BF16"
    return real_options(session, dtype)


def product_source(name):
    """The source of the product ``kernels/<name>`` behind ``storage.cl``."""
    from wavesparse.opencl.session import kernel_source
    return kernel_source("storage.cl") + kernel_source(name)


def local_size(session):
    return min(LOCAL_SIZE, session.device.max_work_group_size)


def grid_size(session, n):
    """A 1-D global size for a grid-stride kernel over n elements.

    On a GPU a few work-groups per compute unit loop over the data; a CPU
    device (PoCL) vectorises across the work-items of a group, not along a
    work-item's loop, so there every element gets its own work-item.
    """
    local = local_size(session)
    groups = -(-n // local)
    if session.device.is_gpu:
        groups = min(groups, session.device.compute_units * GROUPS_PER_UNIT)
    return max(groups, 1) * local


def upload(session, array, flags="r"):
    """A device buffer holding a C-contiguous copy of ``array``."""
    host = np.ascontiguousarray(array)
    buffer = _runtime.Buffer(session.context, host.nbytes, flags)
    buffer.write(session.queue, host)
    return buffer


def index_option(index_dtype):
    """The build option of kernels templated on INDEX (int or long)."""
    return " -DINDEX=%s" % ("long" if index_dtype == np.int64 else "int")


def run(session, program, name, args, global_size, local=None):
    """Set ``args`` on kernel ``name`` of ``program`` and enqueue it."""
    kernel = _runtime.Kernel(program, name)
    for i, arg in enumerate(args):
        kernel.set_arg(i, arg)
    return launch(session, kernel, global_size, local)
