"""The per-token work around the products, compiled: bias + activation,
residual add + layer norm, masked softmax, and attention's two batched
products (one small product per sequence and head).

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

__all__ = ["ACTIVATIONS", "activation_code", "bias_act", "add_layer_norm", "masked_softmax",
           "attention_scores", "masked_softmax_t", "attention_context"]

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


def _heads(a, name, batch, heads, length):
    """``a`` (heads * d, batch * length), float32, rows contiguous: its d and
    row stride in elements."""
    _matrix(a, name, np.float32)
    if a.shape[1] != batch * length or a.shape[0] % heads:
        raise ValueError("%s must have shape (heads * d, %d) with heads = %d, got %s"
                         % (name, batch * length, heads, a.shape))
    return a.shape[0] // heads, a.strides[0] // a.itemsize


def _pair_grid(a, name, batch, heads, length):
    if not isinstance(a, np.ndarray) or a.dtype != np.float32 or \
            a.shape != (batch, heads, length, length) or not a.flags.c_contiguous:
        raise ValueError("%s must be a C-contiguous float32 array of shape %s"
                         % (name, (batch, heads, length, length)))


def attention_scores(q, k, batch, heads, length, out):
    """``out[b, h] = Q_bh^T K_bh`` for every sequence b and head h, the
    (sequence, head) pairs spread over the threads.

    ``q`` and ``k`` are feature-major float32 ``(heads * d, batch * length)``
    (rows contiguous, any row stride: slices of a fused query/key/value
    product), ``out`` C-contiguous float32 ``(batch, heads, length, length)``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.kernels import attention_scores
    >>> q = np.arange(8, dtype=np.float32).reshape(2, 4)   # 1 head of d=2, 2 x 2 tokens
    >>> out = np.empty((2, 1, 2, 2), np.float32)
    >>> attention_scores(q, q, 2, 1, 2, out)[1, 0]
    array([[40., 48.],
           [48., 58.]], dtype=float32)
    """
    d, ld = _heads(q, "q", batch, heads, length)
    if _heads(k, "k", batch, heads, length) != (d, ld):
        raise ValueError("k must have q's shape %s and row stride, got %s"
                         % (q.shape, k.shape))
    _pair_grid(out, "out", batch, heads, length)
    _nn.attention_scores(q, k, ld, batch, heads, length, d, out)
    return out


def masked_softmax_t(scores_t, keep=None, scale=1.0):
    """Softmax over the keys of transposed attention scores, in place.

    ``scores_t`` is C-contiguous float32 ``(batch, heads, length, length)``
    with ``scores_t[b, h, j, i]`` the score of query i for key j (what
    :func:`attention_scores` gives with q and k swapped).  Each column i
    becomes ``softmax(scale * column)`` over the keys j that ``keep[b]``
    (``(batch, length)`` bool; None keeps all) keeps, the other keys 0.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.kernels import masked_softmax_t
    >>> t = np.zeros((1, 1, 3, 3), np.float32)
    >>> masked_softmax_t(t, keep=np.array([[True, True, False]]))[0, 0]
    array([[0.5, 0.5, 0.5],
           [0.5, 0.5, 0.5],
           [0. , 0. , 0. ]], dtype=float32)
    """
    if not isinstance(scores_t, np.ndarray) or scores_t.dtype != np.float32 or \
            scores_t.ndim != 4 or scores_t.shape[2] != scores_t.shape[3] or \
            not scores_t.flags.c_contiguous:
        raise ValueError("scores_t must be a C-contiguous float32 array of shape "
                         "(batch, heads, length, length), got %s %s"
                         % (getattr(scores_t, "dtype", None), getattr(scores_t, "shape", None)))
    batch, heads, length, _ = scores_t.shape
    if keep is not None:
        keep = np.ascontiguousarray(keep, dtype=np.uint8)
        if keep.shape != (batch, length):
            raise ValueError("keep must have shape %s, got %s" % ((batch, length), keep.shape))
    _nn.attention_softmax_t(scores_t, batch, heads, length, keep, float(scale))
    return scores_t


def attention_context(v, probs_t, batch, heads, length, out):
    """``out_bh = V_bh P_bh^T`` for every sequence b and head h, from the
    transposed probabilities (``probs_t[b, h, j, i]``, key j, query i, as
    :func:`masked_softmax_t` leaves them), written feature-major: ``out`` and
    ``v`` are float32 ``(heads * d, batch * length)`` with one row stride.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.runtime.kernels import attention_context
    >>> v = np.float32([[1, 2], [3, 4]])                   # 1 head of d=2, 1 x 2 tokens
    >>> probs = np.float32([[[[1, 0], [0.5, 0.5]]]])       # query 1: half of each key
    >>> probs_t = np.ascontiguousarray(probs.transpose(0, 1, 3, 2))
    >>> attention_context(v, probs_t, 1, 1, 2, np.empty((2, 2), np.float32))
    array([[1. , 1.5],
           [3. , 3.5]], dtype=float32)
    """
    d, ld = _heads(v, "v", batch, heads, length)
    if _heads(out, "out", batch, heads, length) != (d, ld):
        raise ValueError("out must have v's shape %s and row stride, got %s"
                         % (v.shape, out.shape))
    _pair_grid(probs_t, "probs_t", batch, heads, length)
    _nn.attention_context(v, probs_t, ld, batch, heads, length, d, out)
    return out
