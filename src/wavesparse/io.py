"""Checkpoints in and out: safetensors and ``.npz``, dense or sparse.

A sparse tensor ``NAME`` is stored as plain arrays beside the dense ones, so
any safetensors or numpy reader can open the file:

=============================  ==========================================
``NAME.__csr_data``            values (nnz,)
``NAME.__csr_indices``         column of each value (nnz,), int32/int64
``NAME.__csr_indptr``          row starts (rows + 1,)
``NAME.__csr_shape``           int64 ``[rows, cols]`` of the matrix
``NAME.__bsr_data``            blocks (nnzb, R, C)
``NAME.__bsr_indices``         block column of each block (nnzb,)
``NAME.__bsr_indptr``          block-row starts (rows / R + 1,)
``NAME.__bsr_shape``           int64 ``[rows, cols]`` (padded to the block)
``NAME.__dense_shape``         int64 shape of the original tensor, when it
                               was not a matrix of that shape (a rank-1,
                               rank >= 3 or padded tensor)
=============================  ==========================================

A tensor of rank >= 3 is packed as the matrix ``(shape[0], rest)``.
:func:`load` gives scipy arrays back for the sparse entries (``dense=True``
gives every tensor as the original ndarray).  Files are written to a
temporary name in the target folder and renamed, so a failed or interrupted
write never leaves a partial file.

Examples
--------
>>> import os, tempfile, numpy as np
>>> from wavesparse import io, formats
>>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
>>> io.save(path, {"w": formats.to_csr(np.eye(3, dtype=np.float32)), "b": np.ones(3)})
>>> loaded = io.load(path)
>>> loaded["w"].format, loaded["w"].nnz, loaded["b"].shape
('csr', 3, (3,))
"""

import json
import os
import tempfile

import numpy as np
import scipy.sparse as sp

from wavesparse.halfs import is_half

__all__ = ["load", "save", "to_dense", "CheckpointError", "SUFFIXES"]

SUFFIXES = (".safetensors", ".npz")
_PARTS = ("data", "indices", "indptr", "shape")
# safetensors keeps no order of its own: save() records the caller's here.
_ORDER_KEY = "wavesparse.order"


class CheckpointError(ValueError):
    """A file that is missing, truncated or not a checkpoint we can read.

    Examples
    --------
    >>> from wavesparse.io import load, CheckpointError
    >>> try:
    ...     load("/nonexistent/model.npz")
    ... except CheckpointError as exc:
    ...     print(str(exc)[:40])
    cannot read /nonexistent/model.npz: file
    """


def _kind(path):
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in SUFFIXES:
        raise CheckpointError("%s: expected a .safetensors or .npz file, got %r"
                              % (path, suffix or "no suffix"))
    return suffix


def _read_raw(path):
    kind = _kind(path)
    if not os.path.isfile(path):
        raise CheckpointError("cannot read %s: file not found" % path)
    try:
        if kind == ".npz":
            # Our handle, closed even when the zip proves broken.
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        try:
            from safetensors import safe_open
        except ImportError:
            raise CheckpointError("reading %s needs the safetensors package: "
                                  "pip install 'wavesparse[io]'" % path) from None
        with safe_open(str(path), framework="np") as f:
            names = list(f.keys())
            order = json.loads((f.metadata() or {}).get(_ORDER_KEY, "[]"))
            if sorted(order) == sorted(names):
                names = order  # the order save() was given
            return {name: f.get_tensor(name) for name in names}
    except CheckpointError:
        raise
    except Exception as exc:  # every reader error: truncated, not the format
        raise CheckpointError("cannot read %s as %s: %s"
                              % (path, kind, str(exc).splitlines()[0] if str(exc) else
                                 type(exc).__name__)) from None


