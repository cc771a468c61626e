"""Per-tensor reports of a checkpoint: what pruning did, and what it costs.

Examples
--------
>>> import numpy as np
>>> from wavesparse.report import tensor_row
>>> row = tensor_row("w", np.float32([[1, 0], [0, 0]]))
>>> row["sparsity"], row["stored_bytes"]
(0.75, 16)
"""

import numpy as np
import scipy.sparse as sp

from wavesparse.halfs import is_float

__all__ = ["tensor_row", "output_error", "totals", "format_table", "count", "size_change"]


def stored_bytes(value):
    """Bytes a tensor takes in the file (all parts for a sparse one)."""
    if sp.issparse(value):
        data = value.data.size * np.dtype(getattr(value, "stored_dtype", value.dtype)).itemsize
        return int(data + value.indices.nbytes + value.indptr.nbytes)
    if getattr(value, "format", None) == "nm":
        return int(value.nbytes)
    return int(np.asarray(value).nbytes)


#: Elements of the weight that :func:`output_error` turns to float64 at a time.
BLOCK_ELEMENTS = 1 << 20


def _dense_rows(value, start, stop):
    """Rows ``[start, stop)`` of a 2-D ndarray or CSR/BSR matrix, dense.

    A sparse matrix is sliced through its own arrays (views), so only the
    rows asked for are ever dense.
    """
    if not sp.issparse(value):
        return value[start:stop]
    r = value.blocksize[0] if value.format == "bsr" else 1
    lo, hi = start // r, -(-stop // r)
    a, b = int(value.indptr[lo]), int(value.indptr[hi])
    kwargs = {"blocksize": value.blocksize} if value.format == "bsr" else {}
    part = type(value)((value.data[a:b], value.indices[a:b], value.indptr[lo:hi + 1] - a),
                       shape=((hi - lo) * r, value.shape[1]), **kwargs)
    return part.toarray()[start - lo * r:stop - lo * r]


