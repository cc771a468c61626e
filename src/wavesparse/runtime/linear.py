"""One Linear of a network, in the layout its weight is stored in.

``Linear(W, b, activation)(X)`` is ``act(W @ X + b[:, None])`` for
feature-major activations ``X`` (``(in_features, tokens)``, C-ordered): the
product's natural operand, so no layout conversion happens between layers.
A CSR or BSR weight runs our products with the bias and activation applied
in their output write; an N:M weight (:class:`wavesparse.formats_nm.NMArray`)
runs the N:M product, and a dense weight BLAS, each then one compiled pass for
bias and activation.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> from wavesparse.runtime import Linear
>>> layer = Linear(sp.csr_array(np.array([[1.0, 0.0], [0.0, -2.0]])), np.array([0.5, 0.5]), "relu")
>>> layer(np.array([[1.0], [1.0]]))
array([[1.5],
       [0. ]])
"""

import numpy as np
import scipy.sparse as sp

from wavesparse import _nm, _spmm
from wavesparse._dispatch import sparse_parts
from wavesparse.formats_nm import NMArray
from wavesparse.halfs import is_half
from wavesparse.runtime.kernels import activation_code, bias_act

__all__ = ["Linear", "stack_rows", "logical_shape"]


def logical_shape(weight):
    """A weight's shape before padding to whole blocks (its
    ``original_shape`` when set, as :func:`wavesparse.io.load` sets it).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import formats
    >>> from wavesparse.runtime.linear import logical_shape
    >>> w = formats.to_bsr(np.ones((3, 5)), 4, pad=True)
    >>> w.original_shape = (3, 5)
    >>> w.shape, logical_shape(w)
    ((4, 8), (3, 5))
    """
    return tuple(int(s) for s in (getattr(weight, "original_shape", None) or weight.shape))


class Linear:
    """``act(W @ X + b)`` on feature-major activations.

    Parameters
    ----------
    weight : ndarray, scipy.sparse CSR/BSR array or NMArray
        ``(out_features, in_features)``, float32 or float64.  A BSR weight
        padded to whole blocks (``original_shape`` set, as
        :func:`wavesparse.io.load` gives it) pads its input and trims its
        output.  A CSR/BSR weight may hold float16 or bfloat16 values
        (:func:`wavesparse.formats.to_half`): the layer's ``dtype``, that of
        its activations, bias and output, is then float32, as in
        :func:`wavesparse.ops.spmm`.
    bias : array_like, optional
        ``(out_features,)``.
    activation : {"none", "relu", "gelu"}

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime import Linear
    >>> Linear(np.eye(2, dtype=np.float32), activation="gelu").layout
    'dense'
    """

    def __init__(self, weight, bias=None, activation="none"):
        self.act = activation_code(activation)
        self.activation = activation
        if sp.issparse(weight):
            kind, data, indices, indptr, (br, bc) = sparse_parts(weight, "weight",
                                                                 half=True)[:5]
            self.layout = kind
            self._parts = (data, indices, indptr, br, bc)
            self.dtype = np.dtype(np.float32) if is_half(data.dtype) else data.dtype
            stored = weight.shape
            shape = logical_shape(weight)
            if len(shape) != 2 or shape[0] > stored[0] or shape[1] > stored[1]:
                raise ValueError("weight's original_shape %s does not fit its stored "
                                 "shape %s" % (shape, stored))
            self._stored = stored
            self.weight = weight
        elif isinstance(weight, NMArray):
            self.layout = "nm"
            self.weight = weight
            self.dtype = weight.dtype
            shape = self._stored = weight.shape
        else:
            weight = np.asarray(weight)
            if weight.dtype not in (np.float32, np.float64) or weight.ndim != 2:
                raise TypeError("weight must be a 2-D float32/float64 array or a scipy "
                                "CSR/BSR array, got %s of dtype %s"
                                % (type(weight).__name__, weight.dtype))
            self.layout = "dense"
            self.weight = np.ascontiguousarray(weight)
            self.dtype = self.weight.dtype
            shape = self._stored = self.weight.shape
        self.shape = (int(shape[0]), int(shape[1]))
        if bias is None:
            self.bias = None
        else:
            bias = np.asarray(bias)
            if bias.shape != (self.shape[0],):
                raise ValueError("bias must have shape (%d,), got %s"
                                 % (self.shape[0], bias.shape))
            # Padded output rows get a zero bias; they are trimmed anyway.
            self.bias = np.zeros(self._stored[0], self.dtype)
            self.bias[:self.shape[0]] = bias

    @property
    def out_features(self):
        """Rows of the weight (outputs); see :class:`Linear`."""
        return self.shape[0]

    @property
    def in_features(self):
        """Columns of the weight (inputs); see :class:`Linear`."""
        return self.shape[1]

    @property
    def nnz(self):
        """Stored weights (all of them for a dense layer).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.runtime import Linear
        >>> Linear(np.ones((2, 3))).nnz
        6
        """
        return int(self.weight.size if self.layout == "dense" else self.weight.nnz)

    def __call__(self, x, out=None):
        """``act(W @ x + b)`` for ``x`` of shape ``(in_features, tokens)``.

        ``out`` (``(out_features, tokens)``, C-ordered) receives the result
        when given.
        """
        if not isinstance(x, np.ndarray) or x.dtype != self.dtype or x.ndim != 2 \
                or x.shape[0] != self.in_features:
            raise ValueError("x must be a (%d, tokens) %s array, got %s"
                             % (self.in_features, self.dtype,
                                getattr(x, "shape", type(x).__name__)))
        x = np.ascontiguousarray(x)
        n = x.shape[1]
        rows, cols = self._stored
        if cols != x.shape[0]:
            padded = np.zeros((cols, n), self.dtype)
            padded[:x.shape[0]] = x
            x = padded
        if out is None or rows != self.out_features:
            y = np.empty((rows, n), self.dtype)
        else:
            y = out
        if n and self.layout == "dense":
            np.matmul(self.weight, x, out=y)
            if self.bias is not None or self.act:
                bias_act(y, self.bias, self.activation)
        elif n and self.layout == "nm":
            w = self.weight
            _nm.nm_spmm(w.values, w.positions, w.shape[1], w.n, w.m, x, y)
            if self.bias is not None or self.act:
                bias_act(y, self.bias, self.activation)
        elif n and self.layout == "csr":
            data, indices, indptr = self._parts[:3]
            _spmm.csr_spmm(data, indices, indptr, x, y, self.bias, self.act)
        elif n:
            data, indices, indptr, br, bc = self._parts
            _spmm.bsr_spmm(data, indices, indptr, br, bc, x, y, self.bias, self.act)
        if rows != self.out_features:
            y = y[:self.out_features]
            if out is not None:
                out[...] = y
                y = out
        return y

    def __repr__(self):
        return ("Linear(%d -> %d, %s, nnz=%d, %s)"
                % (self.in_features, self.out_features, self.layout, self.nnz,
                   self.activation))


