"""Per-layer budgets: sparsities whose parameter-weighted average is a target.

Examples
--------
>>> import numpy as np
>>> from wavesparse.sensitivity import allocate
>>> rng = np.random.default_rng(0)
>>> weights = {"small": rng.standard_normal((16, 8)), "large": rng.standard_normal((256, 64))}
>>> plan = allocate(0.5, weights, method="erk")
>>> plan.layers["small"] < 0.5 < plan.layers["large"]
True
>>> round(sum(plan.layers[n] * w.size for n, w in weights.items()))
8256
"""

import numpy as np

from wavesparse import _validate as check
from wavesparse.pruning import select_layers
from wavesparse.pruning.selection import smallest_masks
from wavesparse.sensitivity.erk import erk_family
from wavesparse.sensitivity.fit import count_bounds, fit_family, whole_counts
from wavesparse.sensitivity.greedy import least_loss_counts
from wavesparse.sensitivity.owl import outlier_ratio, owl_family
from wavesparse.sensitivity.plan import Plan
from wavesparse.sensitivity.proxy import input_moment
from wavesparse.sensitivity.table import Sensitivity

__all__ = ["allocate", "METHODS"]

#: The budget methods, in the order the command line lists them.
METHODS = ("uniform", "global", "erk", "sensitivity", "owl")


def allocate(target, weights, method="uniform", sensitivity=None, min_sparsity=0.0,
             max_sparsity=0.99, *, layers=None, stats=None, owl_lambda=0.08, owl_m=5.0):
    """A :class:`Plan`: one sparsity per layer, averaging ``target`` exactly.

    Every method but "uniform" plans whole weights: layer i gets ``k_i / n_i``
    with integer ``k_i`` summing to ``round(target * N)``, so the
    parameter-weighted average is the target to within half a weight and a
    :class:`~wavesparse.MagnitudePruner` prunes exactly ``k_i``.  "uniform"
    gives every layer the target itself.

    Parameters
    ----------
    target : float
        The sparsity over all planned layers, in [0, 1).
    weights : dict of str to array_like
        The model's tensors (shapes for "uniform"/"erk"/"sensitivity",
        values for "global"/"owl").
    method : {"uniform", "global", "erk", "sensitivity", "owl"}
        - "uniform": every layer at the target;
        - "global": the per-layer sparsities one global magnitude threshold
          gives (exactly ``MagnitudePruner(target, scope="global")``'s when
          no bound binds; with binding bounds, the threshold that meets the
          target with every layer clipped to its bounds);
        - "erk": Erdos-Renyi-Kernel densities (:mod:`~wavesparse.sensitivity.erk`);
        - "sensitivity": the least summed predicted loss on the lower convex
          hulls of a scan's curves, an exact optimum of the hulls
          (:mod:`~wavesparse.sensitivity.greedy`); needs ``sensitivity``;
        - "owl": outlier-weighted layer-wise sparsity within ``target +-
          owl_lambda`` (:mod:`~wavesparse.sensitivity.owl`).
    sensitivity : Sensitivity, optional
        A scan covering every planned layer (method "sensitivity").
    min_sparsity, max_sparsity : float
        Bounds for every layer, ``0 <= min <= target <= max < 1``.
    layers : list of str, optional
        The tensors to plan; by default every floating tensor of rank >= 2.
    stats : dict, optional
        For "owl": ``{name: {"sumsq": q, "rows": r}}`` (or ``"gram"``,
        whose diagonal is used) makes the outlier score Wanda's
        ``|w_ij| * sqrt(q_j)``; without it the score is ``|w|``.
    owl_lambda, owl_m : float
        OWL's band half-width and outlier multiple (the paper's lambda
        and M).

    Returns
    -------
    Plan
    """
    target = check.fraction(target, "target")
    lower = check.fraction(min_sparsity, "min_sparsity")
    upper = check.fraction(max_sparsity, "max_sparsity")
    if not lower <= target <= upper:
        raise ValueError("need min_sparsity <= target <= max_sparsity, got %r, %r, %r"
                         % (lower, target, upper))
    if not isinstance(method, str):
        raise TypeError("method must be a str, one of %s; got %r" % (", ".join(METHODS), method))
    if method not in METHODS:
        raise ValueError("method must be one of %s, got %r" % (", ".join(METHODS), method))
    if not isinstance(weights, dict):
        raise TypeError("weights must be a dict of name -> array, got %s"
                        % type(weights).__name__)
    names = select_layers(weights) if layers is None else list(layers)
    missing = [n for n in names if n not in weights]
    if missing:
        raise ValueError("layers names %s, not in weights" % ", ".join(map(repr, missing)))
    if not names:
        raise ValueError("no layer to plan: weights holds no float tensor of rank >= 2")
    arrays = {n: check.float_array(weights[n], "weights[%r]" % n) for n in names}
    if method == "uniform":
        return Plan(target, method, {n: target for n in names})
    sizes = np.array([arrays[n].size for n in names], dtype=np.int64)
    total = int(round(target * sizes.sum()))
    if method == "owl":
        ratios = [outlier_ratio(arrays[n], check.real_scalar(owl_m, "owl_m"),
                                _feature_norms(stats, n, arrays[n])) for n in names]
        lam = check.real_scalar(owl_lambda, "owl_lambda")
        if not 0.0 <= lam < 1.0:
            raise ValueError("owl_lambda must be in [0, 1), got %r" % (lam,))
        family, low, high, lower, upper = owl_family(ratios, target, lam, lower, upper)
    lo, hi = count_bounds(sizes, lower, upper, total)
    if method == "global":
        counts = _global_counts([arrays[n] for n in names], total, lo, hi)
    elif method == "sensitivity":
        counts, lo, hi = _sensitivity_counts(sensitivity, names, sizes, lo, hi, total)
    else:
        if method == "erk":
            family, low, high = erk_family([arrays[n].shape for n in names], lower, upper)
        counts = fit_family(sizes, family, lo, hi, total, low, high)
    whole = whole_counts(counts, lo, hi, total)
    return Plan(target, method, {n: int(k) / int(s) for n, k, s in zip(names, whole, sizes)})


