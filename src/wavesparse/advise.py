"""Layout advice: which sparse layout each tensor should take, measured here.

For each tensor the same target sparsity is reached in every layout's own
way (element-wise for CSR, whole blocks for BSR, N:M groups, whole output
channels for "structured"); each result is timed in its own product on this
machine and its output error measured on the inputs (calibration inputs, or
random ones).  The fastest layout whose error stays within a budget wins,
and the choices make a plan: ``{"target": S, "method": "advise", "layers":
{name: sparsity}, "layouts": {name: layout}}``, which :func:`prune_with_plan`
applies (and ``wavesparse advise --plan-out`` writes).

=============  ===========================================  ================
layout         pruning                                      product
=============  ===========================================  ================
``dense``      none (sparsity 0)                            numpy (BLAS)
``csr``        :class:`MagnitudePruner` at S                CSR spmm
``bsrB``       :class:`BlockPruner` at S, B x B blocks      BSR spmm
``2:4, 1:4``   :class:`NMPruner` (its sparsity is the       N:M spmm
               pattern's: 0.5, 0.75)
``structured`` :class:`StructuredPruner` at S (output       numpy on the
               channels)                                    kept rows
=============  ===========================================  ================

Examples
--------
>>> import numpy as np
>>> from wavesparse.advise import advise_tensor
>>> w = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
>>> rows = advise_tensor(w, 0.75, layouts=["dense", "csr", "1:4"], repeat=1)
>>> [r["layout"] for r in rows], rows[2]["sparsity"]
(['dense', 'csr', '1:4'], 0.75)
"""

import numpy as np

from wavesparse import _validate as check
from wavesparse import formats, ops, report
from wavesparse._timing import median_seconds
from wavesparse.formats_nm import nm_spmm, to_nm
from wavesparse.pruning import BlockPruner, MagnitudePruner, NMPruner, StructuredPruner

__all__ = ["LAYOUTS", "advise_tensor", "choose", "make_plan", "prune_with_plan",
           "output_error"]

#: Every layout compared, in the order of the table.
LAYOUTS = ("dense", "csr", "bsr8", "bsr16", "bsr32", "bsr64", "2:4", "1:4", "structured")

#: How much more output error than CSR's (unstructured pruning at the same
#: sparsity) a layout may cost by default.
DEFAULT_SLACK = 1.25


def _matrix(w):
    return w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(1, -1)


def output_error(w, pruned, X):
    """``||(W - W') X|| / ||W X||`` (0.0 when ``W X`` is zero).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.advise import output_error
    >>> round(output_error(np.eye(2), np.diag([1.0, 0.0]), np.ones((2, 1))), 6)
    0.707107
    """
    w64 = np.asarray(w, np.float64)
    X64 = np.asarray(X, np.float64)
    reference = np.linalg.norm(w64 @ X64)
    if not reference:
        return 0.0
    return float(np.linalg.norm((w64 - np.asarray(pruned, np.float64)) @ X64) / reference)


def pruner_for(layout, sparsity):
    """The pruner that reaches ``layout``'s pattern at ``sparsity`` (None: dense).

    Examples
    --------
    >>> from wavesparse.advise import pruner_for
    >>> type(pruner_for("bsr32", 0.5)).__name__, pruner_for("bsr32", 0.5).block
    ('BlockPruner', (32, 32))
    """
    if layout == "dense":
        return None
    if layout == "csr":
        return MagnitudePruner(sparsity, backend="cpu")
    if layout.startswith("bsr"):
        return BlockPruner(sparsity, block=int(layout[3:]))
    if ":" in layout:
        n, m = (int(p) for p in layout.split(":"))
        return NMPruner(n, m)
    if layout == "structured":
        return StructuredPruner(sparsity)
    raise ValueError("layout must be one of %s, got %r" % (", ".join(LAYOUTS), layout))


def fits(layout, shape):
    """Whether ``layout`` can store a matrix of ``shape`` (blocks and groups
    must divide it), and why not."""
    rows, cols = shape
    if layout.startswith("bsr"):
        b = int(layout[3:])
        if rows % b or cols % b:
            return False, "%dx%d blocks do not divide %dx%d" % (b, b, rows, cols)
    if ":" in layout:
        m = int(layout.split(":")[1])
        if cols % m:
            return False, "groups of %d do not divide %d columns" % (m, cols)
    return True, ""


def _product(layout, pruned, mask):
    """A callable computing the layout's product with X, from pruned weights."""
    if layout == "dense":
        return lambda X: pruned @ X
    if layout == "csr":
        A = formats.to_csr(pruned)
        return lambda X: ops.spmm(A, X, backend="cpu")
    if layout.startswith("bsr"):
        b = int(layout[3:])
        A = formats.to_bsr(pruned, (b, b))
        return lambda X: ops.spmm(A, X, backend="cpu")
    if ":" in layout:
        n, m = (int(p) for p in layout.split(":"))
        A = to_nm(pruned, n, m)
        return lambda X: nm_spmm(A, X, backend="cpu")
    kept = np.ascontiguousarray(pruned[mask.any(axis=1)])
    return lambda X: kept @ X


