"""PyTorch adapters (extra ``torch``): calibration hooks and sparse training.

- :func:`record`: forward hooks on a model's ``nn.Linear`` layers that write
  the calibration statistics file :class:`wavesparse.WandaPruner` and
  :class:`wavesparse.SparseGPTPruner` read.
- :func:`prune_sequential`: one-shot pruning block by block, each block's
  statistics recorded from the model with the earlier blocks pruned.
- :class:`SparseTraining`: a :class:`wavesparse.DynamicSparsePruner` (RigL,
  SET) driving a model's Linear and Conv weights through a torch optimizer.

The rest of wavesparse does not need torch; this subpackage does, and says
so on import when it is missing.

Examples
--------
>>> import torch
>>> from wavesparse.torch import masked_weights
>>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
>>> list(masked_weights(net))
['0.weight', '2.weight']
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised where torch is absent
    raise ImportError("wavesparse.torch needs PyTorch, which is not installed: "
                      "pip install 'wavesparse[torch]' (%s)" % exc) from exc

from wavesparse.torch.modules import masked_weights
from wavesparse.torch.record import record
from wavesparse.torch.sequential import numbered_block, prune_sequential
from wavesparse.torch.training import SparseTraining

__all__ = ["record", "prune_sequential", "numbered_block", "SparseTraining",
           "masked_weights"]
