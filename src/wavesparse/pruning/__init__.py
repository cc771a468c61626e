"""Pruning: the pruner protocol and every pruner built on it.

Every pruner follows one protocol (:mod:`wavesparse.pruning.base`):
``prune_layer(w, mask=None, sparsity=None) -> (pruned, mask)`` and
``prune_model(weights, masks=None, sparsity=None) -> (pruned, masks)``, with
``sparsity`` one float or a per-tensor mapping, the include/exclude rule of
:mod:`~wavesparse.pruning.choice` and a ``history``.  A pruner is an
importance score (:mod:`~wavesparse.pruning.importance`), a grouping and the
one exact selector (:mod:`~wavesparse.pruning.selection`).
:class:`GradualPruner` drives any of them over training steps; the command
line finds them in :mod:`~wavesparse.pruning.registry`.
:class:`DynamicSparsePruner` (RigL, SET) is the one exception: it owns masks
across training steps, with per-layer budgets from :mod:`~wavesparse.pruning.erk`.

Adding a pruner is one module (a :class:`Pruner` subclass with ``@register``)
and one import line below.

Examples
--------
>>> from wavesparse.pruning import registry
>>> registry.names()
['magnitude', 'structured', 'block', 'nm', 'wanda', 'sparsegpt']
"""

from wavesparse.pruning.base import Pruner
from wavesparse.pruning.choice import layer_choice, select_layers
from wavesparse.pruning.gradual import GradualPruner
from wavesparse.pruning.dynamic import DynamicSparsePruner
from wavesparse.pruning import registry
# The registered pruners, in the order the command line lists them:
from wavesparse.pruning.magnitude import MagnitudePruner
from wavesparse.pruning.structured import StructuredPruner, propagate
from wavesparse.pruning.block import BlockPruner
from wavesparse.pruning.nm import NMPruner
from wavesparse.pruning.wanda import WandaPruner
from wavesparse.pruning.sparsegpt import SparseGPTPruner

__all__ = ["Pruner", "MagnitudePruner", "StructuredPruner", "BlockPruner", "NMPruner",
           "WandaPruner", "SparseGPTPruner", "GradualPruner", "DynamicSparsePruner",
           "propagate", "layer_choice", "select_layers", "registry"]
