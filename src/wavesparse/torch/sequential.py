"""Sequential one-shot pruning of a torch model: each block's statistics are
recorded from the model whose earlier blocks are already pruned.

This is the recipe of the SparseGPT and Wanda papers: a block sees the
inputs the pruned model will give it, not the dense model's, so the error
of earlier blocks is not compounded blindly.  Any model that
:func:`wavesparse.torch.record` can run works; a block is a group of Linear
weights, by default those under one numbered layer (``encoder.layer.3.``).
"""

import glob
import re

import numpy as np
import torch

from wavesparse.torch.modules import check_batches, chosen_linears, run_batch, to_numpy
from wavesparse.torch.record import record

__all__ = ["prune_sequential", "numbered_block"]

_NUMBER = re.compile(r"^(.*?\.\d+)\.")


def numbered_block(name):
    """The default block of a weight: its name up to the first numbered part
    (``"encoder.layer.3.attention.query.weight"`` -> ``"encoder.layer.3"``),
    or the weight's own name when it has none.

    Examples
    --------
    >>> from wavesparse.torch import numbered_block
    >>> numbered_block("model.layers.11.mlp.up_proj.weight"), numbered_block("lm_head.weight")
    ('model.layers.11', 'lm_head.weight')
    """
    match = _NUMBER.match(name)
    return match.group(1) if match else name


def _call_order(layers, batch, model):
    """The names of ``layers`` in the order they are first called."""
    order = []
    by_module = {layer: name for name, layer in layers.items()}

    def hook(layer, args):
        if by_module[layer] not in order:
            order.append(by_module[layer])

    handles = [layer.register_forward_pre_hook(hook) for layer in by_module]
    try:
        with torch.no_grad():
            run_batch(model, batch)
    finally:
        for handle in handles:
            handle.remove()
    return order + [n for n in layers if n not in order]


def prune_sequential(model, batches, make_pruner, include=None, exclude=None,
                     block_of=numbered_block, progress=None):
    """Prune ``model``'s Linear weights block by block, in forward order, each
    block with statistics recorded from the model as pruned so far.

    Parameters
    ----------
    model : torch.nn.Module
        Pruned in place (the weights are overwritten under ``no_grad``);
        16-bit weights are pruned as float32 and written back in their dtype.
    batches : sequence
        The calibration batches (as :func:`~wavesparse.torch.record` takes
        them); read once per block, so an iterator is first made a list.
    make_pruner : callable
        ``make_pruner(stats)`` gives the pruner of one block from its
        statistics, e.g. ``lambda s: SparseGPTPruner(0.7, s)``.
    include, exclude : list of str, optional
        Glob patterns choosing the Linear weights (default: all).
    block_of : callable
        ``block_of(name)`` is the block key of a weight; weights with one key
        are recorded and pruned together (:func:`numbered_block` by default;
        ``lambda n: n`` prunes Linear by Linear).
    progress : callable, optional
        ``progress(i, n, block)`` before each block.

    Returns
    -------
    masks : dict of str to torch.Tensor of bool
        The kept weights of every pruned Linear.
    blocks : list of (str, list of str)
        The blocks in the order they were pruned, with their weights.

    Examples
    --------
    >>> import torch
    >>> from wavesparse import WandaPruner
    >>> from wavesparse.torch import prune_sequential
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    >>> masks, blocks = prune_sequential(net, [torch.randn(32, 8)],
    ...                                  lambda stats: WandaPruner(0.5, stats))
    >>> blocks, float((net[2].weight == 0).float().mean())
    ([('0.weight', ['0.weight']), ('2.weight', ['2.weight'])], 0.5)
    """
    if not callable(make_pruner) or isinstance(make_pruner, type):
        raise TypeError("make_pruner must be a callable taking statistics and giving a "
                        "pruner (lambda stats: WandaPruner(0.5, stats)), got %s"
                        % (make_pruner.__name__ if isinstance(make_pruner, type)
                           else type(make_pruner).__name__))
    for name, value in (("block_of", block_of), ("progress", progress)):
        if value is not None and not callable(value):
            raise TypeError("%s must be callable, got %s" % (name, type(value).__name__))
    check_batches(batches)
    batches = batches if isinstance(batches, (list, tuple)) else list(batches)
    if not batches:
        raise ValueError("batches is empty: prune_sequential needs at least one batch")
    layers = chosen_linears(model, include, exclude)
    weights = {n: layer.weight for n, layer in layers.items()}
    blocks = {}
    for name in _call_order(layers, batches[0], model):
        blocks.setdefault(block_of(name), []).append(name)
    masks = {}
    for i, (key, members) in enumerate(blocks.items()):
        if progress is not None:
            progress(i, len(blocks), key)
        stats = record(model, batches, include=[glob.escape(n) for n in members],
                       stop_early=True)
        pruner = make_pruner(stats)
        if not callable(getattr(pruner, "prune_model", None)):
            raise TypeError("make_pruner(stats) must give a wavesparse Pruner, got %s"
                            % type(pruner).__name__)
        # The pruners read numpy: 16-bit weights (bfloat16 has no numpy
        # dtype in torch) go as float32, and come back in their own dtype.
        pruned, kept = pruner.prune_model({n: to_numpy(weights[n]) for n in members})
        with torch.no_grad():
            for n in (n for n in members if n in kept):  # the pruner's globs may leave some
                weights[n].copy_(torch.from_numpy(np.asarray(pruned[n])))
                masks[n] = torch.from_numpy(np.asarray(kept[n])).to(weights[n].device)
    return masks, list(blocks.items())
