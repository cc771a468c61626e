"""SparseLinear: a pruned, packed weight matrix that multiplies like a layer."""

import numpy as np

from wavesparse import _validate as check
from wavesparse import formats, ops
from wavesparse._dispatch import sparse_parts, use_opencl
from wavesparse.pruning import BlockPruner, MagnitudePruner

__all__ = ["SparseLinear", "create_sparse_layer"]


def _logical_shape(weight):
    """The layer's (out, in): a 2-D ``weight.original_shape`` (the shape a
    padded BSR weight stands for), else the weight's own shape (a conv weight
    packed as the matrix (out, rest) has a 4-D original shape)."""
    shape = tuple(weight.shape)
    original = getattr(weight, "original_shape", None)
    if original is None or len(original) != 2:
        return shape
    original = tuple(int(s) for s in original)
    if not all(0 <= o <= s for o, s in zip(original, shape)):
        raise ValueError("weight.original_shape %s is larger than the weight %s"
                         % (original, shape))
    return original


class SparseLinear:
    """A linear layer ``y = x W^T (+ b)`` whose weight is stored sparse.

    ``layer(x)`` takes ``x`` of shape ``(..., in_features)`` like
    ``torch.nn.Linear``; ``layer @ X`` is the matrix product ``W @ X`` for
    ``X`` of shape ``(in_features,)`` or ``(in_features, N)``.  On OpenCL the
    weight is uploaded on the first product and stays on the device.

    The weight's structure is checked once, here (see
    :func:`wavesparse.ops.spmm`), and the layer keeps what it checked: change
    the weight's arrays in place afterwards and build a new layer.

    Parameters
    ----------
    weight : scipy.sparse CSR or BSR array
        ``(out_features, in_features)``; or a padded BSR whose
        ``original_shape`` attribute (set by :func:`create_sparse_layer` and
        :func:`wavesparse.io.load`) is the layer's logical 2-D shape: inputs
        are padded with zeros and outputs cropped to it.
    bias : array_like, optional
        ``(out_features,)``.
    backend : {"auto", "cpu", "opencl"}
    wavefront_size, block_size : int
        What :meth:`alignment` checks the shape against.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import create_sparse_layer
    >>> layer = create_sparse_layer(np.array([[1.0, -0.1], [0.2, 3.0]]), sparsity=0.5)
    >>> layer(np.array([[1.0, 1.0]]))
    array([[1., 3.]])
    """

    def __init__(self, weight, bias=None, backend="auto", wavefront_size=64,
                 block_size=64):
        self._parts = sparse_parts(weight, "weight")  # format, dtype, structure: once
        self._weight = weight
        self._shape = _logical_shape(weight)
        self.bias = None if bias is None else check.float_array(bias, "bias", ndim=1)
        if self.bias is not None and self.bias.shape[0] != self._shape[0]:
            raise ValueError("bias must have %d entries (out_features), got %d"
                             % (self._shape[0], self.bias.shape[0]))
        self.backend = check.backend_name(backend)
        self.wavefront_size = wavefront_size
        self.block_size = block_size
        self._device_matrix = None

    @property
    def weight(self):
        """The sparse weight the layer was built with (read-only attribute)."""
        return self._weight

    def _on_device(self):
        """The weight uploaded once to the OpenCL device, or None for the CPU."""
        if self._device_matrix is None and use_opencl(self.backend, self._parts.data.size):
            from wavesparse.opencl.ops import DeviceMatrix
            self._device_matrix = DeviceMatrix(self._parts)
        return self._device_matrix

    def _product(self, X):
        """``W @ X`` for a 2-D float X of ``in_features`` rows."""
        if X.shape[0] != self.in_features:
            raise ValueError("X must have %d rows (in_features), got shape %s"
                             % (self.in_features, X.shape))
        X = X.astype(self._parts.data.dtype, copy=False)
        rows, cols = self._parts.shape
        if cols != self.in_features:  # a padded BSR weight: zero rows below X
            padded = np.zeros((cols, X.shape[1]), X.dtype)
            padded[:self.in_features] = X
            X = padded
        device = self._on_device()
        if device is None or 0 in X.shape:
            Y = ops.spmm(self._parts, X, backend="cpu" if device is None else self.backend)
        else:
            Y = device.matmul(X)
        return Y[:self.out_features] if rows != self.out_features else Y

    @property
    def shape(self):
        """``(out_features, in_features)``.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import create_sparse_layer
        >>> layer = create_sparse_layer(np.ones((3, 5)), sparsity=0.5)
        >>> layer.shape, layer.out_features, layer.in_features, layer.format
        ((3, 5), 3, 5, 'csr')
        """
        return self._shape

    @property
    def in_features(self):
        """Inputs of the layer (columns of the weight); see :attr:`shape`."""
        return self._shape[1]

    @property
    def out_features(self):
        """Outputs of the layer (rows of the weight); see :attr:`shape`."""
        return self._shape[0]

    @property
    def format(self):
        """``"csr"`` or ``"bsr"``; see :attr:`shape`."""
        return self.weight.format

    def alignment(self):
        """Whether the shape fits the wavefront and the block size.

        Returns
        -------
        dict
            ``rows_wavefront_aligned`` (out_features a multiple of the
            wavefront: every wavefront of a row-per-lane kernel is full),
            ``cols_wavefront_aligned``, ``block_aligned`` (both sides multiples
            of the block size) and ``aligned`` (all three).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import create_sparse_layer
        >>> create_sparse_layer(np.ones((128, 64)), sparsity=0.5).alignment()["aligned"]
        True
        """
        rows, cols = self._shape
        out = {"rows_wavefront_aligned": rows % self.wavefront_size == 0,
               "cols_wavefront_aligned": cols % self.wavefront_size == 0,
               "block_aligned": rows % self.block_size == 0 and cols % self.block_size == 0}
        out["aligned"] = all(out.values())
        return out

    def __matmul__(self, X):
        X = check.float_array(X, "X", ndim=(1, 2))
        if X.ndim == 1:
            return self._product(X[:, np.newaxis])[:, 0]
        return self._product(X)

    def __call__(self, x):
        x = check.float_array(x, "x")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError("x must have shape (..., %d), got %s"
                             % (self.in_features, x.shape))
        flat = x.reshape(-1, self.in_features)
        y = self._product(flat.T).T
        if self.bias is not None:
            y = y + self.bias.astype(y.dtype, copy=False)
        return y.reshape(x.shape[:-1] + (self.out_features,))

    def __repr__(self):
        return ("SparseLinear(%d -> %d, %s, nnz=%d, backend=%r)"
                % (self.in_features, self.out_features, self.format.upper(),
                   self.weight.nnz, self.backend))


