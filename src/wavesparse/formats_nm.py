"""Compact N:M storage: the kept values and their byte positions in each group.

A matrix pruned to an N:M pattern (:class:`wavesparse.NMPruner`) keeps at most
``n`` of every ``m`` consecutive columns of a row.  :class:`NMArray` stores,
per row, ``groups * n`` values (``groups = ceil(cols / m)``) and as many
uint8 positions inside their group: no column index, no row pointer.  At 2:4
in float32 that is 5 bytes per kept weight (CSR: 8, plus the row pointers);
a group with fewer than ``n`` nonzeros is filled with zeros at its lowest free
positions, so the layout is regular and every row has the same length.

Examples
--------
>>> import numpy as np
>>> from wavesparse.formats_nm import to_nm
>>> A = to_nm(np.float32([[0, 3, 2, 0, 0, 0, 5, 0]]), 2, 4)
>>> A.values, A.positions
(array([[3., 2., 0., 5.]], dtype=float32), array([[1, 2, 0, 2]], dtype=uint8))
>>> A.toarray()
array([[0., 3., 2., 0., 0., 0., 5., 0.]], dtype=float32)
"""

import numpy as np
import scipy.sparse as sp

from wavesparse import _validate as check
from wavesparse._dispatch import index_dtype, refuse_nan, use_opencl

__all__ = ["NMArray", "to_nm", "nm_spmm"]

#: Positions are bytes: a group holds at most 256 columns.
MAX_GROUP = 256


def _pattern(n, m):
    n, m = check.index(n, "n"), check.index(m, "m")
    if not 1 <= n <= m <= MAX_GROUP:
        raise ValueError("n and m must satisfy 1 <= n <= m <= %d, got n=%d, m=%d"
                         % (MAX_GROUP, n, m))
    return n, m


