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
``NAME.__nm_values``           N:M kept values (rows, groups * n)
``NAME.__nm_positions``        uint8 position of each in its group
``NAME.__nm_shape``            int64 ``[rows, cols]`` of the matrix
``NAME.__nm_pattern``          int64 ``[n, m]``
``NAME.__dense_shape``         int64 shape of the original tensor, when it
                               was not a matrix of that shape (a rank-1,
                               rank >= 3 or padded tensor)
=============================  ==========================================

A tensor of rank >= 3 is packed as the matrix ``(shape[0], rest)``.
safetensors files are read here, each tensor straight from the file into its
own array (the format's rules are checked: known dtypes, sizes that match
the shapes, no gaps or overlaps), so reading needs no package and holds one
copy of the data; writing uses the ``safetensors`` package (extra ``io``).
:func:`load` gives scipy arrays back for the sparse entries (``dense=True``
gives every tensor as the original ndarray).  Files are written to a
temporary name in the target folder and renamed, so a failed or interrupted
write never leaves a partial file (see :mod:`wavesparse._files` for the
names, and how stale ones left by a killed process are removed).

A file is refused, naming the tensors, when it is ambiguous: a dense ``x``
beside ``x.__csr_*`` parts, CSR and BSR parts of one name, a lone
``x.__dense_shape``, or npz members ``w.npy`` and ``w`` (which numpy reads as
one name).  Scalars (0-d tensors) keep their shape ``()``.

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
import struct

import ml_dtypes
import numpy as np
import scipy.sparse as sp

from wavesparse import _files
from wavesparse.halfs import is_half

__all__ = ["load", "save", "metadata", "to_dense", "CheckpointError", "SUFFIXES"]

SUFFIXES = (".safetensors", ".npz")
_PARTS = ("data", "indices", "indptr", "shape")
_NM_PARTS = ("values", "positions", "shape", "pattern")
# safetensors keeps no order of its own: save() records the caller's here.
_ORDER_KEY = "wavesparse.order"


class CheckpointError(ValueError):
    """A file that is missing, truncated, ambiguous or not a checkpoint we can
    read, or tensors that cannot be written in the format asked for.

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


def _safetensors(path, doing):
    """The safetensors package, or CheckpointError saying how to get it."""
    try:
        import safetensors.numpy
    except ImportError:
        raise CheckpointError("%s %s needs the safetensors package: "
                              "pip install 'wavesparse[io]'" % (doing, path)) from None
    return safetensors


#: safetensors dtype names -> the little-endian numpy dtypes they are.
_SAFETENSORS_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2",
                       "F16": "<f2", "BF16": ml_dtypes.bfloat16, "U32": "<u4", "I32": "<i4",
                       "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8"}
_MAX_HEADER = 100 << 20


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError("the header names tensor %r twice" % key)
        seen[key] = value
    return seen


def _safetensors_header(f, size):
    """``(entries, metadata, data start)`` of an open safetensors file.

    ``entries`` are ``(begin, end, name, dtype, shape)`` in the order their
    data lie in the file, checked against the format's rules: known dtypes,
    sizes that match the shapes, data that covers the buffer without gaps or
    overlaps.  Raises ValueError saying what is wrong.
    """
    head = f.read(8)
    if len(head) < 8:
        raise ValueError("shorter than the 8-byte header length")
    n, = struct.unpack("<Q", head)
    if n > min(size - 8, _MAX_HEADER):
        raise ValueError("header length %d is past the file's %d bytes" % (n, size))
    header = json.loads(f.read(n).decode("utf-8"), object_pairs_hook=_unique_keys)
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in meta.items()):
        raise ValueError("__metadata__ must map str to str")
    buffer = size - 8 - n
    entries = []
    for name, info in header.items():
        try:
            dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]])
            shape = tuple(info["shape"])
            begin, end = info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ValueError("tensor %r: dtype %r is not one numpy holds, or its entry "
                             "is malformed" % (name, info.get("dtype") if isinstance(
                                 info, dict) else info)) from None
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                   for d in shape + (begin, end)):
            raise ValueError("tensor %r: shape and offsets must be non-negative integers"
                             % name)
        if not begin <= end <= buffer or end - begin != int(np.prod(shape)) * dtype.itemsize:
            raise ValueError("tensor %r: offsets %s do not hold %s %s within %d bytes"
                             % (name, [begin, end], info["dtype"], list(shape), buffer))
        entries.append((begin, end, name, dtype, shape))
    entries.sort(key=lambda e: (e[0], e[1]))
    position = 0
    for begin, end, name, _, _ in entries:
        if begin != position:
            raise ValueError("tensor %r starts at byte %d, expected %d (gap or overlap)"
                             % (name, begin, position))
        position = end
    if position != buffer:
        raise ValueError("%d bytes follow the last tensor" % (buffer - position))
    return entries, meta, 8 + n


def _read_safetensors(path):
    """``({name: array}, metadata)``: each tensor read straight into its own
    numpy array (one copy of the data in memory, no package needed)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        entries, meta, start = _safetensors_header(f, size)
        tensors = {}
        for begin, end, name, dtype, shape in entries:
            array = np.empty(shape, dtype)
            f.seek(start + begin)
            if f.readinto(array.reshape(-1).view(np.uint8)) != end - begin:
                raise ValueError("tensor %r is truncated" % name)
            tensors[name] = array
    meta = dict(meta)
    order = json.loads(meta.pop(_ORDER_KEY, "[]"))
    if sorted(order) == sorted(tensors):
        tensors = {name: tensors[name] for name in order}  # the order save() was given
    return tensors, meta