def advise_tensor(w, sparsity, X=None, layouts=LAYOUTS, repeat=5, batch=128, seed=0,
                  calibration=None):
    """Prune ``w`` in each layout at ``sparsity``; time the product and
    measure the output error.

    Parameters
    ----------
    w : array_like
        float32/float64 weights, viewed as the matrix (shape[0], rest).
    sparsity : float
        The target in [0, 1) (N:M layouts have their pattern's).
    X : array_like, optional
        Inputs ``(rest, N)``; random normal ``(rest, batch)`` by default.
    layouts : sequence of str
        Among :data:`LAYOUTS`.
    repeat : int
        Timed runs per product (the median counts).
    calibration : wavesparse.calibration.LayerStats, optional
        Recorded input statistics of ``w``: the output error is then the one
        over those inputs (:func:`wavesparse.report.output_error`), while ``X``
        still times the products.

    Returns
    -------
    list of dict
        Per layout: ``layout``, ``sparsity`` (achieved), ``seconds`` (median
        product time), ``speedup`` (dense time / this), ``error`` (relative
        output error), ``fits`` and ``why`` (for a layout the shape refuses:
        no figures).
    """
    w = check.float_array(w, "w")
    matrix = np.ascontiguousarray(_matrix(w))
    sparsity = check.fraction(sparsity, "sparsity")
    if X is None:
        X = np.random.default_rng(seed).standard_normal((matrix.shape[1], batch))
    X = np.ascontiguousarray(check.float_array(X, "X", ndim=2), dtype=matrix.dtype)
    if X.shape[0] != matrix.shape[1]:
        raise ValueError("X must have %d rows (the inputs of w), got shape %s"
                         % (matrix.shape[1], X.shape))
    rows, dense_seconds = [], None
    for layout in ["dense"] + [name for name in layouts if name != "dense"]:
        ok, why = fits(layout, matrix.shape)
        if not ok:
            rows.append({"layout": layout, "fits": False, "why": why})
            continue
        pruner = pruner_for(layout, sparsity)
        if pruner is None:
            pruned, mask = matrix, np.ones(matrix.shape, bool)
        else:
            pruned, mask = pruner.prune_layer(matrix)
        product = _product(layout, pruned, mask)
        seconds = median_seconds(lambda: product(X), repeat=repeat, settle=0.01)
        if layout == "dense":
            dense_seconds = seconds
        rows.append({"layout": layout, "fits": True, "why": "",
                     "sparsity": float(1.0 - np.count_nonzero(mask) / mask.size) if mask.size else 0.0,
                     "seconds": seconds, "speedup": dense_seconds / seconds if seconds else 0.0,
                     "error": output_error(matrix, pruned, X) if calibration is None
                     else report.output_error(matrix, pruned, calibration=calibration)})
    if "dense" not in layouts:
        rows = rows[1:]
    return rows


def choose(rows, max_error=None):
    """The fastest row whose error is within the budget.

    The budget is ``max_error``, or by default :data:`DEFAULT_SLACK` times
    the CSR row's error (unstructured pruning at the same sparsity).  Dense
    (error 0) is the answer when nothing sparse fits.

    Examples
    --------
    >>> from wavesparse.advise import choose
    >>> rows = [{"layout": "dense", "fits": True, "seconds": 1.0, "error": 0.0},
    ...         {"layout": "csr", "fits": True, "seconds": 0.5, "error": 0.2},
    ...         {"layout": "bsr32", "fits": True, "seconds": 0.2, "error": 0.6}]
    >>> choose(rows)["layout"], choose(rows, max_error=1.0)["layout"]
    ('csr', 'bsr32')
    """
    measured = [r for r in rows if r["fits"]]
    if max_error is None:
        csr = [r["error"] for r in measured if r["layout"] == "csr"]
        max_error = DEFAULT_SLACK * csr[0] if csr else 0.0
    within = [r for r in measured if r["error"] <= max_error + 1e-12] or [
        {"layout": "dense", "fits": True, "sparsity": 0.0, "seconds": None, "error": 0.0}]
    return min(within, key=lambda r: (r["seconds"] is None, r["seconds"] or 0.0))


def make_plan(target, results, max_error=None):
    """The plan of the choices: ``{"target", "method": "advise", "layers",
    "layouts", "measured"}`` from ``{name: advise_tensor rows}``.

    Examples
    --------
    >>> from wavesparse.advise import make_plan
    >>> rows = [{"layout": "dense", "fits": True, "sparsity": 0.0, "seconds": 1.0, "error": 0.0},
    ...         {"layout": "csr", "fits": True, "sparsity": 0.5, "seconds": 0.5, "error": 0.1}]
    >>> plan = make_plan(0.5, {"fc.weight": rows})
    >>> plan["layers"], plan["layouts"]
    ({'fc.weight': 0.5}, {'fc.weight': 'csr'})
    """
    layers, layouts = {}, {}
    for name, rows in results.items():
        best = choose(rows, max_error)
        layers[name] = float(best["sparsity"])
        layouts[name] = best["layout"]
    return {"target": float(target), "method": "advise", "layers": layers,
            "layouts": layouts, "max_error": max_error,
            "measured": {name: rows for name, rows in results.items()}}


def prune_with_plan(weights, plan):
    """``{name: (pruned, mask)}``: each tensor the plan names, pruned by its
    layout's pruner at its sparsity (:func:`pruner_for`).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.advise import prune_with_plan
    >>> plan = {"layers": {"w": 0.5}, "layouts": {"w": "2:4"}}
    >>> prune_with_plan({"w": np.float32([[1, 2, 3, 4]])}, plan)["w"][0]
    array([[0., 0., 3., 4.]], dtype=float32)
    """
    out = {}
    for name, sparsity in plan["layers"].items():
        w = check.float_array(weights[name], "weights[%r]" % name)
        pruner = pruner_for(plan["layouts"][name], sparsity)
        if pruner is None:
            out[name] = (w.copy(), np.ones(w.shape, bool))
            continue
        pruned, mask = pruner.prune_layer(_matrix(w))
        out[name] = (pruned.reshape(w.shape), mask.reshape(w.shape))
    return out
