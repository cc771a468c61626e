"""Wanda (Sun et al. 2023): prune by weight magnitude times input norm.

A weight's score is ``|W_ij| * ||X_j||``, where ``||X_j||`` is the norm of
input feature j over calibration inputs (:mod:`wavesparse.calibration`).
The paper compares scores within each output row; ``groups="layer"``
compares them over the whole tensor.  No weight is updated.
"""

import numpy as np

from wavesparse.calibration.stats import as_stats
from wavesparse.pruning.base import Pruner
from wavesparse.pruning.importance import wanda
from wavesparse.pruning.registry import register
from wavesparse.pruning.selection import smallest_in_groups, smallest_masks

__all__ = ["WandaPruner"]

GROUPS = ("row", "layer")


def check_groups(groups):
    """``groups`` as "row" or "layer"; TypeError/ValueError otherwise."""
    if not isinstance(groups, str):
        raise TypeError("groups must be 'row' or 'layer', got %r" % (groups,))
    if groups not in GROUPS:
        raise ValueError("groups must be 'row' or 'layer', got %r" % (groups,))
    return groups


def matrix_shape(shape):
    """The ``(n_out, n_in)`` matrix a weight of ``shape`` is viewed as."""
    if len(shape) == 0:
        raise ValueError("a weight must have at least one dimension, got a scalar")
    return (shape[0], int(np.prod(shape[1:]))) if len(shape) > 1 else (1, shape[0])


@register
class WandaPruner(Pruner):
    """Zero the weights of smallest ``|W_ij| * ||X_j||``.

    ``groups="row"`` zeroes exactly ``round(sparsity * n_in)`` weights in
    every output row (the paper's choice); ``groups="layer"`` exactly
    ``round(sparsity * n)`` over the tensor.  Ties are broken by position,
    lower index first, and weights an earlier mask pruned go first (they
    stay pruned; a row they overfill keeps them all).  A weight of shape
    ``(n_out, a, b, ...)`` is the matrix ``(n_out, a * b * ...)``.

    Parameters
    ----------
    sparsity : float
        Fraction in [0, 1).
    stats : str, os.PathLike or CalibrationStats
        A calibration statistics file, or statistics in memory
        (:meth:`wavesparse.calibration.Recorder.stats`); they must hold every
        pruned tensor, by its name.
    groups : {"row", "layer"}
    include, exclude : list of str, optional
        Glob patterns choosing the tensors :meth:`prune_model` prunes.

    Examples
    --------
    The second input is ten times louder, so its weights survive:

    >>> import numpy as np
    >>> from wavesparse import WandaPruner
    >>> from wavesparse.calibration import Recorder
    >>> rec = Recorder(gram=False)
    >>> rec.add("fc", np.array([[1.0, 10.0], [-1.0, -10.0]]))
    >>> w = np.array([[3.0, 0.5], [0.2, 0.1]])
    >>> WandaPruner(0.5, rec.stats()).prune_layer(w, name="fc")[0]
    array([[0. , 0.5],
           [0. , 0.1]])
    """

    name = "wanda"
    summary = ("|w| times the input's norm from --calibration, per output row "
               "(--groups row) or per tensor")

    def __init__(self, sparsity, stats, groups="row", include=None, exclude=None):
        super().__init__(sparsity, include=include, exclude=exclude)
        self.stats = as_stats(stats)
        self.groups = check_groups(groups)

    @classmethod
    def add_arguments(cls, group):
        group.add_argument("--calibration", metavar="FILE",
                           help="calibration statistics (wavesparse.calibration) for "
                                "--method wanda and sparsegpt")
        group.add_argument("--groups", choices=GROUPS, default=None,
                           help="compare scores per output row or per tensor (default: "
                                "row for wanda, layer for sparsegpt)")

    @classmethod
    def from_arguments(cls, args):
        return cls(args.sparsity, stats=calibration_argument(args, cls.name),
                   groups=args.groups or "row", include=args.include, exclude=args.exclude)

    def check_tensor(self, name, shape):
        """A matrix (or a tensor viewed as one) with statistics of its width."""
        matrix_shape(shape)
        self.stats.check(name, shape)

    def prune_arrays(self, arrays, priors, targets):
        """Every tensor's statistics are checked before any is pruned."""
        for name, w in arrays.items():
            self.check_tensor(name, w.shape)
        return super().prune_arrays(arrays, priors, targets)

    def layer_mask(self, name, w, prior, target):
        scores = wanda(w, self.stats.layer(name, w.shape).feature_norms())
        rows, width = matrix_shape(w.shape)
        if self.groups == "row":
            keep = smallest_in_groups(scores.reshape(rows, width), int(round(target * width)),
                                      prior=None if prior is None else prior.reshape(rows, width))
            return keep.reshape(w.shape)
        (keep,) = smallest_masks([scores], int(round(target * w.size)), [prior])
        return keep


def calibration_argument(args, method):
    """The ``--calibration`` file of a parsed command line; ValueError without one."""
    if not args.calibration:
        raise ValueError("--method %s needs --calibration FILE (input statistics: "
                         "wavesparse.calibration.Recorder)" % method)
    return args.calibration
