"""Structured pruning: whole output channels, input filters or attention heads.

Importance (Li et al. 2017 for norms; Molchanov et al. 2017 / Michel et al.
2019 for the first-order Taylor score) is summed per unit over every other
axis; the least important units are removed from the array, so the pruned
layer is smaller, and :func:`propagate` slices the next layer to match.
"""

import numpy as np

from wavesparse import _validate as check
from wavesparse.pruning.base import Pruner
from wavesparse.pruning.registry import register

__all__ = ["StructuredPruner", "propagate"]

METRICS = ("l1", "l2", "taylor")
GRANULARITIES = ("channel", "filter", "head")


def propagate(next_weights, kept, axis=1, group=1):
    """Slice the next layer's inputs to the units a pruned layer kept.

    Parameters
    ----------
    next_weights : array_like
        The next layer's weights; its inputs lie along ``axis``.
    kept : array_like of int
        Indices of the kept units (outputs of the pruned layer).
    axis : int
        The next layer's input axis (1 for ``(out, in, ...)`` weights).
    group : int
        Inputs per unit: the head dimension when heads were pruned.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning import propagate
    >>> propagate(np.arange(12.0).reshape(3, 4), [0, 3])
    array([[ 0.,  3.],
           [ 4.,  7.],
           [ 8., 11.]])
    """
    next_weights = check.float_array(next_weights, "next_weights")
    kept = np.asarray(kept, dtype=np.intp)
    axis = check.index(axis, "axis")
    if not -next_weights.ndim <= axis < next_weights.ndim:
        raise ValueError("axis %d is out of range for next_weights of shape %s"
                         % (axis, next_weights.shape))
    group = check.index(group, "group")
    if group < 1:
        raise ValueError("group must be >= 1, got %d" % group)
    columns = (kept[:, None] * group + np.arange(group)).ravel()
    size = next_weights.shape[axis]
    if columns.size and (columns.min() < 0 or columns.max() >= size):
        raise ValueError("kept units %s x group %d do not fit axis %d of size %d"
                         % (kept.tolist()[:8], group, axis, size))
    return np.take(next_weights, columns, axis=axis)


