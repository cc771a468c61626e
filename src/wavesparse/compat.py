"""The original design's classes, kept as it documented them.

:class:`SparseTensorConfig` holds the settings they share (target sparsity,
block size, wavefront width) and :class:`SparseOperations` is the design's
single entry point over :mod:`wavesparse.formats` and :mod:`wavesparse.ops`.
New code may call those modules directly; these names stay for the users
of the original API.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from wavesparse import _validate as check
from wavesparse import formats, ops

__all__ = ["SparseTensorConfig", "SparseOperations"]


def _power_of_two(value, name):
    value = check.index(value, name)
    if value < 1 or value & (value - 1):
        raise ValueError("%s must be a positive power of two, got %d" % (name, value))
    return value


@dataclass
class SparseTensorConfig:
    """Target sparsity, block size and wavefront width, validated.

    Parameters
    ----------
    target_sparsity : float
        In [0, 1).
    block_size : int
        BSR block edge; a positive power of two.
    wavefront_size : int
        The GPU's SIMD width (64 on the RX 580's GCN); a positive power of two.

    Examples
    --------
    >>> from wavesparse import SparseTensorConfig
    >>> SparseTensorConfig()
    SparseTensorConfig(target_sparsity=0.7, block_size=64, wavefront_size=64)
    >>> SparseTensorConfig(block_size=48)
    Traceback (most recent call last):
    ...
    ValueError: block_size must be a positive power of two, got 48
    """

    target_sparsity: float = 0.7
    block_size: int = 64
    wavefront_size: int = 64

    def __post_init__(self):
        self.target_sparsity = check.fraction(self.target_sparsity, "target_sparsity")
        self.block_size = _power_of_two(self.block_size, "block_size")
        self.wavefront_size = _power_of_two(self.wavefront_size, "wavefront_size")


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
            raise TypeError("config must be a SparseTensorConfig, got %s"
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

    def prune(self, w, sparsity=None):
        """``(pruned, mask)``: ``w`` pruned by magnitude to the config's
        ``target_sparsity`` (or ``sparsity``).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import SparseOperations, SparseTensorConfig
        >>> so = SparseOperations(SparseTensorConfig(target_sparsity=0.5))
        >>> so.prune(np.float32([1, -4, 2, 0.5]))[1]
        array([False,  True,  True, False])
        """
        from wavesparse.pruning import MagnitudePruner
        target = self.config.target_sparsity if sparsity is None else sparsity
        return MagnitudePruner(target, backend=self.backend).prune_layer(w)

    def sparse_layer(self, weights, format="csr", bias=None):
        """A :class:`wavesparse.SparseLinear` of ``weights`` pruned to the
        config's ``target_sparsity``, with its ``block_size`` (BSR) and its
        ``wavefront_size`` (what :meth:`SparseLinear.alignment` checks).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import SparseOperations, SparseTensorConfig
        >>> so = SparseOperations(SparseTensorConfig(target_sparsity=0.5, wavefront_size=2))
        >>> layer = so.sparse_layer(np.ones((4, 4), np.float32))
        >>> layer.weight.nnz, layer.alignment()["rows_wavefront_aligned"]
        (8, True)
        """
        from wavesparse.layers import create_sparse_layer
        return create_sparse_layer(weights, sparsity=self.config.target_sparsity,
                                   format=format, backend=self.backend, bias=bias,
                                   block_size=self.config.block_size,
                                   wavefront_size=self.config.wavefront_size)
