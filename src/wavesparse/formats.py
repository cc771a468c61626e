"""Dense weights to scipy.sparse CSR and BSR arrays, and size reports.

The arrays scipy receives are the ones the C kernels filled: no copy is made
on the way.  Results are canonical (sorted indices, no duplicates, no stored
zeros) with int32 indices when the matrix fits, int64 otherwise.
"""

import functools

import ml_dtypes
import numpy as np
import scipy.sparse as sp

from wavesparse import _convert
from wavesparse import _validate as check
from wavesparse._dispatch import (INT32_MAX, assemble, blocksize as block_shape,
                                  refuse_nan, use_opencl)
from wavesparse._dispatch import index_dtype as _index_rule
from wavesparse.halfs import is_half

__all__ = ["to_csr", "to_bsr", "to_half", "analyze_sparsity", "index_dtype"]


def index_dtype(maxval):
    """int32 when every index and count up to ``maxval`` fits, else int64.

    The rule scipy's ``get_index_dtype`` applies, and every sparse result of
    wavesparse follows.

    Examples
    --------
    >>> from wavesparse.formats import index_dtype
    >>> index_dtype(1000), index_dtype(2**31)
    (dtype('int32'), dtype('int64'))
    """
    return _index_rule(check.index(maxval, "maxval"))


def _on_device(backend, matrix):
    """Whether this conversion runs on OpenCL; NaN is refused before any kernel."""
    if not use_opencl(backend, matrix.size) or matrix.size == 0:
        return False
    refuse_nan([matrix], "dense")
    return True


def _widened(dense):
    """A 16-bit array as float32 (exact), another as it is."""
    return dense.astype(np.float32) if is_half(dense.dtype) else dense


def to_csr(dense, threshold=None, mask=None, backend="auto", *, _index_limit=INT32_MAX):
    """A dense matrix as a ``scipy.sparse.csr_array``, optionally pruning it.

    One parallel pass counts each row's nonzeros, a second fills the arrays;
    with ``threshold`` or ``mask`` the pruning happens in the same passes.

    Parameters
    ----------
    dense : array_like
        float32 or float64 of rank 1 (one row) or 2; C-, F-ordered or strided.
        float16 and bfloat16 are read as float32 (exactly: scipy.sparse holds
        no 16-bit dtype), so the result is float32 and
        ``A.data.astype(dense.dtype)`` gives the 16-bit values back unchanged.
    threshold : float, optional
        Keep only elements with ``|w| >= threshold``.
    mask : array_like of bool, optional
        Keep only elements where ``mask`` is true; same shape as ``dense``.
    backend : {"auto", "cpu", "opencl"}
        On OpenCL (``kernels/convert.cl``): counts per row, a scan, an ordered
        fill; the same arrays bit for bit.  ``"auto"`` uses OpenCL only for a
        GPU and at least ``wavesparse.ops.AUTO_OPENCL_MIN`` elements.

    Returns
    -------
    scipy.sparse.csr_array
        Canonical, with explicit zeros dropped; the dtype of ``dense``.

    Raises
    ------
    ValueError
        For NaN, another dtype or rank, both ``threshold`` and ``mask``, or a
        mask of another shape.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.formats import to_csr
    >>> A = to_csr(np.array([[0.0, 2.0], [-3.0, 0.5]]), threshold=1.0)
    >>> A.toarray()
    array([[ 0.,  2.],
           [-3.,  0.]])
    >>> A.indices.dtype
    dtype('int32')
    """
    dense = _widened(check.float_array(dense, "dense", ndim=(1, 2), half=True))
    matrix = check.matrix_view(dense)
    if threshold is not None and mask is not None:
        raise ValueError("pass threshold or mask, not both")
    keep, t, mask_view = "nonzero", 0.0, None
    if threshold is not None:
        keep, t = "above", check.threshold_for(threshold, dense.dtype, "threshold")
    elif mask is not None:
        mask_array = np.asarray(mask)
        if mask_array.shape != dense.shape:
            raise ValueError("mask must have the shape of dense %s, got %s"
                             % (dense.shape, mask_array.shape))
        keep = "mask"
        mask_view = check.matrix_view(mask_array.astype(np.bool_, copy=False)
                                      ).view(np.uint8)
    if matrix.size == 0:
        idx = _index_rule(max(matrix.shape), _index_limit)
        parts = (np.empty(0, dense.dtype), np.empty(0, idx),
                 np.zeros(matrix.shape[0] + 1, idx))
    elif _on_device(backend, matrix):
        from wavesparse.opencl import formats as device_formats
        from wavesparse.opencl import session as current_session
        from wavesparse.opencl.calls import upload
        session = current_session()
        parts = device_formats.csr_parts(
            session, upload(session, matrix), matrix.shape, matrix.dtype, keep, t,
            None if mask_view is None else mask_view, _index_limit)
    else:
        parts = _convert.csr_parts(matrix, keep, t, mask_view,
                                   functools.partial(_index_rule, limit=_index_limit),
                                   "dense")
    return assemble(sp.csr_array, parts, matrix.shape)


