"""Pruning: magnitude (local and global), structured, gradual.

Examples
--------
>>> from wavesparse.pruning import MagnitudePruner, StructuredPruner, GradualPruner
>>> MagnitudePruner(0.5).scope
'local'
"""

from wavesparse.pruning.gradual import GradualPruner
from wavesparse.pruning.magnitude import MagnitudePruner, layer_choice, select_layers
from wavesparse.pruning.structured import StructuredPruner, propagate

__all__ = ["MagnitudePruner", "StructuredPruner", "GradualPruner", "propagate",
           "layer_choice", "select_layers"]
