"""Where a call runs, and the rules the CPU and OpenCL paths share.

``backend=`` resolution, the index-dtype rule of every sparse result, the
OpenCL size limit, NaN refusal, and the unpacking of a caller's scipy.sparse
array all live here, once; :mod:`wavesparse.ops`, :mod:`wavesparse.formats`,
:mod:`wavesparse.layers` and the :mod:`wavesparse.opencl` kernels import them.
Arguments reaching these helpers have passed :mod:`wavesparse._validate`.
"""

from collections import namedtuple

import numpy as np

from wavesparse import _convert
from wavesparse import _validate as check
from wavesparse.errors import OpenCLUnavailable

#: Elements from which ``backend="auto"`` moves work to an OpenCL GPU.
AUTO_OPENCL_MIN = 1 << 22

#: The largest index or count an int32 index array holds.
INT32_MAX = int(np.iinfo(np.int32).max)

#: The OpenCL grid-stride kernels index with 32-bit unsigned integers.
MAX_DEVICE_ELEMENTS = (1 << 31) - 1

#: The largest block edge product ``to_bsr`` accepts: a block bigger than
#: this holds more than 2**31 - 1 values, which no kernel indexes.
MAX_BLOCK_ELEMENTS = MAX_DEVICE_ELEMENTS


def use_opencl(backend, size):
    """Whether a call with ``backend`` on ``size`` elements runs on OpenCL.

    ``"cpu"`` never does; ``"opencl"`` always does, raising
    :class:`~wavesparse.OpenCLUnavailable` with the reason when it cannot;
    ``"auto"`` does when the chosen device is a GPU and ``size`` is at least
    :data:`AUTO_OPENCL_MIN`.
    """
    backend = check.backend_name(backend)
    if backend == "cpu":
        return False
    from wavesparse.opencl import session
    if backend == "opencl":
        session()  # raises OpenCLUnavailable with the reason
        return True
    if size < AUTO_OPENCL_MIN:
        return False
    try:
        return session().device.is_gpu
    except OpenCLUnavailable:
        return False


def index_dtype(maxval, limit=INT32_MAX):
    """int32 when every index and count up to ``maxval`` fits, else int64.

    The rule of scipy's ``get_index_dtype``; ``limit`` lowers the int32 bound
    so tests reach the int64 path on small arrays.
    """
    return np.dtype(np.int32) if maxval <= limit else np.dtype(np.int64)


def check_device_size(n, name):
    """Raise ValueError when an array of ``n`` elements is past the kernels' index."""
    if n > MAX_DEVICE_ELEMENTS:
        raise ValueError("%s has %d elements; the OpenCL kernels take at most "
                         "2**31 - 1 per array" % (name, n))


def refuse_nan(arrays, name):
    """Raise ValueError naming ``name`` when any of ``arrays`` holds a NaN.

    One parallel C pass over the arrays where they lie (the OpenCL paths call
    it before uploading anything); the message is the C status's, written once
    in the Cython layer.
    """
    views = [check.flat_view(a)[0] for a in arrays if a.size]
    if views:
        _convert.refuse_nan(views, name)


def blocksize(value, name="blocksize"):
    """A block shape: a positive int (square) or a pair of positive ints.

    A block of more than :data:`MAX_BLOCK_ELEMENTS` values is refused too.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError("%s must be a positive int or a pair (R, C) of positive "
                        "ints, got %r" % (name, value))
    r, c = (check.index(b, name) for b in value)
    if r < 1 or c < 1:
        raise ValueError("%s must be positive, got %r" % (name, (r, c)))
    if r * c > MAX_BLOCK_ELEMENTS:
        raise ValueError("%s %r holds %d values per block; at most 2**31 - 1 are "
                         "supported" % (name, (r, c), r * c))
    return r, c


SparseParts = namedtuple("SparseParts", "kind data indices indptr blocksize shape")
SparseParts.__doc__ = """A CSR or BSR matrix as the kernels take it: contiguous
parts, one index dtype, canonical order."""


def _index_array(value, what, name):
    """A rank-1 integer index array of a caller's sparse matrix, or ValueError."""
    array = np.asarray(value)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError("%s has a malformed %s: expected a 1-D integer array, got "
                         "dtype %s and shape %s" % (name, what, array.dtype, array.shape))
    return array