def to_half(A, dtype=np.float16):
    """The CSR or BSR ``A`` with its values stored in 16 bits, for the products.

    :func:`to_csr` and :func:`to_bsr` give float32 values (scipy's own
    methods, ``astype`` among them, refuse 16-bit dtypes); scipy does hold
    16-bit values given at construction, and :func:`wavesparse.ops.spmm`
    multiplies them, widening each as it is loaded, at half the weight bytes.

    Parameters
    ----------
    A : scipy.sparse CSR or BSR array
        float32, float64, float16 or bfloat16 values.
    dtype : {numpy.float16, ml_dtypes.bfloat16}
        The 16-bit dtype of the values (rounded to nearest).

    Returns
    -------
    scipy.sparse.csr_array or bsr_array
        Same format, shape and blocksize (and ``original_shape``, where
        ``A`` has one), sharing ``A``'s ``indices`` and ``indptr`` (no copy);
        its ``data`` is the 16-bit values.

    Raises
    ------
    TypeError
        For another sparse format or value dtype, or a ``dtype`` that is not
        float16 or bfloat16.
    ValueError
        For a finite value beyond the 16-bit dtype's range (it would become
        inf).

    Examples
    --------
    >>> import numpy as np, ml_dtypes
    >>> from wavesparse.formats import to_csr, to_half
    >>> A = to_half(to_csr(np.array([[0.0, 1.5], [-2.0, 0.0]])), ml_dtypes.bfloat16)
    >>> A.dtype, A.nnz
    (dtype(bfloat16), 2)
    """
    from wavesparse.halfs import HALF_DTYPES
    if not sp.issparse(A) or A.format not in ("csr", "bsr"):
        raise TypeError("A must be a scipy.sparse CSR or BSR array, got %s"
                        % (A.format.upper() if sp.issparse(A) else type(A).__name__))
    if A.dtype not in check.FLOAT_DTYPES and not is_half(A.dtype):
        raise TypeError("A must hold float32, float64, float16 or bfloat16 values, "
                        "got dtype %s" % A.dtype)
    try:
        target = np.dtype(dtype)
    except TypeError:
        target = None
    if target not in HALF_DTYPES:
        raise TypeError("dtype must be float16 or bfloat16, got %r" % (dtype,))
    cls = sp.csr_array if A.format == "csr" else sp.bsr_array
    kwargs = {} if A.format == "csr" else {"blocksize": A.blocksize}
    # scipy's BSR constructor refuses 16-bit data: built over A's own (wide)
    # values, the result is then given the 16-bit ones.
    wide = A.data if A.dtype in check.FLOAT_DTYPES else A.data.astype(np.float32)
    with np.errstate(over="ignore"):
        data = A.data.astype(target)
    overflow = np.isinf(data.astype(np.float32)) & np.isfinite(A.data.astype(np.float32))
    if overflow.any():
        raise ValueError("A holds values beyond %s's range: |value| up to %g, the largest "
                         "%s is %g" % (target.name, float(np.abs(wide[overflow]).max()),
                                       target.name, float(ml_dtypes.finfo(target).max)))
    result = assemble(cls, (wide, A.indices, A.indptr), A.shape, **kwargs)
    result.data = data
    original = getattr(A, "original_shape", None)
    if original is not None:  # a padded BSR keeps its logical shape
        result.original_shape = original
    return result


