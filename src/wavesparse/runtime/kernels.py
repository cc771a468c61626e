"""The per-token work around the products, compiled: bias + activation,
residual add + layer norm, masked softmax.

Activations are stored feature-major, as the products give them: one row per
feature, one column per token (``(features, tokens)``, C-ordered).  Each
function checks its arguments and calls one C kernel (``nn.c``), which
splits the rows or columns over the OpenMP threads.

Examples
--------
>>> import numpy as np
>>> from wavesparse.runtime import kernels
>>> y = np.array([[-1.0, 0.5]], dtype=np.float32)
>>> kernels.bias_act(y, np.array([0.5], dtype=np.float32), "relu")
array([[0., 1.]], dtype=float32)
"""

import numpy as np

from wavesparse import _nn

__all__ = ["ACTIVATIONS", "activation_code", "bias_act", "add_layer_norm", "masked_softmax"]

#: The epilogues the products and :func:`bias_act` apply, by name.
ACTIVATIONS = {"none": 0, "relu": 1, "gelu": 2}


def activation_code(name):
    """The C code of an activation name (``"none"``, ``"relu"``, ``"gelu"``).

    Examples
    --------
    >>> from wavesparse.runtime.kernels import activation_code
    >>> activation_code("gelu")
    2
    """
    if not isinstance(name, str):
        raise TypeError("activation must be a str, got %s" % type(name).__name__)
    if name not in ACTIVATIONS:
        raise ValueError("activation must be one of %s, got %r"
                         % (", ".join(sorted(ACTIVATIONS)), name))
    return ACTIVATIONS[name]


def _matrix(a, name, dtype=None):
    if not isinstance(a, np.ndarray):
        raise TypeError("%s must be an ndarray, got %s" % (name, type(a).__name__))
    if a.dtype not in (np.float32, np.float64):
        raise TypeError("%s must be float32 or float64, got %s" % (name, a.dtype))
    if dtype is not None and a.dtype != dtype:
        raise TypeError("%s must have dtype %s, got %s" % (name, dtype, a.dtype))
    if a.ndim != 2 or (a.shape[1] > 1 and a.strides[1] != a.itemsize) or a.strides[0] < 0:
        raise ValueError("%s must be 2-D with contiguous rows, got shape %s strides %s"
                         % (name, a.shape, a.strides))
    return a


def _vector(v, name, length, dtype):
    if v is None:
        return None
    v = np.ascontiguousarray(v, dtype=dtype)
    if v.shape != (length,):
        raise ValueError("%s must have shape (%d,), got %s" % (name, length, v.shape))
    return v


def bias_act(y, bias=None, activation="none"):
    """``y[i, j] = act(y[i, j] + bias[i])`` in place; returns ``y``.

    Parameters
    ----------
    y : ndarray
        ``(features, tokens)``, float32 or float64, rows contiguous.
    bias : array_like, optional
        ``(features,)``.
    activation : {"none", "relu", "gelu"}
        GELU is the exact one, ``x * Phi(x)``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.kernels import bias_act
    >>> np.round(bias_act(np.array([[-1.0, 0.0, 1.0]]), activation="gelu"), 4)
    array([[-0.1587,  0.    ,  0.8413]])
    """
    y = _matrix(y, "y")
    code = activation_code(activation)
    bias = _vector(bias, "bias", y.shape[0], y.dtype)
    if y.size and (code or bias is not None):
        _nn.bias_act(y, bias, code)
    return y


def add_layer_norm(x, residual, weight, bias, eps, out=None):
    """Layer norm of each column of ``x + residual`` over its rows.

    Parameters
    ----------
    x, residual : ndarray
        ``(features, tokens)`` of one dtype, rows contiguous; ``residual``
        may be None.
    weight, bias : array_like
        ``(features,)``: the norm's scale and shift.
    eps : float
        Added to the variance.
    out : ndarray, optional
        Where to write (may be ``x`` or ``residual``); a new array if None.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.kernels import add_layer_norm
    >>> x = np.array([[1.0], [3.0]])
    >>> add_layer_norm(x, None, np.ones(2), np.zeros(2), 0.0)
    array([[-1.],
           [ 1.]])
    """
    x = _matrix(x, "x")
    if residual is not None:
        residual = _matrix(residual, "residual", x.dtype)
        if residual.shape != x.shape:
            raise ValueError("residual must have x's shape %s, got %s"
                             % (x.shape, residual.shape))
    if out is None:
        out = np.empty(x.shape, x.dtype)
    out = _matrix(out, "out", x.dtype)
    if out.shape != x.shape:
        raise ValueError("out must have x's shape %s, got %s" % (x.shape, out.shape))
    weight = _vector(weight, "weight", x.shape[0], x.dtype)
    bias = _vector(bias, "bias", x.shape[0], x.dtype)
    if x.size:
        _nn.add_layer_norm(x, residual, weight, bias, float(eps), out)
    return out


def masked_softmax(scores, keep=None, group_rows=None, scale=1.0):
    """Softmax of each row of ``scale * scores`` over its kept columns, in place.

    Parameters
    ----------
    scores : ndarray
        ``(rows, length)``, rows contiguous.
    keep : array_like of bool, optional
        ``(groups, length)``: row ``r`` keeps the columns where
        ``keep[r // group_rows]`` is true (the other entries become 0; a row
        with none kept becomes all 0).  None keeps every column.
    group_rows : int, optional
        Rows per group of ``keep`` (default: ``rows // groups``).
    scale : float

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.kernels import masked_softmax
    >>> masked_softmax(np.zeros((1, 3)), keep=np.array([[True, True, False]]))
    array([[0.5, 0.5, 0. ]])
    """
    scores = _matrix(scores, "scores")
    rows, length = scores.shape
    if keep is None:
        group_rows = max(rows, 1)
    else:
        keep = np.ascontiguousarray(keep, dtype=np.uint8)
        if keep.ndim != 2 or keep.shape[1] != length or keep.shape[0] < 1:
            raise ValueError("keep must have shape (groups, %d), got %s"
                             % (length, keep.shape))
        if group_rows is None:
            group_rows = rows // keep.shape[0]
        if group_rows < 1 or group_rows * keep.shape[0] != rows:
            raise ValueError("keep's %d groups of %r rows must cover the %d rows of "
                             "scores" % (keep.shape[0], group_rows, rows))
    if scores.size:
        _nn.masked_softmax(scores, int(group_rows), keep, float(scale))
    return scores
