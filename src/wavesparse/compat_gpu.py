"""GPUSparseOperations: the original design's device-side SparseOperations,
beside :mod:`wavesparse.compat` (its CPU twin) above the OpenCL layer.

The same methods as :class:`wavesparse.SparseOperations` (``analyze_sparsity``,
``to_csr``, ``to_bsr``, ``sparse_matmul``), every one on the OpenCL device:
dense input is uploaded once (or taken where it lies, as a
:class:`~wavesparse.opencl.DeviceArray`) and packed there, and a sparse
weight matrix multiplied once stays resident on the device for every later
product with it.

Examples
--------
>>> import numpy as np
>>> from wavesparse import GPUSparseOperations, opencl
>>> ok, _ = opencl.available()
>>> ops = GPUSparseOperations() if ok else None
>>> A = ops.to_csr(np.float32([[0, 2], [1, 0]])) if ok else None
>>> ops.sparse_matmul(A, np.float32([[1], [3]])) if ok else np.float32([[6], [1]])
array([[6.],
       [1.]], dtype=float32)
"""

import numpy as np
import scipy.sparse as sp

from wavesparse import _validate as check
from wavesparse._dispatch import blocksize as block_shape, sparse_parts
from wavesparse.compat import SparseTensorConfig
from wavesparse.formats_nm import NMArray
from wavesparse.opencl.device_array import DeviceArray
from wavesparse.opencl.nm import NMDeviceMatrix
from wavesparse.opencl.ops import DeviceMatrix
from wavesparse.opencl.session import session as current_session

__all__ = ["GPUSparseOperations"]