def output_error(original, pruned, samples=8, seed=0, calibration=None):
    """``||W x - W' x|| / ||W x||`` over random normal inputs x, or over the
    calibration inputs.

    ``W`` is viewed as the matrix ``(shape[0], rest)``; 0.0 when ``W x`` is
    zero (or ``W`` is empty).  With ``calibration`` (the
    :class:`~wavesparse.calibration.LayerStats` of this weight) the inputs are
    the recorded ones: the squared norms are ``trace(D G D^T)`` for the Gram
    matrix G = X^T X, or, when the statistics hold no Gram matrix, its
    diagonal (each feature's sum of squares).  The sums run over blocks of
    rows, each turned to float64 on its own (:data:`BLOCK_ELEMENTS` elements
    at a time), so no float64 copy of the weight, and no dense copy of a
    sparse ``pruned``, is ever made.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.calibration import LayerStats
    >>> from wavesparse.report import output_error
    >>> output_error(np.eye(2), np.eye(2))
    0.0
    >>> round(output_error(np.float32([[3, 4]]), np.float32([[3, 0]]), samples=1), 3) >= 0
    True
    >>> x = np.array([[1.0, 0.0], [1.0, 0.0]])  # the second input is always 0
    >>> output_error(np.eye(2), np.diag([1.0, 0.0]), calibration=LayerStats.from_inputs(x))
    0.0
    """
    w = np.asarray(original)
    if w.size == 0:
        return 0.0
    rows = w.shape[0] if w.ndim > 1 else 1
    w = w.reshape(rows, -1)
    cols = w.shape[1]
    if getattr(pruned, "format", None) == "nm":
        pruned = pruned.tocsr()
    p = pruned if sp.issparse(pruned) else np.asarray(pruned).reshape(rows, cols)
    if calibration is None:
        x = np.random.default_rng(seed).standard_normal((cols, samples))

        def energy(m):
            return float(np.sum((m @ x) ** 2))
    elif calibration.gram is not None:
        def energy(m):
            return float(np.einsum("ij,ij->", m @ calibration.gram, m))
    else:
        def energy(m):
            return float((np.square(m) @ calibration.sum_squares).sum())
    step = max(1, BLOCK_ELEMENTS // cols)
    reference = difference = 0.0
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        block = w[start:stop].astype(np.float64)
        reference += energy(block)
        block -= _dense_rows(p, start, stop)[:, :cols]
        difference += energy(block)
        del block  # before the next one is made
    return float(np.sqrt(max(difference, 0.0) / reference)) if reference > 0 else 0.0


def tensor_row(name, value, original=None, note="", calibration=None):
    """One table row: shape, dtype, layout, sparsity, bytes (and error, over
    the ``calibration`` statistics' inputs when given: see :func:`output_error`).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.report import tensor_row
    >>> r = tensor_row("w", np.float32([[0, 2], [0, 0]]), original=np.float32([[1, 2], [0, 0]]))
    >>> r["sparsity"], r["output_error"] > 0
    (0.75, True)
    """
    nm = getattr(value, "format", None) == "nm"
    if sp.issparse(value) or nm:
        shape = getattr(value, "original_shape", value.shape)
        total = int(np.prod(shape))
        nonzero = int(np.count_nonzero(value.values if nm else value.data))
        layout, dtype = value.format, getattr(value, "stored_dtype", value.dtype)
    else:
        array = np.asarray(value)
        shape, total, layout, dtype = array.shape, array.size, "dense", array.dtype
        nonzero = (int(np.count_nonzero(array)) if array.dtype.kind in "fiub"
                   or is_float(array.dtype) else total)
    row = {"name": name, "shape": tuple(int(s) for s in shape), "dtype": str(dtype),
           "layout": layout, "total": total,
           "sparsity": (total - nonzero) / total if total else 0.0,
           "dense_bytes": total * np.dtype(dtype).itemsize,
           "stored_bytes": stored_bytes(value), "note": note}
    if original is not None:
        row["output_error"] = output_error(original, value, calibration=calibration)
    return row


def totals(rows):
    """Sums over the rows: elements, zeros, bytes, and the overall ratio.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.report import tensor_row, totals
    >>> totals([tensor_row("a", np.zeros(4)), tensor_row("b", np.ones(4))])["sparsity"]
    0.5
    """
    total = sum(r["total"] for r in rows)
    zeros = sum(round(r["sparsity"] * r["total"]) for r in rows)
    dense = sum(r["dense_bytes"] for r in rows)
    stored = sum(r["stored_bytes"] for r in rows)
    return {"tensors": len(rows), "total": total, "zeros": zeros,
            "sparsity": zeros / total if total else 0.0, "dense_bytes": dense,
            "stored_bytes": stored,
            "compression": dense / stored if stored else float("inf")}


def count(n, noun):
    """``"1 tensor"``, ``"2 tensors"``.

    Examples
    --------
    >>> from wavesparse.report import count
    >>> count(1, "tensor"), count(0, "tensor")
    ('1 tensor', '0 tensors')
    """
    return "%d %s%s" % (n, noun, "" if n == 1 else "s")


def size_change(compression):
    """Dense over stored bytes as words: ``"2.00x smaller"``, ``"1.25x larger"``.

    Examples
    --------
    >>> from wavesparse.report import size_change
    >>> size_change(2.0), size_change(0.8), size_change(1.0)
    ('2.00x smaller', '1.25x larger', 'same size')
    """
    if compression == float("inf"):
        return "nothing stored"
    if round(compression, 2) == 1.0 and round(1 / compression, 2) == 1.0:
        return "same size"
    if compression > 1:
        return "%.2fx smaller" % compression
    return "%.2fx larger" % (1 / compression)


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return "%d %s" % (n, unit) if unit == "B" else "%.1f %s" % (n, unit)
        n /= 1024.0


def format_table(rows, summary):
    """The rows and the totals as aligned text.

    Rows with ``"planned"`` (a budget plan's sparsity) get it in a column
    beside the achieved sparsity; rows with ``"output_error"`` get that.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.report import format_table, tensor_row, totals
    >>> rows = [tensor_row("w", np.eye(2))]
    >>> print(format_table(rows, totals(rows)).splitlines()[0].split())
    ['tensor', 'shape', 'dtype', 'layout', 'sparsity', 'dense', 'stored', 'note']
    """
    with_error = any("output_error" in r for r in rows)
    with_plan = any("planned" in r for r in rows)
    headers = ["tensor", "shape", "dtype", "layout"] + (["planned"] if with_plan else []) + [
        "sparsity", "dense", "stored"]
    if with_error:
        headers.append("out err")
    headers.append("note")
    body = []
    for r in rows:
        cells = [r["name"], "x".join(map(str, r["shape"])) or "()", r["dtype"], r["layout"]]
        if with_plan:
            cells.append("%6.2f%%" % (100 * r["planned"]) if "planned" in r else "-")
        cells += ["%6.2f%%" % (100 * r["sparsity"]), human_bytes(r["dense_bytes"]),
                  human_bytes(r["stored_bytes"])]
        if with_error:
            cells.append("%.4f" % r["output_error"] if "output_error" in r else "-")
        cells.append(r["note"])
        body.append(cells)
    foot = ["TOTAL (%s)" % count(summary["tensors"], "tensor"), "", "", ""] + (
        [""] if with_plan else []) + [
            "%6.2f%%" % (100 * summary["sparsity"]), human_bytes(summary["dense_bytes"]),
            human_bytes(summary["stored_bytes"])]
    if with_error:
        foot.append("")
    foot.append(size_change(summary["compression"]))
    widths = [max(len(h), *(len(c[i]) for c in body + [foot])) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(c) for c in body] + [rule, line(foot)])