def create_sparse_layer(weights, sparsity=0.7, format="csr", backend="auto",
                        bias=None, block_size=16, wavefront_size=64):
    """Prune a dense weight matrix and pack it as a :class:`SparseLinear`.

    Parameters
    ----------
    weights : array_like
        ``(out_features, in_features)`` float32/float64.
    sparsity : float
        Fraction of weights zeroed by magnitude (exactly, per
        :class:`MagnitudePruner`); for ``format="bsr"`` whole blocks are
        pruned by their L2 norm so that the same fraction of blocks goes.
    format : {"csr", "bsr"}
    backend : {"auto", "cpu", "opencl"}
    bias : array_like, optional
    block_size : int
        BSR block edge.  When it does not divide the shape, the weight is
        padded with zero blocks to a multiple of it; the layer keeps the
        logical shape (``weight.original_shape``), so it takes and returns
        the unpadded sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import create_sparse_layer
    >>> layer = create_sparse_layer(np.random.default_rng(0).standard_normal((64, 32)),
    ...                             sparsity=0.75, format="bsr", block_size=16)
    >>> layer.format, layer.weight.nnz // 256
    ('bsr', 2)
    """
    weights = check.float_array(weights, "weights", ndim=2)
    sparsity = check.fraction(sparsity, "sparsity")
    if format == "csr":
        pruned, _ = MagnitudePruner(sparsity).prune_layer(weights)
        packed = formats.to_csr(pruned)
    elif format == "bsr":
        _, keep = BlockPruner(sparsity, block=block_size, norm="l2").prune_layer(weights)
        packed = formats.to_bsr(np.where(keep, weights, weights.dtype.type(0)),
                                block_size, pad=True)
        if packed.shape != weights.shape:
            packed.original_shape = weights.shape
    else:
        raise ValueError("format must be 'csr' or 'bsr', got %r" % (format,))
    return SparseLinear(packed, bias=bias, backend=backend,
                        wavefront_size=wavefront_size, block_size=block_size)