#: Zeros that ``pad=True`` may add beyond the matrix's own size.
PAD_ALLOWANCE = 1 << 20


def _refuse_absurd_padding(shape, padded, block):
    """ValueError when padding to the block adds more zeros than the matrix
    holds elements and more than :data:`PAD_ALLOWANCE`: the same rule on the
    CPU and OpenCL paths, before either allocates the padded matrix."""
    size = shape[0] * shape[1]
    added = padded[0] * padded[1] - size
    if added > max(size, PAD_ALLOWANCE):
        raise ValueError("blocksize %s would pad dense of shape %s to %s, adding %d zeros "
                         "(more than the matrix's %d elements and than %d); choose a "
                         "block no larger than the matrix"
                         % (block, shape, padded, added, size, PAD_ALLOWANCE))


def to_bsr(dense, blocksize, pad=False, norm=None, threshold=0.0, backend="auto", *,
           _index_limit=INT32_MAX):
    """A dense matrix as a ``scipy.sparse.bsr_array`` of R x C blocks.

    A block is kept when any of its elements is nonzero, or, for block
    pruning, when its ``norm`` reaches ``threshold``.

    Parameters
    ----------
    dense : array_like
        float32 or float64 matrix (rank 1 is one row); float16 and bfloat16
        are read as float32 (exactly), as in :func:`to_csr`.
    blocksize : int or (int, int)
        Block shape (R, C).
    pad : bool
        When the block shape does not divide the matrix, pad it with zeros to
        the next multiple (the result's shape is the padded one) instead of
        raising.  A block so large that padding would add more zeros than the
        matrix holds elements (and over 2**20) is refused on every backend.
    norm : {None, "l1", "l2"}
        Keep blocks whose L1 (sum of |w|) or L2 norm is ``>= threshold``
        (and nonzero); ``None`` keeps every block with a nonzero.
    threshold : float
        The norm threshold.
    backend : {"auto", "cpu", "opencl"}
        On OpenCL (``kernels/convert.cl``): a flag per block, a scan per block
        row, the blocks copied; the same arrays bit for bit.  ``"auto"`` as
        for :func:`to_csr`.

    Returns
    -------
    scipy.sparse.bsr_array
        Canonical; data of shape (blocks, R, C).

    Raises
    ------
    ValueError
        For NaN, a block shape that does not divide the matrix without
        ``pad``, or a bad ``blocksize`` or ``norm``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.formats import to_bsr
    >>> A = to_bsr(np.kron(np.eye(2), np.ones((2, 2))), 2)
    >>> A.indptr, A.indices, A.data.shape
    (array([0, 1, 2], dtype=int32), array([0, 1], dtype=int32), (2, 2, 2))
    """
    dense = _widened(check.float_array(dense, "dense", ndim=(1, 2), half=True))
    matrix = check.matrix_view(dense)
    r, c = block_shape(blocksize)
    if norm not in (None, "l1", "l2"):
        raise ValueError("norm must be None, 'l1' or 'l2', got %r" % (norm,))
    t = check.real_scalar(threshold, "threshold")
    rows, cols = matrix.shape
    if (rows % r or cols % c) and not pad:
        raise ValueError("blocksize %s does not divide the shape %s of dense; "
                         "pass pad=True to pad it with zeros"
                         % ((r, c), matrix.shape))
    shape = (-(-rows // r) * r, -(-cols // c) * c)
    _refuse_absurd_padding(matrix.shape, shape, (r, c))
    if matrix.size == 0:
        idx = _index_rule(max(shape[0] // r, shape[1] // c), _index_limit)
        parts = (np.empty((0, r, c), dense.dtype), np.empty(0, idx),
                 np.zeros(shape[0] // r + 1, idx))
    elif _on_device(backend, matrix):
        from wavesparse.opencl import formats as device_formats
        from wavesparse.opencl import session as current_session
        from wavesparse.opencl.calls import upload
        session = current_session()
        padded = matrix
        if shape != matrix.shape:
            padded = np.zeros(shape, matrix.dtype)
            padded[:rows, :cols] = matrix
        parts = device_formats.bsr_parts(session, upload(session, padded), shape,
                                          matrix.dtype, (r, c), norm or "nonzero", t,
                                          _index_limit)
    else:
        parts = _convert.bsr_parts(matrix, r, c, norm or "nonzero", t,
                                   functools.partial(_index_rule, limit=_index_limit),
                                   "dense")
    return assemble(sp.bsr_array, parts, shape, blocksize=(r, c))


def analyze_sparsity(t, blocksize=16):
    """Counts and storage sizes of a weight tensor, dense or scipy.sparse.

    Parameters
    ----------
    t : array_like or scipy.sparse array
        Any rank for dense input: rank 1 is one row, rank >= 3 is viewed as
        (shape[0], rest), the way a layer's output channels are its rows.
    blocksize : int or (int, int)
        The block shape the BSR size is computed for (padded at the edges).

    Returns
    -------
    dict
        ``total``, ``nonzero``, ``zeros``, ``sparsity``; ``dense_bytes``,
        ``csr_bytes``, ``bsr_bytes`` for the tensor's dtype and the index
        dtype each format would use; ``compression`` (dense over CSR bytes)
        and ``bsr_compression``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.formats import analyze_sparsity
    >>> r = analyze_sparsity(np.diag(np.ones(4, np.float32)), blocksize=2)
    >>> r["nonzero"], r["sparsity"], r["dense_bytes"], r["csr_bytes"]
    (4, 0.75, 64, 52)
    """
    if sp.issparse(t):
        matrix = t.toarray() if t.ndim == 2 else t.toarray().reshape(1, -1)
        matrix = check.float_array(matrix, "t")
    else:
        matrix = check.float_array(t, "t")
        if matrix.ndim == 0:
            raise ValueError("t must have at least 1 dimension, got a 0-d array")
        matrix = check.matrix_view(matrix)
    r, c = block_shape(blocksize)
    rows, cols = matrix.shape
    total = matrix.size
    csr = to_csr(matrix)
    nnz = csr.nnz
    bsr = to_bsr(matrix, (r, c), pad=True)
    item = matrix.dtype.itemsize
    csr_bytes = nnz * (item + csr.indices.itemsize) + (rows + 1) * csr.indptr.itemsize
    bsr_bytes = (bsr.data.size * item + bsr.indices.size * bsr.indices.itemsize
                 + bsr.indptr.size * bsr.indptr.itemsize)
    dense_bytes = total * item
    return {
        "shape": tuple(np.shape(t)),
        "dtype": str(matrix.dtype),
        "total": total,
        "nonzero": nnz,
        "zeros": total - nnz,
        "sparsity": (total - nnz) / total if total else 0.0,
        "dense_bytes": dense_bytes,
        "csr_bytes": csr_bytes,
        "bsr_bytes": bsr_bytes,
        "blocksize": (r, c),
        "compression": dense_bytes / csr_bytes if csr_bytes else float("inf"),
        "bsr_compression": dense_bytes / bsr_bytes if bsr_bytes else float("inf"),
    }
