"""SparseGPT (Frantar & Alistarh 2023): prune, and update what is kept.

For a linear layer with weights W (n_out x n_in) and calibration inputs X,
pruning one weight w_j of a row and changing the row's later weights to
make up for it is the optimal-brain-surgeon step on the quadratic
``||X w - X w'||^2``, whose Hessian is H = X^T X.  SparseGPT takes the
columns in order and, for each, removes the pruned weights of every row at
once: with U the upper Cholesky factor of H^-1 (so U^T U = H^-1), removing
column j's pruned weights w costs ``w^2 / U_jj^2`` and changes the later
columns by ``-(w / U_jj) * U[j, j+1:]``.  The same U serves every row, so
one factorisation prunes the whole layer.

Speed comes from doing this in blocks of columns: a block's mask is chosen
at its start by that saliency, its columns are eliminated with updates kept
inside the block (in sub-blocks, each applied to the rest of the block as
one matrix product), and the block's errors reach the later columns as one
matrix product (the paper's lazy batched update).  H is damped by ``damp``
times its mean diagonal before it is factorised, in float64; the updates run
in the weights' dtype.

With an N:M pattern (``nm=(n, m)``) the mask is chosen per group of m
consecutive columns instead, when the elimination reaches the group's first
column: in each row the ``m - n`` weights of smallest saliency, from the
weights as the earlier columns' updates left them (the paper's recipe for
2:4).
"""

import math

import numpy as np
import scipy.linalg

from wavesparse import _validate as check
from wavesparse.calibration.stats import as_stats
from wavesparse.pruning.base import Pruner
from wavesparse.pruning.nm import parse_pattern
from wavesparse.pruning.registry import register
from wavesparse.pruning.selection import smallest_in_groups, smallest_masks
from wavesparse.pruning.wanda import calibration_argument, check_groups, matrix_shape

__all__ = ["SparseGPTPruner", "inverse_hessian_factor", "sparsegpt"]

# Columns eliminated one by one before their updates reach the rest of the
# block as one product: small enough that the rank-1 updates stay in cache.
_SUB_BLOCK = 16
# Later columns updated per product in the lazy update: bounds its temporary.
_LAZY_ROWS = 1024


def inverse_hessian_factor(gram, damp=0.01, name="gram"):
    """The upper Cholesky factor U of ``(gram + damp * mean(diag) * I)^-1``.

    ``U.T @ U`` is the damped inverse; computed in float64 as the flipped
    inverse of the lower Cholesky factor of the flipped matrix (one
    factorisation and one triangular inverse).

    Raises
    ------
    ValueError
        When the damped matrix is not positive definite (a zero Gram matrix,
        one with NaN, or negative directions).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning.sparsegpt import inverse_hessian_factor
    >>> h = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> u = inverse_hessian_factor(h, damp=0.0)
    >>> np.allclose(u.T @ u, np.linalg.inv(h)), np.allclose(u, np.triu(u))
    (True, True)
    """
    gram = np.asarray(gram, dtype=np.float64)
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1]:
        raise ValueError("the Gram matrix of %s must be square, got shape %s"
                         % (name, gram.shape))
    flipped = np.array(gram[::-1, ::-1], dtype=np.float64, order="F")
    diagonal = np.einsum("ii->i", flipped)
    mean = float(diagonal.mean()) if diagonal.size else 0.0
    if not np.isfinite(flipped).all():
        raise ValueError("the Gram matrix of %s holds NaN or inf" % name)
    diagonal += damp * mean
    lower, info = scipy.linalg.lapack.dpotrf(flipped, lower=1, clean=1, overwrite_a=1)
    if info == 0:
        lower, info = scipy.linalg.lapack.dtrtri(lower, lower=1, overwrite_c=1)
    if info != 0:
        raise ValueError("the Gram matrix of %s is not positive definite even after "
                         "damping by %g x its mean diagonal (%.3g)%s: raise damp, or record "
                         "more calibration inputs" % (name, damp, mean,
                                                      "; it is zero" if mean == 0 else ""))
    return lower[::-1, ::-1]


def _pattern(nm):
    """``nm`` as ``(n, m)`` ints with ``1 <= n <= m``; "2:4" is taken too."""
    if isinstance(nm, str):
        return parse_pattern(nm)
    if not isinstance(nm, (tuple, list)) or len(nm) != 2:
        raise TypeError("nm must be a pair (n, m) such as (2, 4), got %r" % (nm,))
    n, m = check.index(nm[0], "nm[0]"), check.index(nm[1], "nm[1]")
    if not 1 <= n <= m:
        raise ValueError("nm needs 1 <= n <= m, got %d:%d" % (n, m))
    return n, m