class NMArray:
    """A 2-D matrix in compact N:M storage.

    Parameters
    ----------
    values : ndarray, shape (rows, groups * n)
        float32 or float64: the kept values of each row, group after group,
        in increasing position inside each group.
    positions : ndarray of uint8, same shape
        Each value's position in its group, strictly increasing inside a
        group and below ``m``; in the last group of a row whose ``cols`` m
        does not divide, a position past the matrix is allowed only for a
        zero value.
    n, m : int
        The pattern: at most ``n`` kept of every ``m`` columns.
    shape : (int, int)
        ``(rows, cols)`` of the matrix.

    Raises
    ------
    TypeError, ValueError
        For parts of the wrong dtype, shape or content (each named).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.formats_nm import NMArray
    >>> A = NMArray(np.float32([[1, 2]]), np.uint8([[0, 3]]), 2, 4, (1, 4))
    >>> A.toarray()
    array([[1., 0., 0., 2.]], dtype=float32)
    >>> A @ np.float32([1, 1, 1, 10])
    array([21.], dtype=float32)
    """

    format = "nm"

    def __init__(self, values, positions, n, m, shape):
        self.n, self.m = _pattern(n, m)
        if not isinstance(shape, (tuple, list)) or len(shape) != 2:
            raise TypeError("shape must be a pair (rows, cols), got %r" % (shape,))
        rows, cols = (check.index(s, "shape") for s in shape)
        if rows < 0 or cols < 0:
            raise ValueError("shape must be non-negative, got %r" % ((rows, cols),))
        self.shape = (rows, cols)
        self.groups = -(-cols // self.m)
        kept = self.groups * self.n
        values = check.float_array(values, "values", ndim=2)
        if not isinstance(positions, np.ndarray) or positions.dtype != np.uint8:
            raise TypeError("positions must be a uint8 ndarray, got %s"
                            % getattr(positions, "dtype", type(positions).__name__))
        for part, name in ((values, "values"), (positions, "positions")):
            if part.shape != (rows, kept):
                raise ValueError("%s must have shape %s for a %s matrix at %d:%d, got %s"
                                 % (name, (rows, kept), self.shape, self.n, self.m,
                                    part.shape))
        grouped = positions.reshape(rows, self.groups, self.n).astype(np.int64)
        if grouped.size and grouped.max() >= self.m:
            raise ValueError("positions must be below m=%d, got %d"
                             % (self.m, int(grouped.max())))
        if self.n > 1 and np.any(np.diff(grouped, axis=2) <= 0):
            raise ValueError("positions must increase strictly inside each group")
        if grouped.size and cols % self.m:
            beyond = grouped[:, -1, :] >= cols % self.m
            if np.any(beyond & (values.reshape(rows, self.groups, self.n)[:, -1, :] != 0)):
                raise ValueError("a nonzero value lies past the matrix's %d columns" % cols)
        self.values = np.ascontiguousarray(values)
        self.positions = np.ascontiguousarray(positions)
        self.dtype = self.values.dtype

    @property
    def nnz(self):
        """The number of nonzero values stored."""
        return int(np.count_nonzero(self.values))

    @property
    def nbytes(self):
        """Bytes of the values and the positions."""
        return self.values.nbytes + self.positions.nbytes

    def columns(self):
        """The column of every stored entry, shape of :attr:`values` (int64)."""
        group = np.arange(self.groups, dtype=np.int64).repeat(self.n) * self.m
        return group[np.newaxis, :] + self.positions

    def toarray(self):
        """The dense matrix (the exact values stored).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.formats_nm import to_nm
        >>> w = np.float32([[1, 0, 0, 2], [0, 0, 3, 0]])
        >>> np.array_equal(to_nm(w, 2, 4).toarray(), w)
        True
        """
        rows, cols = self.shape
        padded = np.zeros((rows, self.groups * self.m), self.dtype)
        np.put_along_axis(padded, self.columns() + np.zeros((rows, 1), np.int64),
                          self.values, axis=1)
        return padded[:, :cols]

    def tocsr(self):
        """The matrix as a canonical ``scipy.sparse.csr_array`` (zeros dropped).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.formats_nm import to_nm
        >>> to_nm(np.float32([[1, 0, 0, 2]]), 2, 4).tocsr().indices.tolist()
        [0, 3]
        """
        rows, cols = self.shape
        keep = self.values != 0
        counts = keep.sum(axis=1)
        index = index_dtype(max(rows, cols, int(counts.sum())))
        indptr = np.zeros(rows + 1, index)
        np.cumsum(counts, out=indptr[1:])
        columns = self.columns() + np.zeros((rows, 1), np.int64)
        return sp.csr_array((self.values[keep], columns[keep].astype(index), indptr),
                            shape=self.shape)

    def matmul(self, X, backend="auto"):
        """``A @ X`` (see :func:`nm_spmm`)."""
        return nm_spmm(self, X, backend=backend)

    def __matmul__(self, X):
        return nm_spmm(self, X)

    def __repr__(self):
        return "<NMArray %d:%d %s %s, %d stored>" % (self.n, self.m, self.dtype,
                                                      self.shape, self.values.size)


def to_nm(dense, n, m, pad=False):
    """Pack a 2-D matrix whose rows keep at most ``n`` of every ``m`` columns.

    Parameters
    ----------
    dense : array_like
        float32/float64, 2-D, any memory order, no NaN.
    n, m : int
        The pattern, ``1 <= n <= m <= 256``.
    pad : bool
        Accept a column count that ``m`` does not divide (the last group is
        partial); False refuses it with a ValueError.

    Returns
    -------
    NMArray

    Raises
    ------
    ValueError
        When a group holds more than ``n`` nonzeros (the first one is named),
        or for NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.formats_nm import to_nm
    >>> to_nm(np.float32([[1, 2, 3, 0]]), 2, 4)
    Traceback (most recent call last):
    ...
    ValueError: dense is not 2:4: row 0, group 0 (columns 0..3) holds 3 nonzeros
    """
    n, m = _pattern(n, m)
    dense = check.float_array(dense, "dense", ndim=2)
    refuse_nan([dense], "dense")
    rows, cols = dense.shape
    extra = -cols % m
    if extra and not pad:
        raise ValueError("dense has %d columns, not a multiple of m=%d (pass pad=True)"
                         % (cols, m))
    padded = np.zeros((rows, cols + extra), dense.dtype)
    padded[:, :cols] = dense
    groups = padded.reshape(rows, (cols + extra) // m, m)
    nonzero = groups != 0
    counts = nonzero.sum(axis=2)
    if np.any(counts > n):
        r, g = (int(i[0]) for i in np.nonzero(counts > n))
        raise ValueError("dense is not %d:%d: row %d, group %d (columns %d..%d) holds "
                         "%d nonzeros" % (n, m, r, g, g * m, g * m + m - 1, counts[r, g]))
    # Nonzeros first (in position order), then the lowest free positions.
    order = np.argsort(~nonzero, axis=2, kind="stable")[:, :, :n]
    order.sort(axis=2)
    values = np.take_along_axis(groups, order, axis=2)
    kept = (cols + extra) // m * n
    return NMArray(values.reshape(rows, kept), order.astype(np.uint8).reshape(rows, kept),
                   n, m, (rows, cols))


def nm_spmm(A, X, backend="auto"):
    """The product ``A @ X`` of an :class:`NMArray` and a dense matrix or vector.

    The CPU kernel reads the values and positions where they lie; the OpenCL
    one (:mod:`wavesparse.opencl.nm`) uploads them.

    Parameters
    ----------
    A : NMArray
    X : array_like
        Of A's dtype, shape ``(A.shape[1],)`` or ``(A.shape[1], N)``; a
        non-C-contiguous X is copied.
    backend : {"auto", "cpu", "opencl"}

    Returns
    -------
    ndarray
        ``A @ X``, 1-D for a vector ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.formats_nm import to_nm, nm_spmm
    >>> A = to_nm(np.array([[1.0, 0.0], [0.0, 2.0]]), 1, 2)
    >>> nm_spmm(A, np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[1., 2.],
           [6., 8.]])
    """
    if not isinstance(A, NMArray):
        raise TypeError("A must be an NMArray, got %s" % type(A).__name__)
    X = check.float_array(X, "X", ndim=(1, 2))
    if X.shape[0] != A.shape[1]:
        raise ValueError("A of shape %s cannot multiply X of shape %s: A has %d "
                         "columns, X has %d rows"
                         % (A.shape, X.shape, A.shape[1], X.shape[0]))
    if X.dtype != A.dtype:
        raise ValueError("A (dtype %s, shape %s) and X (dtype %s, shape %s) must "
                         "have one dtype" % (A.dtype, A.shape, X.dtype, X.shape))
    vector = X.ndim == 1
    X2 = np.ascontiguousarray(X[:, np.newaxis] if vector else X)
    rows, nx = A.shape[0], X2.shape[1]
    if rows == 0 or nx == 0 or A.values.size == 0:
        Y = np.zeros((rows, nx), A.dtype)
    elif use_opencl(backend, A.values.size):
        from wavesparse.opencl.nm import NMDeviceMatrix
        Y = NMDeviceMatrix(A).matmul(X2)
    else:
        from wavesparse import _nm
        Y = np.empty((rows, nx), A.dtype)
        _nm.nm_spmm(A.values, A.positions, A.shape[1], A.n, A.m, X2, Y)
    return Y[:, 0] if vector else Y