def _global_counts(arrays, total, lo, hi):
    """Per-layer counts of one magnitude threshold over all layers."""
    masks = smallest_masks([np.abs(a) for a in arrays], total)
    counts = np.array([m.size - np.count_nonzero(m) for m in masks], dtype=np.float64)
    if np.all((counts >= lo) & (counts <= hi)):
        return counts
    ordered = [np.sort(np.abs(a), axis=None) for a in arrays]
    steps = [np.arange(1, a.size + 1) / a.size for a in ordered]
    top = max(float(a[-1]) for a in ordered if a.size)

    def sparsity_of(threshold):
        return np.array([np.interp(threshold, a, s, left=0.0, right=1.0)
                         for a, s in zip(ordered, steps)])

    sizes = np.array([a.size for a in arrays])
    return fit_family(sizes, sparsity_of, lo, hi, total, -1.0, 2.0 * top + 1.0)


def _sensitivity_counts(table, names, sizes, lo, hi, total):
    if table is None:
        raise ValueError("method 'sensitivity' needs a sensitivity table (see scan())")
    if not isinstance(table, Sensitivity):
        raise TypeError("sensitivity must be a Sensitivity table, got %s"
                        % type(table).__name__)
    missing = [n for n in names if n not in table.scores]
    if missing:
        raise ValueError("the sensitivity table has no curve for %s"
                         % ", ".join(map(repr, missing[:8])))
    curves = []
    for n, size in zip(names, sizes):
        if table.params[n] != size:
            raise ValueError("the sensitivity table has %d parameters for %r, the weights %d"
                             % (table.params[n], n, size))
        curves.append((np.concatenate(([0.0], table.sparsities)) * size, table.loss(n)))
    reach = np.array([int(np.floor(table.sparsities[-1] * s + 1e-9)) for s in sizes])
    hi = np.minimum(hi, reach)
    if hi.sum() < total:
        raise ValueError("the scan reaches %g%% per layer, short of the target; scan "
                         "higher sparsities" % (100 * table.sparsities[-1]))
    lo = np.minimum(lo, hi)
    return least_loss_counts(curves, lo, hi, total), lo, hi


def _feature_norms(stats, name, w):
    if not stats or name not in stats:
        return None
    n_in = w.reshape(w.shape[0], -1).shape[1] if w.ndim > 1 else w.size
    moment = input_moment(stats[name], n_in, name)
    return np.sqrt(np.diag(moment) if moment.ndim == 2 else moment)
