"""Sharded safetensors checkpoints, read and pruned one tensor at a time.

A large model comes as shards (``model-00001-of-00004.safetensors``, ...)
named by ``model.safetensors.index.json``, whose ``weight_map`` says which
shard holds each tensor.  :func:`open_checkpoint` takes that index, or a
folder (with such an index, or just ``*.safetensors`` files), and reads only
the headers; a tensor's bytes are then read alone, never the whole file:
through a memory map (:func:`open_array`) or into one reused buffer
(:class:`Reader`, what :func:`prune` does: no fresh pages per tensor, and a
resident size set by the largest tensor).  :func:`prune` streams the
checkpoint in two passes:

1. selection: the magnitude histograms, tensor by tensor (one pass over
   16-bit keys for float16/bfloat16, see :mod:`wavesparse.halfs`; float32 and
   float64 tensors, or a mix of dtypes, go to
   :func:`wavesparse.ops.rank_magnitude` together, as memory maps, so that
   case is not bounded by the largest tensor);
2. writing: shard by shard, each tensor thresholded, its ties resolved by the
   position rule of :mod:`wavesparse.pruning.selection` (so the result is the
   one :class:`~wavesparse.MagnitudePruner` gives on the same tensors in
   memory), packed, and written in its input dtype.

The output folder gets the same shard names and its own index, whose
``weight_map`` names the sparse parts (``NAME.__csr_data``, ... as in
:mod:`wavesparse.io`) and whose ``metadata.total_size`` is the bytes of all
tensors.  Everything is written in a hidden folder beside the output and
moved in only when complete, so an error or Ctrl-C leaves no partial output.

Examples
--------
>>> import os, tempfile, numpy as np, ml_dtypes
>>> from wavesparse import shards
>>> folder = tempfile.mkdtemp()
>>> w = np.arange(8, dtype=ml_dtypes.bfloat16).reshape(2, 4)
>>> shards.write_checkpoint(os.path.join(folder, "in"), [{"a": w}, {"b": -w}])
>>> report = shards.prune(os.path.join(folder, "in"), os.path.join(folder, "out"),
...                       0.5, scope="global", progress=False)
>>> sorted(os.listdir(os.path.join(folder, "out")))
['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']
>>> ckpt = shards.open_checkpoint(os.path.join(folder, "out"))
>>> shards.open_array(ckpt.tensors[0])
memmap([[0, 0, 0, 0],
        [4, 5, 6, 7]], dtype=bfloat16)
"""

import glob
import json
import os
import shutil
import struct
import tempfile
from collections import namedtuple

import numpy as np

from wavesparse import _validate as check
from wavesparse import formats, halfs, ops
from wavesparse._ties import strictly_above
from wavesparse.io import CheckpointError
from wavesparse.pruning.choice import layer_choice

__all__ = ["TensorInfo", "Checkpoint", "DTYPES", "is_sharded", "read_header",
           "open_checkpoint", "open_array", "Reader", "Streamed", "write_shard",
           "write_checkpoint", "chosen_tensors", "write_pruned_shard", "write_index",
           "prune"]

INDEX_SUFFIX = ".safetensors.index.json"
INDEX_NAME = "model" + INDEX_SUFFIX
DTYPES = {"BOOL": np.dtype(np.bool_), "U8": np.dtype(np.uint8), "I8": np.dtype(np.int8),
          "U16": np.dtype(np.uint16), "I16": np.dtype(np.int16),
          "U32": np.dtype(np.uint32), "I32": np.dtype(np.int32),
          "U64": np.dtype(np.uint64), "I64": np.dtype(np.int64),
          "F16": np.dtype(np.float16), "BF16": halfs.BFLOAT16,
          "F32": np.dtype(np.float32), "F64": np.dtype(np.float64)}
_CODES = {dtype: code for code, dtype in DTYPES.items()}
_ORDER_KEY = "wavesparse.order"
_WRITE_CHUNK = 1 << 28
_CHUNK = 1 << 20  # elements read at a time by the tie and count passes
_CHUNK_BYTES = 1 << 26  # bytes of a tensor read, pruned and written at a time

#: One tensor of a shard: where its bytes lie in the file.
TensorInfo = namedtuple("TensorInfo", "name dtype shape path offset nbytes")
#: A checkpoint: its folder, index (or None), shard file names in order,
#: tensors in shard and file order, and the index's metadata.
Checkpoint = namedtuple("Checkpoint", "folder index shards tensors metadata")


