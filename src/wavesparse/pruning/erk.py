"""How many weights each layer keeps under one model-wide sparsity.

Two allocations of a budget of ``round((1 - sparsity) * total)`` kept
weights over the layers, both exact in total:

- ``"uniform"``: every layer keeps the same fraction;
- ``"erk"``: Erdos-Renyi-Kernel, as in RigL (Evci et al. 2020): a layer of
  shape ``(d1, d2, ...)`` keeps a fraction proportional to
  ``(d1 + d2 + ...) / (d1 * d2 * ...)``, so small layers stay denser.  A layer
  whose fraction would pass 1 is kept dense and the others are solved again
  for what is left, until none passes 1.

The real-valued shares are then rounded by largest remainder (ties to the
earlier layer), so the counts add up to the budget exactly.  Dynamic sparse
training starts from these counts; a budget plan is their complement
(:func:`sparsity_plan`).

Examples
--------
>>> from wavesparse.pruning.erk import kept_counts
>>> kept_counts({"a": (10, 2), "b": (20, 10), "c": (40, 40)}, 0.8)
{'a': 20, 'b': 94, 'c': 250}
"""

import math

import numpy as np

from wavesparse import _validate as check

__all__ = ["kept_counts", "sparsity_plan", "DISTRIBUTIONS", "erk_score"]

#: The allocations by name.
DISTRIBUTIONS = ("erk", "uniform")


def _shapes(shapes):
    if not isinstance(shapes, dict):
        raise TypeError("shapes must be a dict of name -> shape, got %s"
                        % type(shapes).__name__)
    out = {}
    for name, shape in shapes.items():
        try:
            dims = tuple(check.index(d, "shapes[%r]" % (name,)) for d in shape)
        except TypeError:
            raise TypeError("shapes[%r] must be a tuple of ints, got %r"
                            % (name, shape)) from None
        if not dims or min(dims) < 1:
            raise ValueError("shapes[%r] must be a non-empty shape of positive sizes, got %r"
                             % (name, shape))
        out[name] = dims
    return out


def _largest_remainder(shares, budget, sizes):
    """Integer counts, each at most its size, adding up to ``budget``."""
    counts = {n: min(int(math.floor(s)), sizes[n]) for n, s in shares.items()}
    left = budget - sum(counts.values())
    order = sorted(shares, key=lambda n: -(shares[n] - math.floor(shares[n])))
    for name in order:
        if left <= 0:
            break
        if counts[name] < sizes[name]:
            counts[name] += 1
            left -= 1
    return counts


def erk_score(shape):
    """The unscaled ERK density ``sum(shape) / prod(shape)`` of one tensor.

    Examples
    --------
    >>> from wavesparse.pruning.erk import erk_score
    >>> erk_score((8, 8)), round(erk_score((16, 4, 3, 3)), 4)
    (0.25, 0.0451)
    """
    return float(np.sum(shape)) / float(np.prod(shape))


def kept_counts(shapes, sparsity, distribution="erk"):
    """Weights each layer keeps, adding up to ``round((1 - sparsity) * total)``.

    Parameters
    ----------
    shapes : dict of str to tuple of int
        The layers' shapes, in order (the order breaks rounding ties).
    sparsity : float
        The model-wide fraction pruned, in [0, 1).
    distribution : {"erk", "uniform"}
        How the budget is shared (see the module's text).

    Returns
    -------
    dict of str to int

    Examples
    --------
    >>> from wavesparse.pruning.erk import kept_counts
    >>> kept_counts({"fc1": (784, 512), "fc2": (512, 10)}, 0.9)
    {'fc1': 35533, 'fc2': 5120}
    >>> kept_counts({"fc1": (3, 3), "fc2": (3, 3)}, 0.5, "uniform")
    {'fc1': 5, 'fc2': 4}
    """
    sizes = {n: int(np.prod(s)) for n, s in _shapes(shapes).items()}
    sparsity = check.fraction(sparsity, "sparsity")
    if not isinstance(distribution, str):
        raise TypeError("distribution must be 'erk' or 'uniform', got %r" % (distribution,))
    if distribution not in DISTRIBUTIONS:
        raise ValueError("distribution must be 'erk' or 'uniform', got %r" % (distribution,))
    budget = int(round((1.0 - sparsity) * sum(sizes.values())))
    if distribution == "uniform":
        raw = {n: 1.0 for n in sizes}
    else:
        raw = {n: erk_score(s) for n, s in _shapes(shapes).items()}
    dense = set()
    while True:
        rest = [n for n in sizes if n not in dense]
        left = budget - sum(sizes[n] for n in dense)
        weight = sum(raw[n] * sizes[n] for n in rest)
        scale = left / weight if weight else 0.0
        capped = [n for n in rest if scale * raw[n] > 1.0]
        if not capped:
            break
        dense.update(capped)
    shares = {n: scale * raw[n] * sizes[n] for n in rest}
    counts = _largest_remainder(shares, left, sizes)
    counts.update({n: sizes[n] for n in dense})
    return {n: counts[n] for n in sizes}


def sparsity_plan(shapes, sparsity, distribution="erk"):
    """A budget plan ``{name: sparsity}`` from :func:`kept_counts`, for any
    pruner's ``prune_model(..., sparsity=plan)``.

    Examples
    --------
    >>> from wavesparse.pruning.erk import sparsity_plan
    >>> sparsity_plan({"a": (10, 2), "b": (20, 10), "c": (40, 40)}, 0.8)
    {'a': 0.0, 'b': 0.53, 'c': 0.84375}
    """
    counts = kept_counts(shapes, sparsity, distribution)
    return {n: 1.0 - counts[n] / int(np.prod(s)) for n, s in shapes.items()}