def _npz_members(f, path):
    """npz member names; ``w.npy`` beside ``w`` (one name to numpy) is refused."""
    seen = {}
    for member in f.zip.namelist():
        name = member[:-4] if member.endswith(".npy") else member
        if name in seen:
            raise CheckpointError("%s is ambiguous: members %r and %r are both tensor %r"
                                  % (path, seen[name], member, name))
        seen[name] = member
    return f.files


def _read_raw(path):
    kind = _kind(path)
    if not os.path.isfile(path):
        raise CheckpointError("cannot read %s: file not found" % path)
    try:
        if kind == ".npz":
            # Our handle, closed even when the zip proves broken.
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as f:
                return {k: f[k] for k in _npz_members(f, path)}, {}
        return _read_safetensors(path)
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
        Give sparse entries back as dense ndarrays of their original shape
        (16-bit sparse parts as 16-bit arrays).

    Returns
    -------
    dict
        ndarray for dense tensors; ``scipy.sparse.csr_array`` or
        ``bsr_array`` for sparse ones, :class:`wavesparse.formats_nm.NMArray`
        for N:M ones (unless ``dense``).

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
    raw, _ = _read_raw(path)
    _refuse_ambiguous(path, raw)
    out = {}
    for key, value in raw.items():
        if ".__" not in key:
            out[key] = value
            continue
        name, part = key.rsplit(".__", 1)
        if name in out or part == "dense_shape":
            continue
        if part.startswith("nm_"):
            out[name] = _load_nm(path, raw, name, dense)
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
        stored = data.dtype
        if is_half(stored):
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
        if is_half(stored):
            matrix.stored_dtype = stored  # saved back as it was; reported as stored
        if dense:
            out[name] = to_dense(matrix, original)
            if is_half(stored):  # the values as the file holds them (exact)
                out[name] = out[name].astype(stored)
        else:
            out[name] = matrix
            if original is not None:
                matrix.original_shape = tuple(int(s) for s in original)
    return out


def _load_nm(path, raw, name, dense):
    """Tensor ``name`` from its N:M parts: an NMArray, or dense."""
    from wavesparse.formats_nm import NMArray
    try:
        values, positions, shape, pattern = (raw["%s.__nm_%s" % (name, p)]
                                             for p in _NM_PARTS)
    except KeyError as missing:
        raise CheckpointError("%s: N:M tensor %r lacks part %s"
                              % (path, name, missing)) from None
    try:
        matrix = NMArray(values, positions, int(pattern[0]), int(pattern[1]),
                         tuple(int(s) for s in shape))
    except Exception as exc:
        raise CheckpointError("%s: N:M tensor %r is inconsistent: %s"
                              % (path, name, exc)) from None
    original = raw.get("%s.__dense_shape" % name)
    if dense:
        return to_dense(matrix, original)
    if original is not None:
        matrix.original_shape = tuple(int(s) for s in original)
    return matrix


def _nm_entries(name, value):
    """The flat entries of an NMArray ``value`` named ``name``."""
    flat = {"%s.__nm_values" % name: value.values,
            "%s.__nm_positions" % name: value.positions,
            "%s.__nm_shape" % name: np.asarray(value.shape, dtype=np.int64),
            "%s.__nm_pattern" % name: np.asarray((value.n, value.m), dtype=np.int64)}
    original = getattr(value, "original_shape", None)
    if original is not None and tuple(original) != tuple(value.shape):
        flat["%s.__dense_shape" % name] = np.asarray(original, dtype=np.int64)
    return flat


def _refuse_ambiguous(path, raw):
    """CheckpointError naming the tensors when entries would be lost on load."""
    formats = {}
    for key in raw:
        if ".__" in key:
            name, part = key.rsplit(".__", 1)
            if part != "dense_shape":
                formats.setdefault(name, set()).add(part.split("_", 1)[0])
    problems = []
    for name, found in formats.items():
        if name in raw:
            problems.append("%r is stored both dense and as sparse parts" % name)
        if len(found) > 1:
            problems.append("%r has parts of %s" % (name, " and ".join(sorted(found))))
    for key in raw:
        if key.endswith(".__dense_shape") and key[:-len(".__dense_shape")] not in formats:
            problems.append("%r has no sparse parts" % key)
    if problems:
        raise CheckpointError("%s is ambiguous, refusing to drop tensors: %s"
                              % (path, "; ".join(problems)))