def _block_mask(saliency, prior, groups, budget, pruned_so_far):
    """Keep-mask of one block (columns x rows) that brings the cumulative
    pruned count to ``budget`` (per row, or over the layer)."""
    if groups == "row":
        k = np.clip(budget - pruned_so_far, 0, saliency.shape[0])
        keep = smallest_in_groups(saliency.T, k, prior=None if prior is None else prior.T)
        return keep.T
    k = max(int(budget - pruned_so_far), 0)
    # Row-major within the block, so ties go by the weight's position in w.
    (keep,) = smallest_masks([np.ascontiguousarray(saliency.T)], k,
                             [None if prior is None else prior.T])
    return keep.T


def _group_mask(saliency, prior, n, m):
    """Keep-mask of m columns (columns x rows): the ``m - n`` smallest of each
    row pruned, prior-pruned first, then the lower column."""
    keep = smallest_in_groups(saliency.T, m - n, group=m,
                              prior=None if prior is None else prior.T)
    return keep.T


def sparsegpt(w, gram, sparsity, groups="layer", prior=None, block_size=128, damp=0.01,
              name="w", nm=None):
    """Prune one matrix by SparseGPT: ``(pruned and updated weights, mask)``.

    Parameters
    ----------
    w : ndarray, shape (n_out, n_in)
        float32 or float64 weights (a copy is updated; the result has their
        dtype).
    gram : ndarray, shape (n_in, n_in)
        X^T X of the calibration inputs.
    sparsity : float
        Exactly ``round(sparsity * n_in)`` weights are pruned in each row
        (``groups="row"``) or ``round(sparsity * w.size)`` in the matrix
        (``groups="layer"``), spread over the blocks in proportion to their
        width.
    groups : {"layer", "row"}
        Where a block's pruned weights are chosen: over all rows of the
        block (the paper), or the same count in each row.
    prior : ndarray of bool, optional
        An earlier mask (True = kept); its pruned weights are pruned first.
    block_size : int
        Columns per block (the mask is chosen per block).
    damp : float
        Added to H's diagonal, as a fraction of its mean.
    nm : (int, int), optional
        ``(n, m)``: keep ``n`` of every ``m`` consecutive weights of each
        row, each group's mask chosen when its first column is reached
        (``sparsity`` and ``groups`` are then not used; ``m`` must divide
        ``n_in`` and ``block_size``).

    Examples
    --------
    Inputs where feature 1 always equals feature 0: pruning weight 0 moves
    it onto weight 1, and the outputs do not change.

    >>> import numpy as np
    >>> from wavesparse.pruning.sparsegpt import sparsegpt
    >>> x = np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 1.0], [0.0, 0.0, 1.0]])
    >>> w = np.array([[0.5, 2.0, 3.0]])
    >>> pruned, mask = sparsegpt(w, x.T @ x, 1 / 3, damp=1e-9)
    >>> mask, np.round(pruned, 6) + 0.0
    (array([[False,  True,  True]]), array([[0. , 2.5, 3. ]]))

    With ``nm=(1, 2)`` each pair of columns keeps one weight:

    >>> x = np.eye(4) + 0.5
    >>> sparsegpt(np.array([[1.0, 0.2, 0.3, 2.0]]), x.T @ x, 0.5, nm=(1, 2))[1]
    array([[ True, False, False,  True]])
    """
    rows, width = w.shape
    if nm is not None and (width % nm[1] or block_size % nm[1]):
        raise ValueError("an %d:%d pattern needs m=%d to divide the %d columns of %s and "
                         "block_size %d" % (nm[0], nm[1], nm[1], width, name, block_size))
    # Sub-blocks hold whole groups, so a group's columns are up to date when
    # its mask is chosen.
    step = _SUB_BLOCK if nm is None else nm[1] * max(1, _SUB_BLOCK // nm[1])
    factor = inverse_hessian_factor(gram, damp, name)
    diagonal = np.diag(factor).copy()
    dtype = w.dtype
    u = np.ascontiguousarray(factor, dtype=dtype)
    del factor  # float32 weights: the float64 factor's memory goes back now
    work = np.array(w.T, dtype=dtype, order="C")  # one column of w per row: contiguous
    keep = np.ones((width, rows), dtype=bool)
    errors = np.empty((min(block_size, width), rows), dtype=dtype)
    pruned_so_far = np.zeros(rows, np.int64) if groups == "row" else 0
    for start in range(0, width, block_size):
        end = min(start + block_size, width)
        if nm is None:
            saliency = np.square(work[start:end], dtype=np.float64) / \
                np.square(diagonal[start:end])[:, None]
            budget = (int(round(sparsity * end)) if groups == "row"
                      else int(round(sparsity * rows * end)))
            keep[start:end] = _block_mask(
                saliency, None if prior is None else prior[:, start:end].T, groups, budget,
                pruned_so_far)
            lost = ~keep[start:end]
            pruned_so_far = pruned_so_far + (lost.sum(axis=0) if groups == "row"
                                             else int(lost.sum()))
            if not lost.any():
                continue
        e = errors[:end - start]
        for sub in range(start, end, step):
            stop = min(sub + step, end)
            for j in range(sub, stop):
                if nm is not None and j % nm[1] == 0:
                    group = slice(j, j + nm[1])
                    keep[group] = _group_mask(
                        np.square(work[group], dtype=np.float64)
                        / np.square(diagonal[group])[:, None],
                        None if prior is None else prior[:, group].T, *nm)
                err = np.where(keep[j], dtype.type(0), work[j] / u[j, j])
                e[j - start] = err
                work[j] = np.where(keep[j], work[j], dtype.type(0))
                if j + 1 < stop:
                    work[j + 1:stop] -= u[j, j + 1:stop, None] * err
            if stop < end:
                work[stop:end] -= u[sub:stop, stop:end].T @ e[sub - start:stop - start]
        for lo in range(end, width, _LAZY_ROWS):
            hi = min(lo + _LAZY_ROWS, width)
            work[lo:hi] -= u[start:end, lo:hi].T @ e
    return np.ascontiguousarray(work.T), np.ascontiguousarray(keep.T)


@register
class SparseGPTPruner(Pruner):
    """Prune by SparseGPT and update the kept weights to make up for it.

    Each tensor needs the Gram matrix X^T X of its calibration inputs
    (:class:`wavesparse.calibration.Recorder` with ``gram=True``).  Exactly
    ``round(sparsity * n)`` weights are pruned per tensor (``groups="layer"``)
    or ``round(sparsity * n_in)`` per output row (``groups="row"``); the kept
    weights are changed (the result is not ``w * mask``).  A weight of shape
    ``(n_out, a, b, ...)`` is the matrix ``(n_out, a * b * ...)``.

    Parameters
    ----------
    sparsity : float
        Fraction in [0, 1).
    stats : str, os.PathLike or CalibrationStats
        Calibration statistics with a Gram matrix for every pruned tensor.
    block_size : int
        Columns per block: the mask is chosen per block (128, the paper's).
    damp : float
        Added to the Gram matrix's diagonal as a fraction of its mean (0.01).
    groups : {"layer", "row"}
    include, exclude : list of str, optional
        Glob patterns choosing the tensors :meth:`prune_model` prunes.
    nm : (int, int), optional
        ``(n, m)``: an N:M pattern instead (2:4 keeps 2 of every 4
        consecutive inputs of each row), each group's mask chosen by the
        same saliency when the elimination reaches it; the sparsity is then
        ``1 - n / m`` (``sparsity`` may be None, or must agree), ``groups``
        is not used and ``m`` must divide ``block_size`` and each tensor's
        ``n_in``.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import SparseGPTPruner
    >>> from wavesparse.calibration import Recorder
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((64, 8))
    >>> rec = Recorder()
    >>> rec.add("fc", x)
    >>> w = rng.standard_normal((4, 8))
    >>> pruned, mask = SparseGPTPruner(0.5, rec.stats()).prune_layer(w, name="fc")
    >>> int(mask.sum()), bool(np.all(pruned[~mask] == 0))
    (16, True)
    >>> mask = SparseGPTPruner(None, rec.stats(), nm=(2, 4)).prune_layer(w, name="fc")[1]
    >>> mask.reshape(4, 2, 4).sum(axis=2).tolist()
    [[2, 2], [2, 2], [2, 2], [2, 2]]
    """

    name = "sparsegpt"
    summary = ("optimal-brain-surgeon pruning that updates the kept weights, from the "
               "Gram matrices in --calibration")

    def __init__(self, sparsity, stats, block_size=128, damp=0.01, groups="layer",
                 include=None, exclude=None, nm=None):
        self.nm = None if nm is None else _pattern(nm)
        if self.nm is not None:
            pattern_sparsity = 1.0 - self.nm[0] / self.nm[1]
            if sparsity is not None and not math.isclose(
                    check.fraction(sparsity, "sparsity"), pattern_sparsity, abs_tol=1e-9):
                raise ValueError("nm=%d:%d prunes %g; sparsity=%r disagrees (pass None)"
                                 % (*self.nm, pattern_sparsity, sparsity))
            sparsity = pattern_sparsity
            self.n, self.m = self.nm  # the pattern the command line's --layout nm stores
        super().__init__(sparsity, include=include, exclude=exclude)
        self.stats = as_stats(stats)
        self.block_size = check.index(block_size, "block_size")
        if self.block_size < 1:
            raise ValueError("block_size must be >= 1, got %d" % self.block_size)
        self.damp = check.real_scalar(damp, "damp")
        if not 0.0 <= self.damp < float("inf"):
            raise ValueError("damp must be finite and >= 0, got %r" % damp)
        self.groups = check_groups(groups)
        if self.nm is not None and self.block_size % self.nm[1]:
            raise ValueError("block_size must be a multiple of m=%d for nm=%d:%d, got %d"
                             % (self.nm[1], *self.nm, self.block_size))

    @classmethod
    def add_arguments(cls, group):
        group.add_argument("--calibration", metavar="FILE")
        group.add_argument("--groups", choices=("row", "layer"), default=None)
        group.add_argument("--column-block", type=int, default=128, metavar="N",
                           help="columns per block for --method sparsegpt (default 128)")
        group.add_argument("--damp", type=float, default=0.01,
                           help="damping of the Gram matrix, a fraction of its mean "
                                "diagonal, for --method sparsegpt (default 0.01)")
        group.add_argument("--nm", type=parse_pattern, default=None, metavar="N:M")

    @classmethod
    def from_arguments(cls, args):
        sparsity = args.sparsity
        if args.nm is not None:
            if args.groups is not None:
                raise ValueError("--groups does not apply to --method sparsegpt --nm")
            # The pattern sets the sparsity; a --sparsity other than the
            # parser's default that disagrees with it is a mistake.
            n, m = args.nm
            if args.sparsity != 0.5 and not math.isclose(args.sparsity, 1.0 - n / m):
                raise ValueError("--nm %d:%d prunes %g; --sparsity %g disagrees (leave it out)"
                                 % (n, m, 1.0 - n / m, args.sparsity))
            sparsity = None
        return cls(sparsity, stats=calibration_argument(args, cls.name),
                   block_size=args.column_block, damp=args.damp,
                   groups=args.groups or "layer", include=args.include, exclude=args.exclude,
                   nm=args.nm)

    def check_tensor(self, name, shape):
        """A matrix (or a tensor viewed as one) with a Gram matrix of its
        width, a multiple of m with an N:M pattern."""
        width = matrix_shape(shape)[1]
        self.stats.check(name, shape, gram=True)
        if self.nm is not None and width % self.nm[1]:
            raise ValueError("%r has %d inputs, not a multiple of m=%d (nm=%d:%d)"
                             % (name, width, self.nm[1], *self.nm))

    def prune_arrays(self, arrays, priors, targets):
        """Masks and updated weights together; every tensor's statistics are
        checked before any is pruned."""
        for name, w in arrays.items():
            self.check_tensor(name, w.shape)
            if self.nm is not None and not math.isclose(targets[name], self.sparsity,
                                                        abs_tol=1e-9):
                raise ValueError("an %d:%d pattern prunes %g of %r; a sparsity of %g cannot "
                                 "be asked of it" % (*self.nm, self.sparsity, name,
                                                     targets[name]))
        out = {}
        for i, (name, w) in enumerate(arrays.items()):
            if self.progress is not None:
                self.progress(i, len(arrays), name)
            shape = matrix_shape(w.shape)
            prior = priors[name]
            pruned, keep = sparsegpt(
                w.reshape(shape), self.stats.layer(name, w.shape, gram=True).gram,
                targets[name], self.groups, None if prior is None else prior.reshape(shape),
                self.block_size, self.damp, repr(name), self.nm)
            out[name] = (pruned.reshape(w.shape), keep.reshape(w.shape))
        return out
