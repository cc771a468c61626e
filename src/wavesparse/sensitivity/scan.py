"""Sensitivity scans: prune one layer at a time and score the model.

Examples
--------
>>> import numpy as np
>>> from wavesparse.sensitivity import scan
>>> rng = np.random.default_rng(0)
>>> weights = {"fc1": rng.standard_normal((8, 4)), "fc2": rng.standard_normal((2, 8))}
>>> table = scan(weights, sparsities=(0.5, 0.75), progress=False)
>>> table.layers, table.sparsities
(['fc1', 'fc2'], [0.5, 0.75])
>>> bool(table.scores["fc1"][1] < table.scores["fc1"][0] < 0)
True
"""

import sys

from wavesparse import _validate as check
from wavesparse.pruning import Pruner, registry, select_layers
from wavesparse.sensitivity.proxy import describe, input_moment, relative_error
from wavesparse.sensitivity.table import Sensitivity

__all__ = ["scan"]

DEFAULT_SPARSITIES = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)


def scan(weights, score=None, sparsities=DEFAULT_SPARSITIES, layers=None, method="magnitude",
         *, stats=None, progress=None):
    """Score the model with each layer pruned alone at each sparsity.

    Parameters
    ----------
    weights : dict of str to array_like
        The model's tensors.
    score : callable, optional
        ``score(weights_dict) -> float``, higher is better; called once
        unpruned and once per layer and sparsity, with one tensor replaced
        by its pruned copy and the others as given.  Without it the proxy of
        :mod:`wavesparse.sensitivity.proxy` (minus each layer's relative
        output error; no model needed) is used.
    sparsities : sequence of float
        Increasing, in (0, 1).
    layers : list of str, optional
        The tensors to scan; by default every floating tensor of rank >= 2
        (the rule of :func:`wavesparse.pruning.select_layers`).
    method : str or Pruner
        The pruner (a registered ``--method`` name, or an instance) that
        prunes each layer through ``prune_layer(w, sparsity=s, name=name)``.
    stats : dict, optional
        Input statistics per layer for the proxy, ``{name: {"gram": G,
        "rows": r}}`` or ``{name: {"sumsq": q, "rows": r}}`` (see
        :mod:`~wavesparse.sensitivity.proxy`); layers without an entry use
        standard normal inputs.
    progress : bool, optional
        Show tqdm's progress bar on stderr; by
        default only when stderr is a terminal.

    Returns
    -------
    Sensitivity
        Layers x sparsities scores, the unpruned score and parameter counts.
    """
    if not isinstance(weights, dict):
        raise TypeError("weights must be a dict of name -> array, got %s"
                        % type(weights).__name__)
    if score is not None and not callable(score):
        raise TypeError("score must be a callable score(weights) -> float, got %r" % (score,))
    if stats is not None and score is not None:
        raise ValueError("stats feed the proxy score; with a score function, pass no stats")
    names = _layers(weights, layers)
    pruner = _pruner(method, sparsities)
    if stats is not None and not isinstance(stats, dict):
        raise TypeError("stats must be a dict of layer name -> statistics, got %s"
                        % type(stats).__name__)
    sparsities = [check.fraction(s, "sparsities") for s in sparsities]
    baseline = 0.0 if score is None else _call(score, weights)
    rows = {}
    with _Progress(len(names) * len(sparsities), progress) as bar:
        for name in names:
            w = check.float_array(weights[name], "weights[%r]" % name)
            moment = None
            if stats is not None and name in stats:
                flat = w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(1, -1)
                moment = input_moment(stats[name], flat.shape[1], name)
            row = []
            for s in sparsities:
                bar.step("%s at %g%%" % (name, 100 * s))
                pruned, _ = pruner.prune_layer(w, sparsity=s, name=name)
                if score is None:
                    row.append(-relative_error(w, pruned, moment))
                else:
                    trial = dict(weights)
                    trial[name] = pruned
                    row.append(_call(score, trial))
            rows[name] = row
    label = describe(stats) if score is None else getattr(score, "__name__", "score")
    return Sensitivity(sparsities, rows, baseline,
                       {n: int(check.float_array(weights[n], n).size) for n in names}, label)


def _layers(weights, layers):
    if layers is None:
        names = select_layers(weights)
    else:
        if isinstance(layers, str):
            raise TypeError("layers must be a list of tensor names, got the str %r" % layers)
        names = list(layers)
        missing = [n for n in names if n not in weights]
        if missing:
            raise ValueError("layers names %s, not in weights" % ", ".join(map(repr, missing)))
    if not names:
        raise ValueError("no layer to scan: weights holds no float tensor of rank >= 2")
    return names


def _pruner(method, sparsities):
    if isinstance(method, Pruner):
        return method
    if not isinstance(method, str):
        raise TypeError("method must be a registered pruner name or a Pruner, got %r"
                        % (method,))
    return registry.get(method)(check.fraction(list(sparsities)[0], "sparsities"))


def _call(score, weights):
    value = score(weights)
    return check.real_scalar(value, "score(weights)")


class _Progress:
    """tqdm's bar on stderr (shown on a terminal unless ``show`` says)."""

    def __init__(self, total, show):
        from tqdm import tqdm
        show = sys.stderr.isatty() if show is None else bool(show)
        self.done = 0
        self.bar = tqdm(total=total, desc="scan", unit="run", file=sys.stderr, leave=False,
                        disable=not show)

    def step(self, label):
        if self.done:
            self.bar.update(1)
        self.bar.set_postfix_str(label, refresh=True)
        self.done += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.update(1 if self.done else 0)
        self.bar.close()
        return False
