"""N:M pruning: keep the n largest of every m consecutive weights (2:4, 1:4, 4:8).

The pattern NVIDIA's sparse tensor cores run (2:4), and one that a product
can exploit without indices wider than a byte: every group of m weights along
one axis keeps at most n, so the kept values and their positions in the
group (:mod:`wavesparse.formats_nm`) describe the matrix whole.
"""

import math

import numpy as np

from wavesparse import _validate as check
from wavesparse.calibration.stats import as_stats
from wavesparse.pruning.base import Pruner
from wavesparse.pruning.importance import magnitude, wanda
from wavesparse.pruning.registry import register
from wavesparse.pruning.selection import smallest_in_groups

__all__ = ["NMPruner", "parse_pattern"]

CRITERIA = ("magnitude", "wanda")


def parse_pattern(text):
    """``(n, m)`` from the command line's ``N:M`` (``"2:4"``).

    Examples
    --------
    >>> from wavesparse.pruning.nm import parse_pattern
    >>> parse_pattern("2:4")
    (2, 4)
    """
    parts = str(text).split(":")
    try:
        n, m = (int(p) for p in parts)
    except ValueError:
        raise ValueError("an N:M pattern such as 2:4 was expected, got %r" % (text,)) from None
    if not 1 <= n <= m:
        raise ValueError("an N:M pattern needs 1 <= N <= M, got %r" % (text,))
    return n, m