class GPUSparseOperations:
    """:class:`wavesparse.SparseOperations` with the work on the OpenCL device.

    Parameters
    ----------
    config : SparseTensorConfig, optional
        Its ``block_size`` is the block edge of :meth:`to_bsr` and of the BSR
        figures of :meth:`analyze_sparsity`.

    Raises
    ------
    OpenCLUnavailable
        Where no OpenCL device can be used (with the reason).

    Attributes
    ----------
    resident : dict
        The sparse matrices uploaded by :meth:`sparse_matmul`, by ``id``;
        :meth:`release` frees them.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import GPUSparseOperations, opencl
    >>> ok, _ = opencl.available()
    >>> r = GPUSparseOperations().analyze_sparsity(np.eye(4, dtype=np.float32)) if ok else {"sparsity": 0.75}
    >>> r["sparsity"]
    0.75
    """

    def __init__(self, config=None):
        if config is not None and not isinstance(config, SparseTensorConfig):
            raise TypeError("config must be a SparseTensorConfig, got %s"
                            % type(config).__name__)
        self.config = config or SparseTensorConfig()
        self.session = current_session()
        self.resident = {}

    def _on_device(self, t, name):
        """``t`` as a 2-D DeviceArray (rank 1: one row; rank >= 3: (shape[0], rest))."""
        if isinstance(t, DeviceArray):
            if len(t.shape) == 2:
                return t
            t = t.download()
        t = check.float_array(t, name)
        if t.ndim != 2:
            t = t.reshape(1, -1) if t.ndim < 2 else t.reshape(t.shape[0], -1)
        return DeviceArray(t)

    def analyze_sparsity(self, t):
        """Counts and bytes of dense, CSR and BSR forms, as
        :meth:`wavesparse.SparseOperations.analyze_sparsity` gives them, with
        the CSR and BSR forms packed on the device.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import GPUSparseOperations, opencl
        >>> ok, _ = opencl.available()
        >>> r = GPUSparseOperations().analyze_sparsity(np.zeros((2, 3))) if ok else None
        >>> (r["total"], r["nonzero"], r["zeros"]) if ok else (6, 0, 6)
        (6, 0, 6)
        """
        shape = tuple(t.shape) if isinstance(t, DeviceArray) else tuple(np.shape(t))
        if sp.issparse(t):
            t = t.toarray()
        device = self._on_device(t, "t")
        rows, cols = device.shape
        r, c = block_shape(self.config.block_size)
        csr = device.to_csr()
        if rows % r or cols % c:
            padded = np.zeros((-(-rows // r) * r, -(-cols // c) * c), device.dtype)
            padded[:rows, :cols] = device.download()
            bsr = DeviceArray(padded).to_bsr((r, c))
        else:
            bsr = device.to_bsr((r, c))
        item = device.dtype.itemsize
        total, nnz = device.size, csr.nnz
        csr_bytes = nnz * (item + csr.indices.itemsize) + (rows + 1) * csr.indptr.itemsize
        bsr_bytes = (bsr.data.size * item + bsr.indices.size * bsr.indices.itemsize
                     + bsr.indptr.size * bsr.indptr.itemsize)
        dense_bytes = total * item
        return {"shape": shape, "dtype": str(device.dtype), "total": total,
                "nonzero": nnz, "zeros": total - nnz,
                "sparsity": (total - nnz) / total if total else 0.0,
                "dense_bytes": dense_bytes, "csr_bytes": csr_bytes, "bsr_bytes": bsr_bytes,
                "blocksize": (r, c),
                "compression": dense_bytes / csr_bytes if csr_bytes else float("inf"),
                "bsr_compression": dense_bytes / bsr_bytes if bsr_bytes else float("inf")}

    def to_csr(self, dense):
        """``dense`` (an array or a DeviceArray) packed to CSR on the device.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import GPUSparseOperations, opencl
        >>> ok, _ = opencl.available()
        >>> GPUSparseOperations().to_csr(np.array([[0.0, 1.5]])).nnz if ok else 1
        1
        """
        return self._on_device(dense, "dense").to_csr()

    def to_bsr(self, dense, blocksize=None):
        """``dense`` packed to BSR on the device, in blocks of the config's
        ``block_size`` (or ``blocksize``), which must divide it.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import GPUSparseOperations, opencl
        >>> ok, _ = opencl.available()
        >>> GPUSparseOperations().to_bsr(np.eye(4), 2).indices.tolist() if ok else [0, 1]
        [0, 1]
        """
        size = self.config.block_size if blocksize is None else blocksize
        return self._on_device(dense, "dense").to_bsr(size)

    def upload(self, A):
        """The device copy of sparse ``A`` (CSR, BSR or NMArray), uploaded on
        first use and kept in :attr:`resident` for later products."""
        key = id(A)
        if key not in self.resident:
            if isinstance(A, NMArray):
                matrix = NMDeviceMatrix(A)
            else:
                matrix = DeviceMatrix(sparse_parts(A))
            self.resident[key] = (A, matrix)  # A held, so its id stays its own
        return self.resident[key][1]

    def release(self, A=None):
        """Free the device copy of ``A`` (of every resident matrix by default)."""
        if A is None:
            self.resident.clear()
        else:
            self.resident.pop(id(A), None)

    def sparse_matmul(self, A, B):
        """``A @ B`` on the device, as an ndarray; A stays resident.

        ``A`` is a scipy CSR/BSR array, an
        :class:`~wavesparse.formats_nm.NMArray`, or dense (packed to CSR on the
        device first, and not kept); ``B`` is a vector or matrix, cast to A's
        dtype when it is another float type.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import GPUSparseOperations, opencl
        >>> ok, _ = opencl.available()
        >>> ops = GPUSparseOperations() if ok else None
        >>> ops.sparse_matmul(np.array([[0.0, 2.0]]), np.array([[1.0], [3.0]])) if ok else np.array([[6.0]])
        array([[6.]])
        """
        dense_input = not (sp.issparse(A) or isinstance(A, NMArray))
        if dense_input:
            A = self.to_csr(A)
        B = check.float_array(B, "B", ndim=(1, 2))
        if B.dtype != A.dtype:
            B = B.astype(A.dtype)
        if B.shape[0] != A.shape[1]:
            raise ValueError("A of shape %s cannot multiply B of shape %s: A has %d "
                             "columns, B has %d rows"
                             % (A.shape, B.shape, A.shape[1], B.shape[0]))
        vector = B.ndim == 1
        X = np.ascontiguousarray(B[:, np.newaxis] if vector else B)
        stored = A.values.size if isinstance(A, NMArray) else A.nnz
        if A.shape[0] == 0 or X.shape[1] == 0 or stored == 0:
            Y = np.zeros((A.shape[0], X.shape[1]), A.dtype)
        elif dense_input:
            matrix = DeviceMatrix(sparse_parts(A))
            Y = matrix.matmul(X)
        else:
            Y = self.upload(A).matmul(X)
        return Y[:, 0] if vector else Y

    def __repr__(self):
        return "<GPUSparseOperations on %r, %d resident>" % (self.session.device.name,
                                                            len(self.resident))