def check_structure(A, name="A"):
    """Raise ValueError unless the CSR/BSR ``A`` is safe for the kernels.

    scipy builds such arrays without looking at the indices, and its own
    ``check_format(full_check=True)`` is not called for us; a column index
    past the width would make a kernel read outside ``X``.  This checks, in
    O(nnz) numpy passes and without copies: ``indptr`` has one entry per
    (block) row plus one, starts at 0, never decreases and ends within
    ``indices`` and ``data``; every used index lies in ``[0, columns)``
    (block columns for BSR); BSR data holds blocks of ``blocksize``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from wavesparse._dispatch import check_structure
    >>> A = sp.csr_array((np.ones(1), np.array([7]), np.array([0, 1])), shape=(1, 2))
    >>> check_structure(A)
    Traceback (most recent call last):
    ...
    ValueError: A has a column index out of range: indices must lie in [0, 2), got 7
    """
    if len(A.shape) != 2:
        raise ValueError("%s must be a 2-D sparse matrix, got shape %s" % (name, A.shape))
    rows, cols = A.shape
    br, bc = A.blocksize if A.format == "bsr" else (1, 1)
    unit = "block column" if A.format == "bsr" else "column"
    if rows % br or cols % bc:
        raise ValueError("%s has shape %s, which its blocksize %s does not divide"
                         % (name, A.shape, (br, bc)))
    indptr = _index_array(A.indptr, "indptr", name)
    indices = _index_array(A.indices, "indices", name)
    data = np.asarray(A.data)
    if indptr.shape[0] != rows // br + 1:
        raise ValueError("%s has a malformed indptr: expected %d entries (one per %srow "
                         "plus one), got %d" % (name, rows // br + 1,
                                                "block " if A.format == "bsr" else "",
                                                indptr.shape[0]))
    if A.format == "bsr" and (data.ndim != 3 or data.shape[1:] != (br, bc)):
        raise ValueError("%s has malformed data: expected blocks of shape (n, %d, %d), "
                         "got shape %s" % (name, br, bc, data.shape))
    if A.format == "csr" and data.ndim != 1:
        raise ValueError("%s has malformed data: expected a 1-D array, got shape %s"
                         % (name, data.shape))
    first, last = int(indptr[0]), int(indptr[-1])
    stored = min(indices.shape[0], data.shape[0])
    if first != 0 or last < 0 or last > stored:
        raise ValueError("%s has a malformed indptr: it must start at 0 and end within "
                         "the %d stored entries, got indptr[0] = %d, indptr[-1] = %d"
                         % (name, stored, first, last))
    if indptr.shape[0] > 1 and np.any(indptr[1:] < indptr[:-1]):
        row = int(np.argmax(indptr[1:] < indptr[:-1]))
        raise ValueError("%s has a malformed indptr: it decreases at row %d (%d -> %d)"
                         % (name, row, int(indptr[row]), int(indptr[row + 1])))
    used = indices[:last]
    if used.size:
        low, high = int(used.min()), int(used.max())
        if low < 0 or high >= cols // bc:
            raise ValueError("%s has a %s index out of range: indices must lie in "
                             "[0, %d), got %d" % (name, unit, cols // bc,
                                                  low if low < 0 else high))


def _summed(A):
    """A copy of ``A`` in canonical form, duplicates summed.

    scipy sums in the array's dtype but refuses 16-bit ones: those are summed
    in float32 and rounded back to their dtype, as a 16-bit sum would be.
    """
    dtype = A.dtype
    if dtype in check.FLOAT_DTYPES:
        A = A.copy()
        A.sum_duplicates()
        return A
    wide = A.astype(np.float32)
    wide.sum_duplicates()
    wide.data = wide.data.astype(dtype)
    return wide


def sparse_parts(A, name="A", half=False):
    """The :class:`SparseParts` of a scipy CSR/BSR array or matrix.

    The structure is checked first (:func:`check_structure`), so no kernel
    reads out of bounds; duplicates are summed (on a copy) so the kernels see
    canonical parts.  With ``half``, float16 and bfloat16 values are taken
    too (the products' 16-bit weights).
    """
    import scipy.sparse as sp
    if not sp.issparse(A) or A.format not in ("csr", "bsr"):
        raise TypeError("%s must be a scipy.sparse CSR or BSR array or matrix, "
                        "got %s" % (name, type(A).__name__ if not sp.issparse(A)
                                    else A.format.upper()))
    if A.dtype not in check.FLOAT_DTYPES:
        from wavesparse.halfs import is_half
        if not (half and is_half(A.dtype)):
            raise TypeError("%s must hold %sfloat32 or float64 values, got dtype %s"
                            % (name, "float16, bfloat16, " if half else "", A.dtype))
    check_structure(A, name)
    if not A.has_canonical_format:
        A = _summed(A)
    wide = A.indices.dtype == np.int64 or A.indptr.dtype == np.int64
    index = np.int64 if wide else np.int32
    indices = np.ascontiguousarray(A.indices, dtype=index)
    indptr = np.ascontiguousarray(A.indptr, dtype=index)
    data = np.ascontiguousarray(A.data)
    size = A.blocksize if A.format == "bsr" else (1, 1)
    return SparseParts(A.format, data, indices, indptr, tuple(size), tuple(A.shape))


def assemble(matrix_type, parts, shape, **kwargs):
    """A scipy sparse array over ``(data, indices, indptr)`` as they are.

    No copy and no downcast: scipy may pick narrower indices than the ones
    the kernels filled, so those are put back.
    """
    data, indices, indptr = parts
    result = matrix_type((data, indices, indptr), shape=shape, **kwargs)
    result.data, result.indices, result.indptr = data, indices, indptr
    return result
