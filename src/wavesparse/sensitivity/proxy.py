"""A score that needs no model: how much pruning one layer changes its output.

For a layer ``W`` (read as the matrix ``(shape[0], rest)``) pruned to ``W'``
the proxy is the relative output error ``||W x - W' x|| / ||W x||`` in the
root-mean-square sense over inputs ``x`` drawn from ``N(0, C)``:

    sqrt( tr(D C D^T) / tr(W C W^T) ),   D = W - W'

computed exactly, without sampling.  ``C`` is the identity (standard normal
inputs) unless input statistics are given for the layer:

``stats = {name: {"gram": G, "rows": r}}``
    ``G`` (``n_in x n_in``) is the sum over ``r`` calibration rows of
    ``x x^T``; ``C = G / r`` is then the inputs' second moment.
``stats = {name: {"sumsq": q, "rows": r}}``
    only the per-feature sums of squares (the Gram diagonal): ``C`` is the
    diagonal ``q / r`` (features taken as uncorrelated).

Scaling ``C`` does not change the ratio, so ``rows`` only documents the
statistics.  A scan's score is minus this error (higher is better, 0 when
unpruned).

Examples
--------
>>> import numpy as np
>>> from wavesparse.sensitivity.proxy import relative_error
>>> w = np.array([[3.0, 4.0]])
>>> float(relative_error(w, np.array([[3.0, 0.0]])))
0.8
>>> float(relative_error(w, np.array([[3.0, 0.0]]), {"sumsq": np.array([1.0, 0.0]), "rows": 1}))
0.0
"""

import numpy as np

__all__ = ["relative_error", "input_moment", "describe"]


def describe(stats):
    """The proxy's name for a table, saying which inputs it used.

    Examples
    --------
    >>> from wavesparse.sensitivity.proxy import describe
    >>> describe(None)
    'proxy: -relative output error on standard normal inputs'
    """
    if stats:
        return "proxy: -relative output error on calibration statistics"
    return "proxy: -relative output error on standard normal inputs"


def input_moment(entry, n_in, name):
    """``C`` from one layer's statistics: a matrix, a diagonal vector, or None.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.sensitivity.proxy import input_moment
    >>> input_moment({"sumsq": np.ones(3), "rows": 4}, 3, "fc1").tolist()
    [1.0, 1.0, 1.0]
    """
    if entry is None:
        return None
    if not isinstance(entry, dict) or not ({"gram", "sumsq"} & set(entry)):
        raise ValueError("stats[%r] must be a dict with 'gram' (n_in x n_in) or 'sumsq' "
                         "(n_in) and 'rows'" % name)
    key = "gram" if "gram" in entry else "sumsq"
    value = np.asarray(entry[key], dtype=np.float64)
    want = (n_in, n_in) if key == "gram" else (n_in,)
    if value.shape != want:
        raise ValueError("stats[%r][%r] must have shape %s for this layer, got %s"
                         % (name, key, want, value.shape))
    return value


def _quadratic(d, moment):
    """``tr(d C d^T)`` for C the identity (None), a diagonal or a matrix."""
    if moment is None:
        return float(np.sum(d * d))
    if moment.ndim == 1:
        return float(np.sum(d * d * moment[None, :]))
    return float(np.sum((d @ moment) * d))


def relative_error(original, pruned, moment=None):
    """The proxy error of one layer (0.0 when ``W x`` is always zero).

    ``moment`` is None (identity), or a stats entry / the array
    :func:`input_moment` returns.
    """
    w = np.asarray(original, dtype=np.float64)
    w = w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(1, -1)
    p = np.asarray(pruned, dtype=np.float64).reshape(w.shape)
    if isinstance(moment, dict):
        moment = input_moment(moment, w.shape[1], "layer")
    reference = _quadratic(w, moment)
    return np.sqrt(_quadratic(w - p, moment) / reference) if reference > 0 else 0.0
