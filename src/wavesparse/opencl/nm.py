"""The N:M product on the device (behind :func:`wavesparse.formats_nm.nm_spmm`).

Callers have validated the arguments.
"""

import numpy as np

from wavesparse._dispatch import check_device_size
from wavesparse.opencl import _runtime
from wavesparse.opencl.calls import real_options, run, upload
from wavesparse.opencl.session import get_program, session as current_session

__all__ = ["NMDeviceMatrix"]


class NMDeviceMatrix:
    """An :class:`~wavesparse.formats_nm.NMArray` uploaded once, multiplied on
    the device many times; its buffers live as long as this object."""

    def __init__(self, A):
        check_device_size(A.values.size, "A")
        self.session = current_session()
        self.shape, self.dtype, self.groups = A.shape, A.dtype, A.groups
        self.wave = self.session.wavefront()
        options = real_options(self.session, A.dtype) + " -DNM_N=%d -DNM_M=%d -DWAVE=%d" % (
            A.n, A.m, self.wave)
        self.program = get_program(self.session, "spmm_nm.cl", options)
        self.values = upload(self.session, A.values)
        self.positions = upload(self.session, A.positions)

    def matmul(self, X):
        """``A @ X`` for a C-contiguous 2-D X of the matrix's dtype; numpy out."""
        (rows, cols), nx = self.shape, X.shape[1]
        check_device_size(X.size, "X")
        xbuf = upload(self.session, X)
        y = np.empty((rows, nx), self.dtype)
        out = _runtime.Buffer(self.session.context, y.nbytes, "w")
        run(self.session, self.program, "nm_spmm",
            [self.values, self.positions, xbuf, np.uint64(nx), out, np.uint64(nx),
             np.uint64(cols), np.uint64(self.groups), np.uint64(nx)],
            (-(-nx // self.wave) * self.wave, rows), (self.wave, 1))
        out.read(self.session.queue, y)
        return y