@register
class StructuredPruner(Pruner):
    """Remove whole units (output channels, input filters, attention heads).

    ``round(sparsity * units)`` units with the lowest importance are removed,
    at most ``units - 1``: at least one unit always stays.  Ties in importance
    keep the lower index.

    Two ways to use it: :meth:`prune_channels`, :meth:`prune_filters`,
    :meth:`prune_attention_heads` and :meth:`prune` remove the units (the
    array gets smaller; :func:`propagate` slices the next layer), while the
    protocol's :meth:`prune_layer`/:meth:`prune_model` zero them and return
    masks of whole units, shapes kept.

    Parameters
    ----------
    sparsity : float
        Fraction of units to remove, in [0, 1).
    importance_metric : {"l1", "l2", "taylor"}
        Sum of |w|, root of the sum of w**2, or sum of |w * grad| per unit
        (Taylor needs the gradients passed as ``grad``).
    granularity : {"channel", "filter", "head"}
        What :meth:`prune` removes: output channels (axis 0), input filters
        (axis 1) or attention heads.
    num_heads : int, optional
        Heads per tensor, for ``granularity="head"`` through the protocol
        (heads are blocks of rows).
    include, exclude : list of str, optional
        The tensors :meth:`prune_model` prunes (see :class:`Pruner`).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import StructuredPruner
    >>> w = np.array([[1.0, 0.5], [5.0, -5.0], [0.1, 0.0], [2.0, 0.0]])
    >>> pruned, kept = StructuredPruner(0.5).prune_channels(w)
    >>> kept
    array([1, 3])
    """

    name = "structured"
    summary = "whole output channels (rows) zeroed by L1/L2 importance, shapes kept"

    def __init__(self, sparsity, importance_metric="l1", granularity="channel",
                 num_heads=None, include=None, exclude=None):
        super().__init__(sparsity, include=include, exclude=exclude)
        if importance_metric not in METRICS:
            raise ValueError("importance_metric must be one of %s, got %r"
                             % (", ".join(METRICS), importance_metric))
        if granularity not in GRANULARITIES:
            raise ValueError("granularity must be one of %s, got %r"
                             % (", ".join(GRANULARITIES), granularity))
        self.importance_metric = importance_metric
        self.granularity = granularity
        self.num_heads = None if num_heads is None else check.index(num_heads, "num_heads")

    @classmethod
    def add_arguments(cls, group):
        group.add_argument("--metric", choices=["l1", "l2"], default="l1",
                           help="channel importance for --method structured")

    @classmethod
    def from_arguments(cls, args):
        return cls(args.sparsity, importance_metric=args.metric, include=args.include,
                   exclude=args.exclude)

    def layer_mask(self, name, w, prior, target):
        """Whole units zeroed: rows (channel), columns (filter) or head blocks."""
        effective = w if prior is None else np.where(prior, w, w.dtype.type(0))
        if self.granularity == "head":
            if self.num_heads is None:
                raise ValueError("granularity='head' needs num_heads= in the constructor "
                                 "to prune through prune_layer/prune_model")
            _, kept = self.prune_attention_heads(effective, self.num_heads, sparsity=target)
            d = w.shape[0] // self.num_heads
            units, axis = (kept[:, None] * d + np.arange(d)).ravel(), 0
        else:
            axis = 0 if self.granularity == "channel" else 1
            if w.ndim <= axis:
                raise ValueError("granularity=%r needs weights of rank >= %d, got shape %s"
                                 % (self.granularity, axis + 1, w.shape))
            units = self._kept(self.importance_scores(effective, axis=axis), target)
        keep = np.zeros(w.shape[axis], bool)
        keep[units] = True
        shape = [1] * w.ndim
        shape[axis] = -1
        mask = np.broadcast_to(keep.reshape(shape), w.shape).copy()
        return mask if prior is None else mask & prior

    def importance_scores(self, w, grad=None, axis=0):
        """One importance score per index along ``axis``.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import StructuredPruner
        >>> w = np.array([[3.0, -4.0], [1.0, 1.0]])
        >>> StructuredPruner(0.5, "l2").importance_scores(w)
        array([5.        , 1.41421356])
        >>> StructuredPruner(0.5, "taylor").importance_scores(w, grad=np.ones((2, 2)))
        array([7., 2.])
        """
        w = check.float_array(w, "w")
        if w.ndim < 1:
            raise ValueError("w must have at least one dimension")
        axis = check.index(axis, "axis")
        if not 0 <= axis < w.ndim:
            raise ValueError("axis %d is out of range for w of shape %s" % (axis, w.shape))
        if self.importance_metric == "taylor":
            if grad is None:
                raise ValueError("importance_metric='taylor' needs the gradients: "
                                 "pass grad= with the shape of w %s" % (w.shape,))
            grad = check.float_array(grad, "grad")
            if grad.shape != w.shape:
                raise ValueError("grad must have the shape of w %s, got %s"
                                 % (w.shape, grad.shape))
            values = np.abs(w * grad)
        elif self.importance_metric == "l1":
            values = np.abs(w)
        else:
            values = np.square(w, dtype=np.float64)
        if np.isnan(values).any():
            raise ValueError("w (or grad) holds NaN")
        other = tuple(i for i in range(w.ndim) if i != axis)
        scores = values.sum(axis=other, dtype=np.float64)
        return np.sqrt(scores) if self.importance_metric == "l2" else scores

    def _kept(self, scores, sparsity=None):
        units = scores.size
        sparsity = self.sparsity if sparsity is None else sparsity
        remove = min(int(round(sparsity * units)), units - 1)
        # Highest score first, lower index first among equals.
        order = np.lexsort((np.arange(units), -scores))
        return np.sort(order[:units - remove])

    def prune_channels(self, w, grad=None):
        """Remove output channels (axis 0); returns ``(pruned, kept)``.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import StructuredPruner
        >>> pruned, kept = StructuredPruner(0.5).prune_channels(np.eye(4)[:, :2] + 1)
        >>> pruned.shape, kept
        ((2, 2), array([0, 1]))
        """
        kept = self._kept(self.importance_scores(w, grad, axis=0))
        return np.take(np.asarray(w), kept, axis=0), kept

    def prune_filters(self, w, grad=None):
        """Remove input channels (axis 1); returns ``(pruned, kept)``.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import StructuredPruner
        >>> w = np.array([[1.0, 0.0, 3.0], [1.0, 0.1, 3.0]])
        >>> StructuredPruner(0.34).prune_filters(w)[1]
        array([0, 2])
        """
        w = check.float_array(w, "w")
        if w.ndim < 2:
            raise ValueError("prune_filters needs weights of rank >= 2, got shape %s"
                             % (w.shape,))
        kept = self._kept(self.importance_scores(w, grad, axis=1))
        return np.take(w, kept, axis=1), kept

    def prune_attention_heads(self, w, num_heads, grad=None, axis=0, sparsity=None):
        """Remove attention heads from a projection weight.

        Parameters
        ----------
        w : array_like
            2-D projection weight.  Q, K and V projections ``(heads * d, model)``
            have one head per block of ``d`` rows (``axis=0``); the output
            projection ``(model, heads * d)`` per block of columns (``axis=1``).
        num_heads : int
            Heads the axis holds; must divide its length.
        grad : array_like, optional
            Gradients, for Taylor importance.
        axis : {0, 1}
        sparsity : float, optional
            Overrides the pruner's sparsity for this call.

        Returns
        -------
        pruned : ndarray
            ``w`` without the removed heads' rows (or columns).
        kept_heads : ndarray of int
            Indices of the kept heads; ``propagate(next_w, kept_heads,
            group=d)`` slices the matching columns elsewhere.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import StructuredPruner
        >>> w = np.repeat(np.array([1.0, 3.0, 2.0])[:, None], 4, axis=0) * np.ones((12, 2))
        >>> pruned, heads = StructuredPruner(0.34).prune_attention_heads(w, 3)
        >>> pruned.shape, heads
        ((8, 2), array([1, 2]))
        """
        w = check.float_array(w, "w", ndim=2)
        num_heads = check.index(num_heads, "num_heads")
        if axis not in (0, 1):
            raise ValueError("axis must be 0 or 1, got %r" % (axis,))
        size = w.shape[axis]
        if num_heads < 1 or size % num_heads:
            raise ValueError("num_heads must be positive and divide %d (axis %d of "
                             "w with shape %s), got %d" % (size, axis, w.shape, num_heads))
        d = size // num_heads
        per_unit = self.importance_scores(w, grad, axis=axis)
        if self.importance_metric == "l2":
            scores = np.sqrt(np.square(per_unit).reshape(num_heads, d).sum(axis=1))
        else:
            scores = per_unit.reshape(num_heads, d).sum(axis=1)
        kept = self._kept(scores, None if sparsity is None
                          else check.fraction(sparsity, "sparsity"))
        rows = (kept[:, None] * d + np.arange(d)).ravel()
        return np.take(w, rows, axis=axis), kept

    def prune(self, w, grad=None, num_heads=None):
        """Prune by the pruner's ``granularity``; returns ``(pruned, kept)``.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import StructuredPruner
        >>> StructuredPruner(0.5, granularity="filter").prune(np.ones((2, 4)))[0].shape
        (2, 2)
        """
        if self.granularity == "channel":
            return self.prune_channels(w, grad)
        if self.granularity == "filter":
            return self.prune_filters(w, grad)
        num_heads = self.num_heads if num_heads is None else num_heads
        if num_heads is None:
            raise ValueError("granularity='head' needs num_heads")
        return self.prune_attention_heads(w, num_heads, grad)
