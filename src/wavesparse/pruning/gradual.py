"""Gradual pruning on the cubic schedule of Zhu & Gupta (2017)."""

import numpy as np

from wavesparse import _validate as check
from wavesparse.pruning.base import Pruner
from wavesparse.pruning.magnitude import MagnitudePruner

__all__ = ["GradualPruner"]


class GradualPruner:
    """Raise sparsity from ``initial_sparsity`` to ``final_sparsity`` in steps.

    Between ``begin_step`` (t0) and ``end_step`` (t_end) the target is
    ``s_f + (s_i - s_f) * (1 - (t - t0) / (t_end - t0)) ** 3``; before t0 it
    is ``s_i``, from t_end on ``s_f`` (so ``begin_step == end_step`` is
    one-shot pruning at that step).  Pruning happens on the grid
    ``(step - begin_step) % frequency == 0`` inside [t0, t_end] and always at
    t_end.  Masks only grow: a weight pruned at one step stays pruned.

    Parameters
    ----------
    initial_sparsity, final_sparsity : float
        In [0, 1).
    begin_step, end_step : int
        ``0 <= begin_step <= end_step``.
    frequency : int
        Steps between pruning events, >= 1.
    pruner : Pruner, optional
        Any pruner that follows the protocol (:class:`wavesparse.pruning.Pruner`)
        does the pruning, its grouping and layer choice applying; a local
        :class:`MagnitudePruner` by default.

    Examples
    --------
    >>> from wavesparse import GradualPruner
    >>> g = GradualPruner(0.0, 0.9, begin_step=1000, end_step=10000, frequency=1000)
    >>> [round(g.compute_sparsity(s), 3) for s in (0, 3000, 5000, 10000)]
    [0.0, 0.477, 0.746, 0.9]
    """

    def __init__(self, initial_sparsity=0.0, final_sparsity=0.9, begin_step=0,
                 end_step=1000, frequency=100, pruner=None):
        self.initial_sparsity = check.fraction(initial_sparsity, "initial_sparsity")
        self.final_sparsity = check.fraction(final_sparsity, "final_sparsity")
        self.begin_step = check.index(begin_step, "begin_step")
        self.end_step = check.index(end_step, "end_step")
        self.frequency = check.index(frequency, "frequency")
        if self.begin_step < 0:
            raise ValueError("begin_step must be >= 0, got %d" % self.begin_step)
        if self.end_step < self.begin_step:
            raise ValueError("end_step (%d) must be >= begin_step (%d)"
                             % (self.end_step, self.begin_step))
        if self.frequency < 1:
            raise ValueError("frequency must be >= 1, got %d" % self.frequency)
        if pruner is not None and not isinstance(pruner, Pruner):
            raise TypeError("pruner must follow the pruner protocol (a "
                            "wavesparse.pruning.Pruner), got %s" % type(pruner).__name__)
        self.pruner = pruner or MagnitudePruner(self.final_sparsity)
        self.masks = {}

    def compute_sparsity(self, step):
        """The target sparsity at ``step``.

        Examples
        --------
        >>> from wavesparse import GradualPruner
        >>> g = GradualPruner(0.0, 0.8, begin_step=10, end_step=20)
        >>> [round(g.compute_sparsity(s), 6) for s in (5, 15, 25)]
        [0.0, 0.7, 0.8]
        """
        step = check.index(step, "step")
        if step < self.begin_step:
            return self.initial_sparsity
        if step >= self.end_step:
            return self.final_sparsity
        progress = (step - self.begin_step) / (self.end_step - self.begin_step)
        return (self.final_sparsity
                + (self.initial_sparsity - self.final_sparsity) * (1.0 - progress) ** 3)

    def should_prune(self, step):
        """Whether ``step`` is a pruning step.

        Examples
        --------
        >>> from wavesparse import GradualPruner
        >>> g = GradualPruner(begin_step=10, end_step=35, frequency=10)
        >>> [s for s in range(50) if g.should_prune(s)]
        [10, 20, 30, 35]
        """
        step = check.index(step, "step")
        if not self.begin_step <= step <= self.end_step:
            return False
        return (step - self.begin_step) % self.frequency == 0 or step == self.end_step

    def get_schedule(self):
        """Every pruning step and its target sparsity.

        Examples
        --------
        >>> from wavesparse import GradualPruner
        >>> GradualPruner(0.0, 0.5, begin_step=0, end_step=2, frequency=1).get_schedule()
        [(0, 0.0), (1, 0.4375), (2, 0.5)]
        """
        steps = list(range(self.begin_step, self.end_step + 1, self.frequency))
        if steps[-1] != self.end_step:
            steps.append(self.end_step)
        return [(s, self.compute_sparsity(s)) for s in steps]

    def prune_step(self, weights, step):
        """Prune ``weights`` (an array or a dict) if ``step`` is a pruning step.

        Off the grid, the current masks are applied and nothing new is
        pruned.  Returns ``(pruned, mask)`` for an array, ``(pruned_dict,
        masks_dict)`` for a dict.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import GradualPruner
        >>> g = GradualPruner(0.0, 0.5, begin_step=0, end_step=1, frequency=1)
        >>> w = np.float32([4, 3, 2, 1])
        >>> g.prune_step(w, 0)[1], g.prune_step(w, 1)[1]
        (array([ True,  True,  True,  True]), array([ True,  True, False, False]))
        """
        if isinstance(weights, dict):
            return self._step_model(weights, step)
        w = check.float_array(weights, "weights")
        prior = self.masks.get(None)
        if not self.should_prune(step):
            if prior is None:
                return w.copy(), np.ones(w.shape, bool)
            return np.where(prior, w, w.dtype.type(0)), prior.copy()
        pruned, mask = self.pruner.prune_layer(w, mask=prior,
                                               sparsity=self.compute_sparsity(step))
        self.masks[None] = mask
        return pruned, mask.copy()

    def _step_model(self, weights, step):
        if not self.should_prune(step):
            out = dict(weights)
            for name, mask in self.masks.items():
                if name in out:
                    w = check.float_array(out[name], "weights[%r]" % name)
                    out[name] = np.where(mask, w, w.dtype.type(0))
            return out, {n: m.copy() for n, m in self.masks.items() if n is not None}
        priors = {n: m for n, m in self.masks.items() if n is not None}
        pruned, masks = self.pruner.prune_model(
            weights, masks=priors, sparsity=self.compute_sparsity(step))
        self.masks.update(masks)
        return pruned, {n: m.copy() for n, m in masks.items()}