def load(path, dense=False):
    """The tensors of a checkpoint, by name, in the file's order.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` or ``.npz`` file, dense or written by :func:`save`.
    dense : bool
        Give sparse entries back as dense ndarrays of their original shape.

    Returns
    -------
    dict
        ndarray for dense tensors; ``scipy.sparse.csr_array`` or
        ``bsr_array`` for sparse ones (unless ``dense``).

    Raises
    ------
    CheckpointError
        For a missing, truncated or unreadable file, or broken sparse parts.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import io
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> io.save(path, {"w": np.eye(2, dtype=np.float32)})
    >>> io.load(path)["w"].dtype
    dtype('float32')
    """
    raw = _read_raw(path)
    out = {}
    for key, value in raw.items():
        if ".__" not in key:
            out[key] = value
            continue
        name, part = key.rsplit(".__", 1)
        if name in out or part == "dense_shape":
            continue
        fmt = part.split("_", 1)[0]
        if fmt not in ("csr", "bsr"):
            raise CheckpointError("%s: unknown sparse entry %r" % (path, key))
        try:
            parts = [raw["%s.__%s_%s" % (name, fmt, p)] for p in _PARTS]
        except KeyError as missing:
            raise CheckpointError("%s: sparse tensor %r lacks part %s"
                                  % (path, name, missing)) from None
        data, indices, indptr, shape = parts
        if is_half(data.dtype):
            data = data.astype(np.float32)  # exact; scipy.sparse holds no 16-bit dtype
        try:
            cls = sp.csr_array if fmt == "csr" else sp.bsr_array
            kwargs = {} if fmt == "csr" else {"blocksize": data.shape[1:]}
            matrix = cls((data, indices, indptr), shape=tuple(int(s) for s in shape), **kwargs)
            matrix.check_format(full_check=True)
        except Exception as exc:
            raise CheckpointError("%s: sparse tensor %r is inconsistent: %s"
                                  % (path, name, exc)) from None
        original = raw.get("%s.__dense_shape" % name)
        if dense:
            out[name] = to_dense(matrix, original)
        else:
            out[name] = matrix
            if original is not None:
                matrix.original_shape = tuple(int(s) for s in original)
    return out


def to_dense(value, original_shape=None):
    """A loaded entry as an ndarray of its original shape.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from wavesparse.io import to_dense
    >>> to_dense(sp.csr_array(np.ones((2, 4))), (2, 2, 2)).shape
    (2, 2, 2)
    """
    if not sp.issparse(value):
        return np.asarray(value)
    shape = original_shape if original_shape is not None else getattr(
        value, "original_shape", None)
    array = value.toarray()
    if shape is None:
        return array
    shape = tuple(int(s) for s in shape)
    rows = shape[0] if len(shape) > 1 else 1
    size = int(np.prod(shape))
    return array[:rows, :size // rows].reshape(shape)


def _entries(tensors):
    """The flat name -> ndarray mapping that goes into the file."""
    flat = {}
    for name, value in tensors.items():
        if ".__" in name:
            raise ValueError("tensor name %r must not contain '.__' (reserved "
                             "for sparse parts)" % name)
        if not sp.issparse(value):
            flat[name] = np.ascontiguousarray(value)
            continue
        fmt = value.format
        if fmt not in ("csr", "bsr"):
            raise ValueError("tensor %r: only CSR and BSR are stored, got %s"
                             % (name, fmt.upper()))
        # stored_dtype: the 16-bit dtype of values scipy holds as float32.
        data = value.data.astype(getattr(value, "stored_dtype", value.dtype), copy=False)
        flat["%s.__%s_data" % (name, fmt)] = np.ascontiguousarray(data)
        flat["%s.__%s_indices" % (name, fmt)] = np.ascontiguousarray(value.indices)
        flat["%s.__%s_indptr" % (name, fmt)] = np.ascontiguousarray(value.indptr)
        flat["%s.__%s_shape" % (name, fmt)] = np.asarray(value.shape, dtype=np.int64)
        original = getattr(value, "original_shape", None)
        if original is not None and tuple(original) != tuple(value.shape):
            flat["%s.__dense_shape" % name] = np.asarray(original, dtype=np.int64)
    return flat


def save(path, tensors, metadata=None):
    """Write tensors (ndarrays and scipy CSR/BSR arrays) to a checkpoint.

    The file is written to a temporary name in the same folder and renamed
    over ``path`` only when complete.

    Parameters
    ----------
    path : str or os.PathLike
        ``.safetensors`` or ``.npz``.
    tensors : dict
        Name -> ndarray or scipy CSR/BSR array (with an optional
        ``original_shape`` attribute for tensors that were not matrices, and
        an optional ``stored_dtype``, float16 or bfloat16, for float32 values
        to store in that dtype).
    metadata : dict of str to str, optional
        Stored in the safetensors header (ignored for ``.npz``).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import io, formats
    >>> folder = tempfile.mkdtemp()
    >>> io.save(os.path.join(folder, "m.npz"), {"w": formats.to_csr(np.eye(3))})
    >>> sorted(os.listdir(folder))
    ['m.npz']
    """
    kind = _kind(path)
    flat = _entries(tensors)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path),
                               suffix=".part" + kind, dir=folder)
    os.close(fd)
    try:
        if kind == ".npz":
            np.savez(tmp, **flat)
        else:
            from safetensors.numpy import save_file
            header = dict(metadata or {})
            header[_ORDER_KEY] = json.dumps(list(flat))
            save_file(flat, tmp, metadata=header)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