def metadata(path):
    """The string metadata of a checkpoint's header (``{}`` for ``.npz``).

    The keys a safetensors file carries (``{"format": "pt"}`` for one that
    transformers wrote) are what :func:`save` should be given back, so that
    a pruned file keeps them; the order key wavesparse adds is left out.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import io
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> io.save(path, {"w": np.ones(2)})
    >>> io.metadata(path)
    {}
    """
    kind = _kind(path)
    if not os.path.isfile(path):
        raise CheckpointError("cannot read %s: file not found" % path)
    if kind == ".npz":
        return {}
    try:
        with open(path, "rb") as f:
            meta = dict(_safetensors_header(f, os.path.getsize(path))[1])
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError("cannot read %s as .safetensors: %s" % (path, exc)) from None
    meta.pop(_ORDER_KEY, None)
    return meta


def to_dense(value, original_shape=None):
    """A loaded entry as an ndarray of its original shape.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from wavesparse.io import to_dense
    >>> to_dense(sp.csr_array(np.ones((2, 4))), (2, 2, 2)).shape
    (2, 2, 2)
    """
    if getattr(value, "format", None) == "nm":
        if original_shape is None:
            original_shape = getattr(value, "original_shape", None)
        value = value.tocsr()
    if not sp.issparse(value):
        return np.asarray(value)
    shape = original_shape if original_shape is not None else getattr(
        value, "original_shape", None)
    array = value.toarray()
    if shape is None:
        return array
    shape = tuple(int(s) for s in shape)
    size = int(np.prod(shape))
    if size == 0:
        return np.zeros(shape, array.dtype)
    rows = shape[0] if len(shape) > 1 else 1
    return array[:rows, :size // rows].reshape(shape)


#: What a safetensors file can hold, of numpy's dtypes.
_SAFETENSORS_KINDS = "biuf"


def _entries(tensors, kind):
    """The flat name -> ndarray mapping that goes into the file."""
    if not isinstance(tensors, dict):
        raise TypeError("tensors must be a dict of str -> array, got %s"
                        % type(tensors).__name__)
    flat = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError("tensor names must be str, got %r (%s)"
                            % (name, type(name).__name__))
        if ".__" in name:
            raise ValueError("tensor name %r must not contain '.__' (reserved "
                             "for sparse parts)" % name)
        if getattr(value, "format", None) == "nm":
            flat.update(_nm_entries(name, value))
            continue
        if not sp.issparse(value):
            array = np.asarray(value, order="C")  # 0-d stays 0-d
            if array.dtype.hasobject:
                raise CheckpointError("tensor %r holds Python objects, which a checkpoint "
                                      "cannot store" % name)
            if kind == ".safetensors" and (array.dtype.kind not in _SAFETENSORS_KINDS
                                           or array.dtype.fields is not None) \
                    and array.dtype != ml_dtypes.bfloat16:
                raise CheckpointError("tensor %r holds %s, which safetensors cannot store "
                                      "(numbers and bools only): write .npz, or leave it out"
                                      % (name, array.dtype))
            flat[name] = array
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
    over ``path`` only when complete; stale temporary files of killed
    wavesparse processes in that folder are removed first
    (:mod:`wavesparse._files`).

    Parameters
    ----------
    path : str or os.PathLike
        ``.safetensors`` or ``.npz``.
    tensors : dict
        Name -> ndarray, scipy CSR/BSR array or
        :class:`~wavesparse.formats_nm.NMArray` (with an optional
        ``original_shape`` attribute for tensors that were not matrices, and
        an optional ``stored_dtype``, float16 or bfloat16, for float32 values
        to store in that dtype).
    metadata : dict of str to str, optional
        Stored in the safetensors header (ignored for ``.npz``); pass
        :func:`metadata` of the file a model came from to keep its keys.

    Raises
    ------
    CheckpointError
        Without the safetensors package for a ``.safetensors`` path, for a
        tensor the format cannot hold (strings, structured or object
        arrays), or when the writer fails; nothing is left at ``path``.
    OSError
        When the folder cannot be written (missing, full disk), naming
        ``path``.

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
    if kind == ".safetensors":
        save_file = _safetensors(path, "writing").numpy.save_file
    flat = _entries(tensors, kind)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder):
        _files.remove_stale(folder)
    with _files.replacing(path) as tmp:
        try:
            if kind == ".npz":
                np.savez(tmp, **flat)
            else:
                header = dict(metadata or {})
                header[_ORDER_KEY] = json.dumps(list(flat))
                save_file(flat, tmp, metadata=header)
        except (OSError, CheckpointError):
            raise
        except Exception as exc:  # the writer's own errors (SafetensorError)
            raise CheckpointError("cannot write %s: %s" % (path, str(exc).splitlines()[0]
                                                          if str(exc) else type(exc).__name__)
                                  ) from None