def is_sharded(path):
    """Whether ``path`` names a folder or an index rather than one file.

    Examples
    --------
    >>> from wavesparse.shards import is_sharded
    >>> is_sharded("model.safetensors.index.json"), is_sharded("model.npz")
    (True, False)
    """
    return os.path.isdir(path) or str(path).endswith(".index.json")


def read_header(path):
    """``(tensors, metadata)`` of one safetensors file, tensors in file order.

    Raises
    ------
    CheckpointError
        For a missing or truncated file, a broken header, or a dtype that
        wavesparse does not read (one line naming the file and tensor).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> shards.write_shard(path, [("w", np.float16([1, 2]))])
    4
    >>> shards.read_header(path)[0][0][:3]
    ('w', dtype('float16'), (2,))
    """
    if not os.path.isfile(path):
        raise CheckpointError("cannot read %s: file not found" % path)
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 0 < n <= size - 8:
            raise CheckpointError("%s: not a safetensors file (header size %d, file "
                                  "size %d)" % (path, n, size))
        try:
            header = json.loads(handle.read(n))
        except ValueError as exc:
            raise CheckpointError("%s: broken safetensors header: %s" % (path, exc)) from None
    if not isinstance(header, dict):
        raise CheckpointError("%s: broken safetensors header: not a JSON object" % path)
    metadata = header.pop("__metadata__", None) or {}
    start = 8 + n
    tensors = []
    for name, entry in header.items():
        try:
            code, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise CheckpointError("%s: broken header entry for tensor %r" % (path, name)) from None
        if code not in DTYPES:
            raise CheckpointError("%s: tensor %r has dtype %s, which wavesparse does not "
                                  "read (it reads %s)" % (path, name, code, ", ".join(DTYPES)))
        dtype = DTYPES[code]
        shape = tuple(int(s) for s in shape)
        if end - begin != int(np.prod(shape)) * dtype.itemsize or start + end > size:
            raise CheckpointError("%s: tensor %r: offsets [%d, %d) do not fit its shape %s "
                                  "or the file (%d bytes)" % (path, name, begin, end,
                                                              shape, size))
        tensors.append(TensorInfo(name, dtype, shape, path, start + begin, end - begin))
    tensors.sort(key=lambda t: t.offset)
    return tensors, metadata


def _read_index(path):
    try:
        with open(path, encoding="utf-8") as handle:
            index = json.load(handle)
    except FileNotFoundError:
        raise CheckpointError("cannot read %s: file not found" % path) from None
    except ValueError as exc:
        raise CheckpointError("%s: broken index: %s" % (path, exc)) from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(
            isinstance(v, str) for v in weight_map.values()):
        raise CheckpointError("%s: broken index: no 'weight_map' of tensor name -> "
                              "shard file" % path)
    return weight_map, index.get("metadata") or {}


