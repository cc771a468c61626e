"""DeviceArray: weights uploaded once, then pruned, packed and multiplied on
the OpenCL device.

Examples
--------
>>> import numpy as np
>>> from wavesparse import opencl
>>> from wavesparse.opencl import DeviceArray
>>> ok, _ = opencl.available()
>>> w = np.arange(1.0, 9.0, dtype=np.float32).reshape(2, 4)
>>> d = DeviceArray(w) if ok else None
>>> d.prune(0.5).to_csr().toarray() if ok else np.where(w > 4, w, 0)
array([[0., 0., 0., 0.],
       [5., 6., 7., 8.]], dtype=float32)
"""

import numpy as np
import scipy.sparse as sp

from wavesparse import _validate as check
from wavesparse._ties import keep_later_ties, strictly_above
from wavesparse._dispatch import (INT32_MAX, assemble, blocksize as block_shape,
                                  check_device_size, refuse_nan)
from wavesparse.opencl import formats as device_formats
from wavesparse.opencl import ops as device_ops
from wavesparse.opencl.calls import real_options, upload
from wavesparse.opencl.session import session as current_session

__all__ = ["DeviceArray"]


class DeviceArray:
    """A float32/float64 array held in an OpenCL buffer (C order).

    Parameters
    ----------
    w : array_like
        float32 or float64, any shape and memory order, no NaN; uploaded once.

    Raises
    ------
    OpenCLUnavailable
        Where no OpenCL device can be used.
    ValueError
        For NaN (checked before anything is uploaded), other dtypes, empty
        arrays or more than 2**31 - 1 elements.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import opencl
    >>> from wavesparse.opencl import DeviceArray
    >>> ok, _ = opencl.available()
    >>> DeviceArray(np.ones((2, 3), np.float32)).shape if ok else (2, 3)
    (2, 3)
    """

    def __init__(self, w):
        w = check.float_array(w, "w")
        if w.size == 0:
            raise ValueError("w must have 1 to 2**31 - 1 elements, got 0")
        check_device_size(w.size, "w")
        self.session = current_session()
        if w.dtype == np.float64:
            real_options(self.session, w.dtype)  # raises without fp64
        self.shape, self.dtype, self.size = w.shape, w.dtype, w.size
        refuse_nan([w], "w")
        self.buffer = upload(self.session, np.ascontiguousarray(w))

    @classmethod
    def _wrap(cls, session, buffer, shape, dtype):
        """A DeviceArray over a buffer a kernel filled (nothing uploaded)."""
        self = cls.__new__(cls)
        self.session, self.buffer = session, buffer
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.size = int(np.prod(self.shape))
        return self

    def download(self):
        """The array, read back from the device.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import opencl
        >>> from wavesparse.opencl import DeviceArray
        >>> ok, _ = opencl.available()
        >>> DeviceArray(np.eye(2)).download() if ok else np.eye(2)
        array([[1., 0.],
               [0., 1.]])
        """
        out = np.empty(self.shape, self.dtype)
        self.buffer.read(self.session.queue, out)
        return out

    def rank_magnitude(self, k):
        """``(value, n_below, n_equal)`` of the k-th smallest |w|, on the device.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import opencl
        >>> from wavesparse.opencl import DeviceArray
        >>> ok, _ = opencl.available()
        >>> w = np.float32([3, -1, 2, -2])
        >>> DeviceArray(w).rank_magnitude(2) if ok else (np.float32(2.0), 1, 2)
        (np.float32(2.0), 1, 2)
        """
        k = check.index(k, "k")
        if not 0 <= k < self.size:
            raise ValueError("k must be in [0, %d), got %d" % (self.size, k))
        return device_ops.select_in_buffers(self.session, [(self.buffer, self.size)],
                                             self.dtype, k)

    def threshold(self, t):
        """``(pruned DeviceArray, mask ndarray)`` keeping |w| >= t, on the device.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import opencl
        >>> from wavesparse.opencl import DeviceArray
        >>> ok, _ = opencl.available()
        >>> DeviceArray(np.float32([0.5, -2, 1])).threshold(1.0)[1] if ok else np.array([False, True, True])
        array([False,  True,  True])
        """
        t = check.threshold_for(t, self.dtype, "t")
        out, mask_buffer = device_ops.threshold_buffer(self.session, self.buffer,
                                                        self.size, self.dtype, t)
        mask = np.empty(self.shape, np.bool_)
        mask_buffer.read(self.session.queue, mask.view(np.uint8))
        return DeviceArray._wrap(self.session, out, self.shape, self.dtype), mask

    def prune(self, sparsity):
        """Zero exactly ``round(sparsity * n)`` smallest magnitudes.

        The threshold is selected and applied on the device; only when the
        threshold magnitude is shared by kept and pruned weights are the
        values read back to break the tie by position (as
        :class:`wavesparse.MagnitudePruner` does).

        Returns
        -------
        DeviceArray

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import opencl
        >>> from wavesparse.opencl import DeviceArray
        >>> ok, _ = opencl.available()
        >>> DeviceArray(np.float32([4, 1, 3, 2])).prune(0.5).download() if ok else np.float32([4, 0, 3, 0])
        array([4., 0., 3., 0.], dtype=float32)
        """
        sparsity = check.fraction(sparsity, "sparsity")
        k = int(round(sparsity * self.size))
        if k == 0:
            return self
        value, n_below, n_equal = self.rank_magnitude(k - 1)
        pruned, mask = self.threshold(strictly_above(value, self.dtype))
        if k - n_below < n_equal:
            w = self.download()
            results = [[pruned.download(), mask]]
            keep_later_ties([w], [None], results, value, k - n_below)
            return DeviceArray(results[0][0])
        return pruned

    def _matrix_shape(self):
        if len(self.shape) == 0:
            raise ValueError("a 0-d DeviceArray cannot be packed as a matrix: upload an "
                             "array of rank 1 or more")
        if len(self.shape) == 1:
            return (1, self.shape[0])
        return (self.shape[0], self.size // self.shape[0])

    def to_csr(self, threshold=None, *, _index_limit=INT32_MAX):
        """The array (as the matrix (shape[0], rest)) packed to CSR on the device.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import opencl
        >>> from wavesparse.opencl import DeviceArray
        >>> ok, _ = opencl.available()
        >>> DeviceArray(np.eye(3, dtype=np.float32)).to_csr().nnz if ok else 3
        3
        """
        keep, t = "nonzero", 0.0
        if threshold is not None:
            keep = "above"
            t = check.threshold_for(threshold, self.dtype, "threshold")
        shape = self._matrix_shape()
        parts = device_formats.csr_parts(self.session, self.buffer, shape, self.dtype,
                                          keep, t, None, _index_limit)
        return assemble(sp.csr_array, parts, shape)

    def to_bsr(self, blocksize, norm=None, threshold=0.0, *, _index_limit=INT32_MAX):
        """The matrix packed to BSR on the device; the block must divide it.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import opencl
        >>> from wavesparse.opencl import DeviceArray
        >>> ok, _ = opencl.available()
        >>> DeviceArray(np.eye(4, dtype=np.float32)).to_bsr(2).indices.tolist() if ok else [0, 1]
        [0, 1]
        """
        r, c = block_shape(blocksize)
        shape = self._matrix_shape()
        if shape[0] % r or shape[1] % c:
            raise ValueError("blocksize %s does not divide the shape %s"
                             % ((r, c), shape))
        if norm not in (None, "l1", "l2"):
            raise ValueError("norm must be None, 'l1' or 'l2', got %r" % (norm,))
        parts = device_formats.bsr_parts(self.session, self.buffer, shape, self.dtype,
                                          (r, c), norm or "nonzero",
                                          check.real_scalar(threshold, "threshold"),
                                          _index_limit)
        return assemble(sp.bsr_array, parts, shape, blocksize=(r, c))

    def sparse_linear(self, format="csr", blocksize=16):
        """A :class:`wavesparse.SparseLinear` on OpenCL over this array's
        nonzeros: packed here, its weights uploaded once for every product.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import opencl
        >>> from wavesparse.opencl import DeviceArray
        >>> ok, _ = opencl.available()
        >>> layer = DeviceArray(np.eye(2, dtype=np.float32)).sparse_linear() if ok else None
        >>> layer(np.float32([[1, 2]])) if ok else np.float32([[1, 2]])
        array([[1., 2.]], dtype=float32)
        """
        from wavesparse.layers import SparseLinear
        if not isinstance(format, str):
            raise TypeError("format must be 'csr' or 'bsr', got %r" % (format,))
        if format not in ("csr", "bsr"):
            raise ValueError("format must be 'csr' or 'bsr', got %r" % (format,))
        packed = self.to_csr() if format == "csr" else self.to_bsr(blocksize)
        return SparseLinear(packed, backend="opencl")

    def __repr__(self):
        return "<DeviceArray %s %s on %r>" % (self.dtype, self.shape, self.session.device.name)
