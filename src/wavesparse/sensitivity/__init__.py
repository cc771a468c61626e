"""Sensitivity scans and per-layer sparsity budgets.

- :func:`scan` prunes one layer at a time and scores the model (your score,
  or a proxy that needs no model), giving a :class:`Sensitivity` table;
- :func:`allocate` turns a target sparsity into a :class:`Plan`, one
  sparsity per layer whose parameter-weighted average is the target, by
  "uniform", "global", "erk", "sensitivity" or "owl";
- a plan is an editable JSON file that ``MagnitudePruner(plan=...)``,
  ``prune_model(..., sparsity=plan.layers)`` and ``wavesparse prune --plan``
  apply.

Examples
--------
>>> import numpy as np
>>> from wavesparse import MagnitudePruner
>>> from wavesparse.sensitivity import allocate, scan
>>> rng = np.random.default_rng(0)
>>> weights = {"fc1": rng.standard_normal((64, 16)), "fc2": rng.standard_normal((8, 64))}
>>> plan = allocate(0.7, weights, "sensitivity", scan(weights, progress=False))
>>> pruned, masks = MagnitudePruner(plan=plan).prune_model(weights)
>>> sum(int((~m).sum()) for m in masks.values()), round(0.7 * (64 * 16 + 8 * 64))
(1075, 1075)
"""

from wavesparse.sensitivity.allocate import METHODS, allocate
from wavesparse.sensitivity.plan import Plan
from wavesparse.sensitivity.scan import scan
from wavesparse.sensitivity.table import Sensitivity

__all__ = ["scan", "Sensitivity", "allocate", "Plan", "METHODS"]
