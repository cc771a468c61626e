"""Block pruning: whole R x C blocks of a matrix, exactly, by their norm."""

import numpy as np

from wavesparse._dispatch import blocksize as block_shape
from wavesparse.pruning.base import Pruner
from wavesparse.pruning.importance import block_norms
from wavesparse.pruning.registry import register
from wavesparse.pruning.selection import smallest_masks

__all__ = ["BlockPruner"]


@register
class BlockPruner(Pruner):
    """Zero exactly ``round(sparsity * n_blocks)`` blocks of smallest norm.

    A tensor is viewed as the matrix ``(shape[0], rest)`` and cut into
    ``block`` tiles (the edge tiles may be partial and count as blocks).
    Blocks are ranked by their L1 or L2 norm; ties are broken by position
    (block-row-major, lower first), and blocks an earlier mask emptied go
    first.  The result packs straight into BSR
    (:func:`wavesparse.formats.to_bsr`) with exactly the kept blocks.

    Parameters
    ----------
    sparsity : float
        Fraction of blocks to remove, in [0, 1).
    block : int or (int, int)
        Block shape (R, C); 64 x 64 is one 64-lane wavefront per block row.
    norm : {"l1", "l2"}
    include, exclude : list of str, optional
        The tensors :meth:`prune_model` prunes (see :class:`Pruner`).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import BlockPruner
    >>> w = np.array([[1.0, 1.0, 9.0, 9.0], [1.0, 1.0, 9.0, 9.0]])
    >>> BlockPruner(0.5, block=2).prune_layer(w)[0]
    array([[0., 0., 9., 9.],
           [0., 0., 9., 9.]])
    """

    name = "block"
    summary = "whole R x C blocks by L1/L2 norm, exactly round(sparsity * blocks)"

    def __init__(self, sparsity, block=(64, 64), norm="l1", include=None, exclude=None):
        super().__init__(sparsity, include=include, exclude=exclude)
        self.block = block_shape(block, "block")
        if norm not in ("l1", "l2"):
            raise ValueError("norm must be 'l1' or 'l2', got %r" % (norm,))
        self.norm = norm

    @classmethod
    def add_arguments(cls, group):
        group.add_argument("--block-norm", choices=["l1", "l2"], default="l1",
                           help="block importance for --method block")

    @classmethod
    def from_arguments(cls, args):
        return cls(args.sparsity, block=args.block or (64, 64), norm=args.block_norm,
                   include=args.include, exclude=args.exclude)

    def layer_mask(self, name, w, prior, target):
        matrix = w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(1, -1)
        effective = matrix if prior is None else np.where(
            prior.reshape(matrix.shape), matrix, matrix.dtype.type(0))
        r, c = self.block
        norms = block_norms(effective, self.block, self.norm)
        k = int(round(target * norms.size))
        block_prior = None if prior is None else block_norms(
            prior.reshape(matrix.shape), self.block, "l1") > 0
        (keep,) = smallest_masks([norms], k, [block_prior])
        mask = np.repeat(np.repeat(keep, r, axis=0), c, axis=1)
        mask = mask[:matrix.shape[0], :matrix.shape[1]].reshape(w.shape)
        return mask if prior is None else mask & prior