def open_checkpoint(path):
    """The shards and tensors of an index file or a folder (headers only).

    A folder is read through its ``*.safetensors.index.json`` when it has one
    (``model.safetensors.index.json`` among several), else as every
    ``*.safetensors`` file in it, in name order.

    Raises
    ------
    CheckpointError
        For a broken index, a shard the index names that is missing, an index
        that disagrees with its shards, or a shard :func:`read_header` refuses.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> folder = tempfile.mkdtemp()
    >>> shards.write_checkpoint(folder, [{"a": np.ones(2)}, {"b": np.ones(3)}])
    >>> [(t.name, t.shape) for t in shards.open_checkpoint(folder).tensors]
    [('a', (2,)), ('b', (3,))]
    """
    path = os.fspath(path)
    index, weight_map, metadata = None, None, {}
    if os.path.isdir(path):
        folder = path
        indexes = sorted(glob.glob(os.path.join(folder, "*" + INDEX_SUFFIX)))
        if len(indexes) > 1 and os.path.join(folder, INDEX_NAME) in indexes:
            indexes = [os.path.join(folder, INDEX_NAME)]
        if len(indexes) > 1:
            raise CheckpointError("%s holds %d indexes (%s): name the one to read"
                                  % (folder, len(indexes), ", ".join(map(os.path.basename, indexes))))
        index = indexes[0] if indexes else None
    else:
        folder, index = os.path.dirname(path) or ".", path
    if index is not None:
        weight_map, metadata = _read_index(index)
        names = list(dict.fromkeys(weight_map.values()))
        for shard in names:
            if not os.path.isfile(os.path.join(folder, shard)):
                raise CheckpointError("%s names shard %s, which is missing from %s"
                                      % (index, shard, folder))
    else:
        names = [os.path.basename(p) for p in
                 sorted(glob.glob(os.path.join(folder, "*.safetensors")))]
        if not names:
            raise CheckpointError("%s holds no *.safetensors shard and no index" % folder)
    names.sort()
    tensors = []
    for shard in names:
        tensors.extend(read_header(os.path.join(folder, shard))[0])
    if weight_map is not None:
        found = {t.name: os.path.basename(t.path) for t in tensors}
        for name, shard in weight_map.items():
            if found.get(name) != shard:
                raise CheckpointError("%s: tensor %r is not in shard %s, where the index "
                                      "puts it" % (index, name, shard))
        unlisted = sorted(set(found) - set(weight_map))
        if unlisted:
            raise CheckpointError("%s: the shards hold tensors the index does not name: %s"
                                  % (index, ", ".join(unlisted[:8])))
    return Checkpoint(folder, index, names, tensors, metadata)


def open_array(info):
    """A read-only memory map of one tensor's bytes (an ndarray when empty).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> _ = shards.write_shard(path, [("w", np.float32([[1, 2]]))])
    >>> shards.open_array(shards.read_header(path)[0][0])
    memmap([[1., 2.]], dtype=float32)
    """
    if info.nbytes == 0:
        return np.zeros(info.shape, info.dtype)
    return np.memmap(info.path, dtype=info.dtype, mode="r", offset=info.offset,
                     shape=info.shape)