def stack_rows(weights):
    """One weight of the rows of several, in their common layout, or None.

    The attention's query, key and value weights become one product this
    way.  None when the layouts (or BSR block shapes, or dtypes) differ, or a
    weight is padded.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from wavesparse.runtime.linear import stack_rows
    >>> w = stack_rows([sp.csr_array(np.eye(2)), sp.csr_array(2 * np.eye(2))])
    >>> w.format, w.toarray()[:, 0].tolist()
    ('csr', [1.0, 0.0, 2.0, 0.0])
    """
    if any(isinstance(w, NMArray) for w in weights):
        return None
    if not all(sp.issparse(w) for w in weights):
        if any(sp.issparse(w) for w in weights):
            return None
        arrays = [np.asarray(w) for w in weights]
        if len({a.dtype for a in arrays}) != 1 or len({a.shape[1] for a in arrays}) != 1:
            return None
        return np.concatenate(arrays, axis=0)
    formats = {w.format for w in weights}
    if len(formats) != 1 or formats - {"csr", "bsr"}:
        return None
    if any(getattr(w, "original_shape", None) not in (None, tuple(w.shape)) for w in weights):
        return None
    parts = [sparse_parts(w, "weight") for w in weights]
    if len({p.data.dtype for p in parts}) != 1 or len({p.indices.dtype for p in parts}) != 1 \
            or len({p[4] for p in parts}) != 1 or len({w.shape[1] for w in weights}) != 1:
        return None
    data = np.concatenate([p.data for p in parts])
    indices = np.concatenate([p.indices for p in parts])
    offsets = np.cumsum([0] + [p.indptr[-1] for p in parts[:-1]])
    indptr = np.concatenate([parts[0].indptr[:1]] + [p.indptr[1:] + o
                                                     for p, o in zip(parts, offsets)])
    indptr = indptr.astype(parts[0].indices.dtype)
    shape = (sum(w.shape[0] for w in weights), weights[0].shape[1])
    if formats == {"csr"}:
        return sp.csr_array((data, indices, indptr), shape=shape)
    return sp.bsr_array((data, indices, indptr), shape=shape, blocksize=parts[0][4])
