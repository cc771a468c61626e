"""Calibration: the input statistics of each linear layer, recorded once.

Pruners that look at the data a layer sees (Wanda's ``|W_ij| * ||X_j||``,
SparseGPT's update from the Gram matrix) read these statistics instead of
the data.  A user records them once, in any framework, feeding each layer's
inputs to a :class:`Recorder`, saves a statistics file (the format is
documented in :mod:`wavesparse.calibration.stats`: safetensors with, per
weight, the rows seen, the per-feature sums of squares and optionally the
Gram matrix X^T X, all float64) and prunes any checkpoint of that model
with it (:class:`wavesparse.WandaPruner`, :class:`wavesparse.SparseGPTPruner`,
``wavesparse prune --calibration FILE``).

Examples
--------
>>> import numpy as np
>>> from wavesparse.calibration import Recorder
>>> rng = np.random.default_rng(0)
>>> rec = Recorder()
>>> for _ in range(3):
...     rec.add("fc.weight", rng.standard_normal((16, 4)))
>>> rec.stats()["fc.weight"].rows
48
"""

from wavesparse.calibration.recorder import Recorder
from wavesparse.calibration.stats import (CalibrationStats, LayerStats, as_stats,
                                          load_stats, save_stats)

__all__ = ["Recorder", "CalibrationStats", "LayerStats", "load_stats", "save_stats",
           "as_stats"]