@register
class NMPruner(Pruner):
    """Keep the ``n`` largest of every ``m`` consecutive weights along ``axis``.

    Every group of ``m`` neighbours along ``axis`` loses exactly ``m - n``
    weights: the smallest scores, ties broken by position (what an earlier
    mask pruned first, then the lower index).  The sparsity is fixed by the
    pattern, ``1 - n / m``; a ``sparsity`` given to a call that disagrees is a
    ValueError.  A group where an earlier mask pruned more than ``m - n`` keeps
    those pruned.

    Parameters
    ----------
    n, m : int
        Kept per group and group length, ``1 <= n <= m``.
    axis : int
        The axis the groups run along (1: along each row of a Linear's
        ``(out, in)`` weight, the input features, as 2:4 hardware wants).
    criterion : {"magnitude", "wanda"}
        The importance score: |w|, or Wanda's ``|W_ij| * ||X_j||`` from
        calibration statistics (``stats``; groups along the inputs, ``axis=1``).
    stats : str, os.PathLike or CalibrationStats, optional
        The input statistics of ``criterion="wanda"``
        (:mod:`wavesparse.calibration`).
    pad : bool
        When the axis' length is not a multiple of ``m``: False raises
        ValueError; True treats the last group as padded with pruned entries
        (it then keeps at most ``n`` of its real weights).
    include, exclude : list of str, optional
        The tensors :meth:`prune_model` prunes (see :class:`Pruner`).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import NMPruner
    >>> w = np.array([[0.1, -3.0, 2.0, 0.5, 4.0, 4.0, -4.0, 1.0]])
    >>> NMPruner(2, 4).prune_layer(w)[0]
    array([[ 0., -3.,  2.,  0.,  0.,  4., -4.,  0.]])
    >>> NMPruner(2, 4).sparsity
    0.5

    Ranked by Wanda scores, an input that carries no signal loses its weights first:

    >>> from wavesparse.calibration import Recorder
    >>> rec = Recorder()
    >>> rec.add("fc", np.array([[1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 1.0]]))
    >>> NMPruner(3, 4, criterion="wanda", stats=rec.stats()).prune_layer(
    ...     np.array([[1.0, 2.0, 9.0, 3.0]]), name="fc")[1]
    array([[ True,  True, False,  True]])
    """

    name = "nm"
    summary = "keep the N largest |w| of every M consecutive weights (--nm 2:4)"

    def __init__(self, n, m, axis=1, criterion="magnitude", pad=False,
                 include=None, exclude=None, stats=None):
        n, m = check.index(n, "n"), check.index(m, "m")
        if not 1 <= n <= m:
            raise ValueError("n and m must satisfy 1 <= n <= m, got n=%d, m=%d" % (n, m))
        super().__init__(1.0 - n / m, include=include, exclude=exclude)
        self.n, self.m = n, m
        self.axis = check.index(axis, "axis")
        if not isinstance(criterion, str):
            raise TypeError("criterion must be a str, got %s" % type(criterion).__name__)
        if criterion not in CRITERIA:
            raise ValueError("criterion must be one of %s, got %r"
                             % (", ".join(map(repr, CRITERIA)), criterion))
        self.criterion = criterion
        if criterion == "wanda":
            if stats is None:
                raise ValueError("criterion='wanda' needs stats= (calibration statistics)")
            if check.index(axis, "axis") != 1:
                raise ValueError("criterion='wanda' ranks along the inputs: axis must be 1, "
                                 "got %r" % (axis,))
        self.stats = None if stats is None else as_stats(stats)
        if not isinstance(pad, (bool, np.bool_)):
            raise TypeError("pad must be a bool, got %r" % (pad,))
        self.pad = bool(pad)

    @classmethod
    def add_arguments(cls, group):
        group.add_argument("--nm", type=parse_pattern, default=None, metavar="N:M",
                           help="keep N of every M consecutive inputs: the pattern of "
                                "--method nm (default 2:4), and of sparsegpt when given; "
                                "sets the sparsity")
        group.add_argument("--nm-pad", action="store_true",
                           help="pad an input length that M does not divide")
        group.add_argument("--nm-criterion", choices=CRITERIA, default="magnitude",
                           help="rank within each group by |w| or by Wanda scores "
                                "(needs --calibration FILE)")
        group.add_argument("--calibration", metavar="FILE",
                           help="calibration statistics (wavesparse.calibration) for "
                                "--method wanda and sparsegpt, and --nm-criterion wanda")

    @classmethod
    def from_arguments(cls, args):
        n, m = args.nm or (2, 4)
        if args.nm_criterion == "wanda" and not args.calibration:
            raise ValueError("--nm-criterion wanda needs --calibration FILE")
        pruner = cls(n, m, pad=args.nm_pad, include=args.include, exclude=args.exclude,
                     criterion=args.nm_criterion,
                     stats=args.calibration if args.nm_criterion == "wanda" else None)
        # The pattern sets the sparsity; a --sparsity other than the parser's
        # default 0.5 that disagrees with it is a mistake.
        if args.sparsity != 0.5 and not math.isclose(args.sparsity, pruner.sparsity):
            raise ValueError("--nm %d:%d prunes %g; --sparsity %g disagrees (leave it out)"
                             % (n, m, pruner.sparsity, args.sparsity))
        return pruner

    def layer_mask(self, name, w, prior, target):
        if not math.isclose(target, self.sparsity, rel_tol=0.0, abs_tol=1e-9):
            raise ValueError("an %d:%d pattern prunes %g of %s; a sparsity of %g cannot "
                             "be asked of it" % (self.n, self.m, self.sparsity,
                                                 "w" if name is None else repr(name), target))
        if not -w.ndim <= self.axis < w.ndim:
            raise ValueError("axis %d is out of range for %s of shape %s"
                             % (self.axis, "w" if name is None else repr(name), w.shape))
        if self.criterion == "wanda":
            scores = wanda(w, self.stats.layer(name, w.shape).feature_norms())
        else:
            scores = magnitude(w)
        scores = np.moveaxis(scores, self.axis, -1)
        kept_prior = None if prior is None else np.moveaxis(prior, self.axis, -1)
        length = scores.shape[-1]
        extra = -length % self.m
        if extra and not self.pad:
            raise ValueError("%s has %d elements along axis %d, not a multiple of m=%d "
                             "(pad=True, or --nm-pad on the command line, pads the last group)"
                             % ("w" if name is None else repr(name), length, self.axis,
                                self.m))
        if extra:
            widths = [(0, 0)] * (scores.ndim - 1) + [(0, extra)]
            # Padding scores below every real one, so it is pruned first.
            scores = np.pad(scores.astype(np.float64), widths, constant_values=-1.0)
            kept_prior = np.pad(np.ones(scores.shape[:-1] + (length,), bool)
                                if kept_prior is None else kept_prior, widths,
                                constant_values=True)
        keep = smallest_in_groups(scores, self.m - self.n, group=self.m, prior=kept_prior)
        return np.moveaxis(keep[..., :length], -1, self.axis)
