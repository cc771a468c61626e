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

from wavesparse import io

__all__ = ["tensor_row", "output_error", "totals", "format_table"]


def stored_bytes(value):
    """Bytes a tensor takes in the file (all parts for a sparse one)."""
    if sp.issparse(value):
        return int(value.data.nbytes + value.indices.nbytes + value.indptr.nbytes)
    return int(np.asarray(value).nbytes)


def output_error(original, pruned, samples=8, seed=0, calibration=None):
    """``||W x - W' x|| / ||W x||`` over random normal inputs x, or over the
    calibration inputs.

    ``W`` is viewed as the matrix ``(shape[0], rest)``; 0.0 when ``W x`` is
    zero.  With ``calibration`` (the :class:`~wavesparse.calibration.LayerStats`
    of this weight) the inputs are the recorded ones: the squared norms are
    ``trace(D G D^T)`` for the Gram matrix G = X^T X, or, when the statistics
    hold no Gram matrix, its diagonal (each feature's sum of squares).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.calibration import LayerStats
    >>> from wavesparse.report import output_error
    >>> output_error(np.eye(2), np.eye(2))
    0.0
    >>> x = np.array([[1.0, 0.0], [1.0, 0.0]])  # the second input is always 0
    >>> output_error(np.eye(2), np.diag([1.0, 0.0]), calibration=LayerStats.from_inputs(x))
    0.0
    """
    w = np.asarray(original, dtype=np.float64)
    w = w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(1, -1)
    p = io.to_dense(pruned) if sp.issparse(pruned) else np.asarray(pruned)
    p = np.asarray(p, dtype=np.float64).reshape(w.shape)
    if calibration is not None:
        d = w - p
        if calibration.gram is not None:
            error, reference = (np.einsum("ij,ij->", m @ calibration.gram, m) for m in (d, w))
        else:
            error, reference = (np.square(m) @ calibration.sum_squares for m in (d, w))
            error, reference = error.sum(), reference.sum()
        return float(np.sqrt(max(error, 0.0) / reference)) if reference > 0 else 0.0
    x = np.random.default_rng(seed).standard_normal((w.shape[1], samples))
    reference = np.linalg.norm(w @ x)
    return float(np.linalg.norm((w - p) @ x) / reference) if reference else 0.0


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
    if sp.issparse(value):
        shape = getattr(value, "original_shape", value.shape)
        total = int(np.prod(shape))
        nonzero = int(np.count_nonzero(value.data))
        layout, dtype = value.format, value.dtype
    else:
        array = np.asarray(value)
        shape, total, layout, dtype = array.shape, array.size, "dense", array.dtype
        nonzero = int(np.count_nonzero(array)) if array.dtype.kind in "fiub" else total
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


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return "%d %s" % (n, unit) if unit == "B" else "%.1f %s" % (n, unit)
        n /= 1024.0


def format_table(rows, summary):
    """The rows and the totals as aligned text.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.report import format_table, tensor_row, totals
    >>> rows = [tensor_row("w", np.eye(2))]
    >>> print(format_table(rows, totals(rows)).splitlines()[0].split())
    ['tensor', 'shape', 'dtype', 'layout', 'sparsity', 'dense', 'stored', 'note']
    """
    with_error = any("output_error" in r for r in rows)
    headers = ["tensor", "shape", "dtype", "layout", "sparsity", "dense", "stored"]
    if with_error:
        headers.append("out err")
    headers.append("note")
    body = []
    for r in rows:
        cells = [r["name"], "x".join(map(str, r["shape"])) or "()", r["dtype"], r["layout"],
                 "%6.2f%%" % (100 * r["sparsity"]), human_bytes(r["dense_bytes"]),
                 human_bytes(r["stored_bytes"])]
        if with_error:
            cells.append("%.4f" % r["output_error"] if "output_error" in r else "-")
        cells.append(r["note"])
        body.append(cells)
    foot = ["TOTAL (%d tensors)" % summary["tensors"], "", "", "",
            "%6.2f%%" % (100 * summary["sparsity"]), human_bytes(summary["dense_bytes"]),
            human_bytes(summary["stored_bytes"])]
    if with_error:
        foot.append("")
    foot.append("%.2fx smaller" % summary["compression"])
    widths = [max(len(h), *(len(c[i]) for c in body + [foot])) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(c) for c in body] + [rule, line(foot)])
