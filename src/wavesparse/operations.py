"""SparseOperations: analysis, CSR conversion and sparse products in one place."""

import numpy as np
import scipy.sparse as sp

from wavesparse import formats, ops
from wavesparse import _validate as check
from wavesparse.config import SparseTensorConfig

__all__ = ["SparseOperations"]


class SparseOperations:
    """The original design's entry point, over :mod:`wavesparse.formats` and
    :mod:`wavesparse.ops`.

    Parameters
    ----------
    config : SparseTensorConfig, optional
        Its ``block_size`` is the block edge of the BSR figures.
    backend : {"auto", "cpu", "opencl"}
        Where :meth:`sparse_matmul` runs.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import SparseOperations, SparseTensorConfig
    >>> so = SparseOperations(SparseTensorConfig(block_size=2))
    >>> so.analyze_sparsity(np.eye(4, dtype=np.float32))["sparsity"]
    0.75
    """

    def __init__(self, config=None, backend="auto"):
        if config is not None and not isinstance(config, SparseTensorConfig):
            raise ValueError("config must be a SparseTensorConfig, got %s"
                             % type(config).__name__)
        self.config = config or SparseTensorConfig()
        self.backend = check.backend_name(backend)

    def analyze_sparsity(self, t):
        """Counts and bytes of dense, CSR and BSR forms (see
        :func:`wavesparse.formats.analyze_sparsity`).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import SparseOperations
        >>> r = SparseOperations().analyze_sparsity(np.zeros((2, 3)))
        >>> r["total"], r["nonzero"], r["zeros"]
        (6, 0, 6)
        """
        return formats.analyze_sparsity(t, blocksize=self.config.block_size)

    def to_csr(self, dense):
        """``dense`` as a canonical ``scipy.sparse.csr_array``.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import SparseOperations
        >>> SparseOperations().to_csr(np.array([[0.0, 1.5]])).nnz
        1
        """
        return formats.to_csr(dense)

    def sparse_matmul(self, A, B):
        """``A @ B`` as an ndarray, with A sparse (dense A is packed to CSR).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import SparseOperations
        >>> SparseOperations().sparse_matmul(np.array([[0.0, 2.0]]), np.array([[1.0], [3.0]]))
        array([[6.]])
        """
        if not sp.issparse(A):
            A = formats.to_csr(A)
        B = np.asarray(B)
        if B.dtype != A.dtype and B.dtype in check.FLOAT_DTYPES:
            B = B.astype(A.dtype)
        return ops.spmm(A, B, backend=self.backend)