class Reader:
    """Reads tensors one at a time into one reused buffer (and keeps the
    threshold's output buffers), so streaming a checkpoint touches the same
    memory over and over: no page faults of fresh maps, and a resident size
    set by the largest tensor.  An array it returns is valid until the next
    call of :meth:`read`.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> _ = shards.write_shard(path, [("w", np.float16([[1, 2]]))])
    >>> shards.Reader().read(shards.read_header(path)[0][0])
    array([[1., 2.]], dtype=float16)
    """

    def __init__(self):
        self._buffers = {}

    def buffer(self, role, n, dtype):
        """A reused C-contiguous ``dtype`` array of ``n`` elements for ``role``."""
        dtype = np.dtype(dtype)
        held = self._buffers.get(role)
        if held is None or held.nbytes < n * dtype.itemsize:
            held = self._buffers[role] = np.empty(n * dtype.itemsize, np.uint8)
        return held[:n * dtype.itemsize].view(dtype)

    def read(self, info):
        """The tensor's values (in the reused buffer)."""
        data = self.buffer("input", info.nbytes, np.uint8)
        with open(info.path, "rb", buffering=0) as handle:
            handle.seek(info.offset)
            self._fill(handle, data, info)
        return data.view(info.dtype).reshape(info.shape)

    def chunks(self, info, chunk_bytes):
        """The tensor's flat elements, in 1-D pieces of at most ``chunk_bytes``
        (each in the reused buffer, valid until the next piece)."""
        step = max(1, chunk_bytes // info.dtype.itemsize) * info.dtype.itemsize
        with open(info.path, "rb", buffering=0) as handle:
            handle.seek(info.offset)
            for lo in range(0, info.nbytes, step):
                data = self.buffer("input", min(step, info.nbytes - lo), np.uint8)
                self._fill(handle, data, info)
                yield data.view(info.dtype)

    @staticmethod
    def _fill(handle, data, info):
        view, done = memoryview(data), 0
        while done < data.nbytes:
            got = handle.readinto(view[done:])
            if not got:
                raise CheckpointError("%s: truncated while reading tensor %r"
                                      % (info.path, info.name))
            done += got


# ------------------------------------------------------------------ writing

def _entry_names(name, ndim, layout):
    """The entries one tensor becomes in the file, as :mod:`wavesparse.io` names them."""
    if layout == "dense":
        return [name]
    parts = ["%s.__%s_%s" % (name, layout, p) for p in ("data", "indices", "indptr", "shape")]
    return parts + (["%s.__dense_shape" % name] if ndim != 2 else [])


#: A tensor written piece by piece: its dtype, shape, and an iterable of
#: arrays whose flat elements, one after the other, are the tensor's.
Streamed = namedtuple("Streamed", "dtype shape pieces")


def _write_bytes(handle, array):
    raw = memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    for lo in range(0, len(raw), _WRITE_CHUNK):
        chunk = raw[lo:lo + _WRITE_CHUNK]
        while len(chunk):
            chunk = chunk[handle.write(chunk):]
    return len(raw)


def _write_array(handle, array, offset):
    """Writes one array's (or :class:`Streamed` tensor's) bytes; returns its
    header entry."""
    if isinstance(array, Streamed):
        dtype, shape = np.dtype(array.dtype), tuple(array.shape)
        nbytes = sum(_write_bytes(handle, piece) for piece in array.pieces)
        if nbytes != int(np.prod(shape)) * dtype.itemsize:
            raise ValueError("streamed tensor of shape %s got %d bytes" % (shape, nbytes))
    else:
        dtype, shape = array.dtype, array.shape
        nbytes = _write_bytes(handle, array)
    return {"dtype": _CODES[dtype], "shape": list(shape),
            "data_offsets": [offset, offset + nbytes]}


def write_shard(path, items, names=None, metadata=None):
    """Writes ``(name, ndarray or Streamed)`` pairs, produced one at a time,
    as one safetensors file; returns the bytes of tensor data written.

    ``names`` (every entry name, in order) lets the header space be reserved
    before the data, so no tensor is held back; without it the items are
    listed first.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> shards.write_shard(path, [("a", np.int64([1, 2])), ("b", np.float16([3]))])
    18
    """
    if names is None:
        items = list(items)
        names = [n for n, _ in items]
    metadata = dict(metadata or {})
    metadata[_ORDER_KEY] = json.dumps(list(names))
    reserve = len(json.dumps({"__metadata__": metadata})) + 64 + sum(
        len(json.dumps(n)) + 200 for n in names)
    reserve += -(8 + reserve) % 8
    header, offset = {}, 0
    with open(path, "wb", buffering=0) as handle:
        handle.seek(8 + reserve)
        for name, array in items:
            header[name] = _write_array(handle, array, offset)
            offset = header[name]["data_offsets"][1]
            del array  # before the next item is made
        header["__metadata__"] = metadata
        text = json.dumps(header, separators=(",", ":")).encode()
        handle.seek(0)
        handle.write(struct.pack("<Q", reserve) + text + b" " * (reserve - len(text)))
    return offset


def write_checkpoint(folder, shards, metadata=None):
    """Writes a sharded checkpoint: ``shards`` is a list of {name: ndarray},
    one per shard, named ``model-0000i-of-0000n.safetensors``, with
    ``model.safetensors.index.json`` (used by tests and the benchmark).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> folder = tempfile.mkdtemp()
    >>> shards.write_checkpoint(folder, [{"a": np.ones(2)}])
    >>> sorted(os.listdir(folder))
    ['model-00001-of-00001.safetensors', 'model.safetensors.index.json']
    """
    os.makedirs(folder, exist_ok=True)
    weight_map, total = {}, 0
    for i, tensors in enumerate(shards):
        shard = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        total += write_shard(os.path.join(folder, shard), tensors.items(),
                             list(tensors), metadata)
        weight_map.update(dict.fromkeys(tensors, shard))
    _write_index(os.path.join(folder, INDEX_NAME), weight_map, total, metadata)


def _write_index(path, weight_map, total, metadata=None):
    payload = {"metadata": dict(metadata or {}, total_size=total), "weight_map": weight_map}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.write("\n")


class _Output:
    """A hidden folder beside ``folder`` that becomes it when complete."""

    def __init__(self, folder, force):
        self.folder = os.path.abspath(folder)
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise CheckpointError("%s exists and is not a folder" % folder)
        if os.path.isdir(self.folder) and os.listdir(self.folder) and not force:
            raise CheckpointError("%s exists and is not empty: pass --force to replace "
                                  "its files" % folder)
        parent = os.path.dirname(self.folder)
        os.makedirs(parent, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix=".%s." % os.path.basename(self.folder),
                                    suffix=".partial", dir=parent)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def commit(self, index_name):
        """Moves the files in, the index last; the output is complete then."""
        umask = os.umask(0)
        os.umask(umask)
        names = sorted(os.listdir(self.tmp), key=lambda n: n == index_name)
        for name in names:
            os.chmod(self.path(name), 0o666 & ~umask)
        if not os.path.isdir(self.folder):
            os.chmod(self.tmp, 0o777 & ~umask)
            os.rename(self.tmp, self.folder)
            return
        for name in names:
            os.replace(self.path(name), os.path.join(self.folder, name))
        os.rmdir(self.tmp)

    def discard(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


# ------------------------------------------------------------------ pruning

def _stand_in(info):
    """A zero-byte array with the tensor's dtype and shape, for layer_choice."""
    return np.broadcast_to(np.zeros((), info.dtype), info.shape)


def _one_half_dtype(infos):
    dtypes = {t.dtype for t in infos}
    return len(dtypes) == 1 and halfs.is_half(next(iter(dtypes)))


def _rank(infos, k, bar, reader, chunk_bytes):
    """``(value, n_below)`` of the k-th smallest magnitude over ``infos``."""
    if _one_half_dtype(infos):
        hist = np.zeros(halfs.KEYS, dtype=np.int64)
        for t in infos:
            for piece in reader.chunks(t, chunk_bytes):
                halfs.histogram([piece], hist, argument=t.name)
                bar.update(piece.nbytes)
        key, n_below, _ = halfs.select(hist, k)
        return infos[0].dtype.type(halfs.value_of(key, infos[0].dtype)), n_below
    arrays = [open_array(t) for t in infos]
    value, n_below, _ = ops.rank_magnitude(arrays, k, backend="cpu")
    bar.update(sum(t.nbytes for t in infos))
    return value, n_below


def _rank_one(w, k):
    """``(value, n_below)`` of the k-th smallest magnitude of one array."""
    value, n_below, _ = ops.rank_magnitude(w, k, backend="cpu")
    return value, n_below


def _threshold(w, t, reader):
    """:func:`wavesparse.ops.apply_threshold` on the CPU, 16-bit results in
    the reader's reused buffers."""
    if not halfs.is_half(w.dtype) or not w.size:
        return ops.apply_threshold(w, t, backend="cpu")
    buffers = (reader.buffer("pruned", w.size, np.uint16),
               reader.buffer("mask", w.size, np.bool_))
    return halfs.apply_threshold(w, float(t), buffers=buffers)


def _prune_tensor(w, value, ties, reader):
    """``(pruned, mask, ties pruned)``: ``|w| < value`` pruned, and of the
    ``|w| == value`` the first ``ties`` (flat C order)."""
    if ties == 0:  # every tie kept: one threshold at the value itself
        pruned, mask = _threshold(w, value, reader)
        return pruned, mask, 0
    if halfs.is_half(w.dtype) and halfs.is_half(np.asarray(value).dtype) and w.size:
        buffers = (reader.buffer("pruned", w.size, np.uint16),
                   reader.buffer("mask", w.size, np.bool_))
        return halfs.prune_ties(w, value, ties, buffers)
    pruned, mask = _threshold(w, strictly_above(value, w.dtype), reader)
    flat_w, flat_p, flat_m = w.reshape(-1), pruned.reshape(-1), mask.reshape(-1)
    left = ties
    for lo in range(0, flat_w.size, _CHUNK):
        equal = np.abs(flat_w[lo:lo + _CHUNK]) == value
        count = int(np.count_nonzero(equal))
        if left >= count:
            left -= count
            continue
        kept = np.flatnonzero(equal)[left:] + lo
        left = 0
        flat_m[kept] = True
        flat_p[kept] = flat_w[kept]
    return pruned, mask, ties - left


def _packed(info, pruned, layout, block):
    """The entries of one pruned tensor, in its input dtype."""
    if layout == "dense":
        return [(info.name, pruned)]
    matrix = pruned.reshape(pruned.shape[0], -1) if pruned.ndim > 1 else pruned.reshape(1, -1)
    if layout == "csr":
        packed = formats.to_csr(matrix)
    else:
        r, c = block
        if matrix.shape[0] % r or matrix.shape[1] % c:
            raise ValueError("block %dx%d does not divide tensor %r of shape %s (as matrix %s)"
                             % (r, c, info.name, info.shape, matrix.shape))
        packed = formats.to_bsr(matrix, (r, c))
    parts = [packed.data.astype(info.dtype, copy=False), packed.indices, packed.indptr,
             np.asarray(packed.shape, dtype=np.int64)]
    if pruned.ndim != 2:
        parts.append(np.asarray(pruned.shape, dtype=np.int64))
    return list(zip(_entry_names(info.name, pruned.ndim, layout), parts))


def _nonzero(a):
    """Elements of ``a`` other than +-0 (16-bit ones by their bits), in chunks."""
    flat = a.reshape(-1)
    if halfs.is_half(a.dtype):
        flat = flat.view(np.uint16)
        return sum(int(np.count_nonzero(flat[lo:lo + _CHUNK] & 0x7FFF))
                   for lo in range(0, flat.size, _CHUNK))
    return sum(int(np.count_nonzero(flat[lo:lo + _CHUNK]))
               for lo in range(0, flat.size, _CHUNK))


def _row(info, layout, nonzero, stored, note=""):
    total = int(np.prod(info.shape))
    return {"name": info.name, "shape": info.shape, "dtype": str(info.dtype),
            "layout": layout, "total": total,
            "sparsity": (total - nonzero) / total if total else 0.0,
            "dense_bytes": info.nbytes, "stored_bytes": stored, "note": note}


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _bar(total, label, progress):
    if not progress:
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
                leave=False, disable=None)


def chosen_tensors(source, include=None, exclude=None):
    """``(checkpoint, choice, chosen)``: the checkpoint's headers, the
    include/exclude choice of :func:`wavesparse.pruning.layer_choice` (name ->
    None when pruned, else why not) and the chosen tensors in order.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> folder = tempfile.mkdtemp()
    >>> shards.write_checkpoint(folder, [{"w": np.ones((2, 2)), "b": np.ones(2)}])
    >>> shards.chosen_tensors(folder)[1]
    {'w': None, 'b': '1-D: kept dense'}
    """
    ckpt = open_checkpoint(source)
    names = [t.name for t in ckpt.tensors]
    if len(set(names)) != len(names):
        raise CheckpointError("%s: a tensor name appears in more than one shard" % source)
    choice = layer_choice({t.name: _stand_in(t) for t in ckpt.tensors}, include, exclude)
    return ckpt, choice, [t for t in ckpt.tensors if choice[t.name] is None]


def write_index(path, ckpt, choice, layout, written):
    """The output index: every entry's shard, and ``total_size``."""
    weight_map = {}
    for t in ckpt.tensors:
        entries = (_entry_names(t.name, len(t.shape), layout) if choice[t.name] is None
                   else [t.name])
        weight_map.update(dict.fromkeys(entries, os.path.basename(t.path)))
    _write_index(path, weight_map, written,
                 {k: v for k, v in ckpt.metadata.items() if k != "total_size"})


def _pruned_entries(t, pruned, layout, block, rows):
    """The entries of one pruned tensor, whole, in ``layout``; its report row
    goes to ``rows``."""
    if layout == "dense":
        rows.append(_row(t, layout, _nonzero(pruned), t.nbytes))
        yield t.name, pruned
        return
    packed = _packed(t, pruned, layout, block)
    rows.append(_row(t, layout, _nonzero(pruned), sum(a.nbytes for _, a in packed)))
    del pruned
    while packed:  # each entry let go once written
        yield packed.pop(0)


def write_pruned_shard(path, infos, choice, threshold_of, layout="dense", block=(16, 16),
                       chunk_bytes=_CHUNK_BYTES, metadata=None, reader=None,
                       on_bytes=None, prune_whole=None):
    """Writes one output shard: the tensors ``infos`` of one input shard,
    the chosen ones pruned; returns ``(bytes written, report rows)``.

    ``threshold_of(name)`` gives a chosen tensor's ``(value, [ties])``: the
    magnitude at or below which it is pruned (None: nothing), and a
    one-element list of how many ``|w| == value`` to prune, first by
    position, which is decreased as they are pruned (one list shared by all
    tensors for a global threshold, or one per tensor).  The dask engine runs
    this on the workers.  With ``prune_whole(name, w)`` instead (any
    per-tensor pruner), each chosen tensor is read whole and replaced by
    what it returns, in the tensor's dtype.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> folder = tempfile.mkdtemp()
    >>> shards.write_checkpoint(folder, [{"w": np.float16([[3, 1], [2, 1]])}])
    >>> infos = shards.open_checkpoint(folder).tensors
    >>> out = os.path.join(folder, "out.safetensors")
    >>> size, rows = shards.write_pruned_shard(out, infos, {"w": None},
    ...                                         {"w": (np.float16(1), [1])}.get)
    >>> shards.open_array(shards.read_header(out)[0][0])
    memmap([[3., 0.],
            [2., 1.]], dtype=float16)
    """
    reader = reader or Reader()
    on_bytes = on_bytes or (lambda n: None)
    rows = []

    def pruned_pieces(t, v, budget, nonzero):
        """t's elements in pieces, pruned at ``v`` (None: as they are)."""
        for piece in reader.chunks(t, chunk_bytes):
            if v is not None:
                piece, _, used = _prune_tensor(piece, v, budget[0], reader)
                budget[0] -= used
            nonzero[0] += _nonzero(piece)
            yield piece
            on_bytes(piece.nbytes)

    def entries():
        for t in infos:
            if choice[t.name] is not None:
                yield t.name, Streamed(t.dtype, t.shape, pruned_pieces(t, None, None, [0]))
                rows.append(_row(t, "dense", int(np.prod(t.shape)), t.nbytes, choice[t.name]))
                continue
            if prune_whole is not None:
                pruned = prune_whole(t.name, reader.read(t))
                yield from _pruned_entries(t, pruned, layout, block, rows)
                on_bytes(t.nbytes)
                continue
            v, budget = threshold_of(t.name)
            nonzero = [0]
            if layout == "dense":
                yield t.name, Streamed(t.dtype, t.shape, pruned_pieces(t, v, budget, nonzero))
                rows.append(_row(t, layout, nonzero[0], t.nbytes))
                continue
            w = reader.read(t)
            if v is None:
                pruned = np.array(w)
            else:
                pruned, _, used = _prune_tensor(w, v, budget[0], reader)
                budget[0] -= used
            del w
            yield from _pruned_entries(t, pruned, layout, block, rows)
            on_bytes(t.nbytes)

    names = []
    for t in infos:
        names += (_entry_names(t.name, len(t.shape), layout) if choice[t.name] is None
                  else [t.name])
    size = write_shard(path, entries(), names, dict(metadata or {}))
    return size, rows


def _per_tensor(pruner, scope, sparsity, chosen):
    """``prune_whole`` for :func:`write_pruned_shard` from a per-tensor pruner,
    after every chosen tensor is checked against it."""
    if not callable(getattr(pruner, "prune_layer", None)):
        raise TypeError("pruner must be a wavesparse.pruning.Pruner, got %s"
                        % type(pruner).__name__)
    if scope != "local" or getattr(pruner, "scope", "local") != "local":
        raise ValueError("a sharded checkpoint is pruned tensor by tensor by a pruner; "
                         "one threshold over all tensors (scope 'global') is magnitude "
                         "pruning's, without pruner=")
    for t in chosen:
        pruner.check_tensor(t.name, t.shape)

    def prune_whole(name, w):
        return pruner.prune_layer(w, sparsity=sparsity, name=name)[0]
    return prune_whole


def prune(source, output, sparsity, scope="local", include=None, exclude=None,
          layout="dense", block=(16, 16), force=False, progress=True, metadata=None,
          chunk_bytes=_CHUNK_BYTES, pruner=None):
    """Prune a sharded checkpoint into a sharded output, streaming: by
    magnitude, or tensor by tensor with any per-tensor pruner.

    Parameters
    ----------
    source : str or os.PathLike
        An index file or a folder (see :func:`open_checkpoint`).
    output : str or os.PathLike
        The folder to write: the same shard names and an index.
    sparsity : float
        Fraction in [0, 1) of each chosen tensor (``scope="local"``) or of
        all chosen tensors together (``"global"``) to zero.
    scope : {"local", "global"}
    include, exclude : list of str, optional
        The tensor choice of :func:`wavesparse.pruning.layer_choice`.
    layout : {"dense", "csr", "bsr"}
        How the pruned tensors are stored (sparse parts as in :mod:`wavesparse.io`).
    block : (int, int)
        The BSR block.
    force : bool
        Replace the files of a non-empty output folder.
    progress : bool
        A tqdm progress bar (bytes/s) on stderr while it runs on a terminal.
    metadata : dict of str to str, optional
        Added to every output shard's header.
    chunk_bytes : int
        Tensors are read (and, in the dense layout, pruned and written) in
        pieces of this many bytes, so memory stays bounded by it rather than
        by the largest tensor; the CSR/BSR layouts hold one whole tensor.
    pruner : wavesparse.pruning.Pruner, optional
        Instead of magnitude: a pruner whose masks are per tensor (its
        ``scope`` is ``"local"``: Wanda, SparseGPT, N:M, block, structured,
        local magnitude), called as ``prune_layer(w, sparsity=sparsity,
        name=name)`` on each chosen tensor read whole (16-bit tensors as
        float32, the result cast back).  Every chosen tensor is checked
        against the pruner (``check_tensor``: calibration statistics there,
        of the right width) before anything is written.  Memory: the largest
        tensor, its float32 copy and the pruner's own work space.

    Returns
    -------
    dict
        ``rows`` (one per tensor, as :func:`wavesparse.report.tensor_row`),
        ``chosen`` (names pruned), ``bytes_read``, ``bytes_written``.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse import shards
    >>> folder = tempfile.mkdtemp()
    >>> shards.write_checkpoint(os.path.join(folder, "in"), [{"w": np.float16([[1, -2], [3, 0.5]])}])
    >>> r = shards.prune(os.path.join(folder, "in"), os.path.join(folder, "out"), 0.5, progress=False)
    >>> [row["sparsity"] for row in r["rows"]]
    [0.5]
    """
    sparsity = check.fraction(sparsity, "sparsity")
    if layout not in ("dense", "csr", "bsr"):
        raise ValueError("layout must be 'dense', 'csr' or 'bsr', got %r" % (layout,))
    if scope not in ("local", "global"):
        raise ValueError("scope must be 'local' or 'global', got %r" % (scope,))
    ckpt, choice, chosen = chosen_tensors(source, include, exclude)
    total_bytes = sum(t.nbytes for t in ckpt.tensors)
    reader = Reader()
    prune_whole = None if pruner is None else _per_tensor(pruner, scope, sparsity, chosen)
    value, ties = None, [0]  # the global threshold, and its ties still to prune
    if scope == "global" and chosen:
        k = int(round(sparsity * sum(int(np.prod(t.shape)) for t in chosen)))
        if k:
            bar = _bar(sum(t.nbytes for t in chosen), "histograms", progress)
            try:
                value, n_below = _rank(chosen, k - 1, bar, reader, chunk_bytes)
            finally:
                bar.close()
            ties = [k - n_below]

    def threshold_of(name):
        """``(value, [ties])`` for a chosen tensor: the global ones (one
        budget of ties shared by all), or its own."""
        if scope == "global":
            return value, ties
        t = by_name[name]
        k = int(round(sparsity * int(np.prod(t.shape))))
        if k == 0:
            return None, [0]
        if halfs.is_half(t.dtype):
            own, n_below = _rank([t], k - 1, _NoBar(), reader, chunk_bytes)
        else:
            own, n_below = _rank_one(open_array(t), k - 1)
        return own, [k - n_below]

    by_name = {t.name: t for t in chosen}
    out = _Output(output, force)
    try:
        bar = _bar(total_bytes, "pruning", progress)
        rows, written = [], 0
        for shard in ckpt.shards:
            infos = [t for t in ckpt.tensors if os.path.basename(t.path) == shard]
            size, shard_rows = write_pruned_shard(
                out.path(shard), infos, choice, threshold_of, layout, block,
                chunk_bytes, metadata, reader=reader, on_bytes=bar.update,
                prune_whole=prune_whole)
            written += size
            rows += shard_rows
        write_index(out.path(INDEX_NAME), ckpt, choice, layout, written)
        bar.close()
        out.commit(INDEX_NAME)
    except BaseException:
        out.discard()
        raise
    return {"rows": rows, "chosen": [t.name for t in chosen],
            "bytes_read": total_bytes, "bytes_written": written}
