"""Dynamic sparse training: RigL (Evci et al. 2020) and SET (Mocanu et al. 2018).

The network is sparse from the first step: :meth:`DynamicSparsePruner.init_masks`
draws random masks with the per-layer counts of :mod:`~wavesparse.pruning.erk`,
and every ``update_every`` steps :meth:`~DynamicSparsePruner.update` drops the
active weights of smallest magnitude and grows as many others, by largest
gradient magnitude (RigL) or at random (SET).  Each layer keeps its count
exactly.  This class is the protocol's documented exception: it owns masks
across steps; it takes numpy arrays, gives bool masks, and leaves the
caller's optimizer alone (it says which weights were grown, so the caller can
reset their optimizer state).

Examples
--------
>>> import numpy as np
>>> from wavesparse import DynamicSparsePruner
>>> rng = np.random.default_rng(0)
>>> w = {"fc1": rng.standard_normal((20, 10)), "fc2": rng.standard_normal((10, 5))}
>>> dsp = DynamicSparsePruner(0.8, update_every=10, end_step=100)
>>> masks = dsp.init_masks(w)
>>> {n: int(m.sum()) for n, m in masks.items()}
{'fc1': 33, 'fc2': 17}
>>> g = {n: rng.standard_normal(a.shape) for n, a in w.items()}
>>> masks, changed = dsp.update(10, dsp.apply(w), g)
>>> {n: int(m.sum()) for n, m in masks.items()}, int(changed["fc1"].sum())
({'fc1': 33, 'fc2': 17}, 6)
"""

import math

import numpy as np

from wavesparse import _validate as check
from wavesparse._dispatch import refuse_nan
from wavesparse.pruning import erk
from wavesparse.pruning.choice import glob_patterns, select_layers
from wavesparse.pruning.selection import smallest_masks

__all__ = ["DynamicSparsePruner"]

METHODS = ("rigl", "set")
DECAYS = ("cosine", "constant")

# For non-negative floats the bit patterns are ordered like the values, so
# TOP - bits maps |g| to a finite non-negative float of reversed order,
# exactly: the k smallest of it are the k largest |g|.  TOP is one step below
# the largest finite float (so no tie threshold overflows); |g| from there
# up to infinity counts as equal.
_TOP_BITS = {np.dtype(np.float32): (np.uint32, 0x7F7FFFFE),
             np.dtype(np.float64): (np.uint64, 0x7FEFFFFFFFFFFFFE)}


def _descending(a):
    uint, top = _TOP_BITS[a.dtype]
    bits = np.minimum(np.abs(a).view(uint), uint(top))
    return (uint(top) - bits).view(a.dtype)


def _choice(value, name, allowed):
    if not isinstance(value, str):
        raise TypeError("%s must be one of %s, got %r"
                        % (name, ", ".join(map(repr, allowed)), value))
    if value not in allowed:
        raise ValueError("%s must be one of %s, got %r"
                         % (name, ", ".join(map(repr, allowed)), value))
    return value


def _distribution(value):
    if isinstance(value, dict):
        out = {}
        for name, density in value.items():
            density = check.real_scalar(density, "distribution[%r]" % (name,))
            if not 0.0 <= density <= 1.0:
                raise ValueError("distribution[%r] must be a density in [0, 1], got %r"
                                 % (name, density))
            out[name] = density
        return out
    return _choice(value, "distribution", erk.DISTRIBUTIONS)


class DynamicSparsePruner:
    """Sparse masks that change during training: RigL or SET.

    Parameters
    ----------
    sparsity : float
        Fraction of the chosen weights pruned, over all of them, in [0, 1).
    method : {"rigl", "set"}
        How weights are grown: largest ``|grad|`` (RigL) or uniformly at
        random (SET).
    distribution : {"erk", "uniform"} or dict of str to float
        Per-layer counts (:func:`wavesparse.pruning.erk.kept_counts`, exact in
        total), or an explicit density (kept fraction) for every chosen layer,
        each rounded to the nearest count.
    drop_fraction : float
        Fraction of each layer's active weights replaced at an update, at step
        0 of the decay; in [0, 1].
    decay : {"cosine", "constant"}
        ``f(step) = drop_fraction / 2 * (1 + cos(pi * step / end_step))`` or
        ``drop_fraction``; 0 after ``end_step``.
    update_every : int
        Steps between mask updates, >= 1.
    end_step : int
        Last step with an update, >= 1; masks are frozen after it.
    seed : int or None
        Seeds the random initial masks and SET's growth.
    include, exclude : list of str, optional
        Glob patterns choosing the layers (:func:`wavesparse.pruning.select_layers`);
        the others stay dense and outside the budget.

    Attributes
    ----------
    masks : dict of str to ndarray of bool
        The current masks (True = active).
    densities : dict of str to float
        Each layer's kept fraction, set by :meth:`init_masks`.

    Examples
    --------
    >>> from wavesparse import DynamicSparsePruner
    >>> dsp = DynamicSparsePruner(0.9, drop_fraction=0.3, update_every=100, end_step=600)
    >>> [round(dsp.drop_fraction_at(s), 3) for s in (0, 300, 600, 700)]
    [0.3, 0.15, 0.0, 0.0]
    >>> [s for s in range(0, 800, 100) if dsp.should_update(s)]
    [100, 200, 300, 400, 500, 600]
    """

    def __init__(self, sparsity=0.9, method="rigl", distribution="erk", drop_fraction=0.3,
                 decay="cosine", update_every=100, end_step=1000, seed=0,
                 include=None, exclude=None):
        self.sparsity = check.fraction(sparsity, "sparsity")
        self.method = _choice(method, "method", METHODS)
        self.distribution = _distribution(distribution)
        self.drop_fraction = check.real_scalar(drop_fraction, "drop_fraction")
        if not 0.0 <= self.drop_fraction <= 1.0:
            raise ValueError("drop_fraction must be in [0, 1], got %r" % self.drop_fraction)
        self.decay = _choice(decay, "decay", DECAYS)
        self.update_every = check.index(update_every, "update_every")
        if self.update_every < 1:
            raise ValueError("update_every must be >= 1, got %d" % self.update_every)
        self.end_step = check.index(end_step, "end_step")
        if self.end_step < 1:
            raise ValueError("end_step must be >= 1, got %d" % self.end_step)
        if seed is not None:
            seed = check.index(seed, "seed")
        self.seed = seed
        self.include = glob_patterns(include, "include")
        self.exclude = glob_patterns(exclude, "exclude")
        self.masks = {}
        self.densities = {}
        self._rng = np.random.default_rng(seed)
        self._grown = {}

    def _arrays(self, weights, what, names=None):
        if not isinstance(weights, dict):
            raise TypeError("%s must be a dict of name -> array, got %s"
                            % (what, type(weights).__name__))
        if names is None:
            names = select_layers(weights, self.include, self.exclude)
        out = {}
        for n in names:
            if n not in weights:
                raise ValueError("%s has no tensor %r (the masks' layers: %s)"
                                 % (what, n, ", ".join(self.masks)))
            a = check.float_array(weights[n], "%s[%r]" % (what, n))
            refuse_nan([a], "%s[%r]" % (what, n))
            if n in self.masks and a.shape != self.masks[n].shape:
                raise ValueError("%s[%r] has shape %s, the mask %s"
                                 % (what, n, a.shape, self.masks[n].shape))
            out[n] = a
        return out

    def _counts(self, arrays):
        sizes = {n: a.size for n, a in arrays.items()}
        if isinstance(self.distribution, dict):
            missing = [n for n in arrays if n not in self.distribution]
            extra = [n for n in self.distribution if n not in arrays]
            if missing or extra:
                raise ValueError("distribution must give a density for exactly the chosen "
                                 "layers; missing %s, not chosen %s" % (missing, extra))
            return {n: int(round(self.distribution[n] * sizes[n])) for n in arrays}
        if any(s == 0 for s in sizes.values()):
            raise ValueError("weights holds an empty tensor: %s"
                             % [n for n, s in sizes.items() if s == 0])
        return erk.kept_counts({n: a.shape for n, a in arrays.items()}, self.sparsity,
                               self.distribution)

    def init_masks(self, weights):
        """Random masks with each layer's exact count; they become :attr:`masks`.

        Parameters
        ----------
        weights : dict of str to ndarray
            The model's tensors (only the chosen ones' shapes are used).

        Returns
        -------
        dict of str to ndarray of bool
            A mask per chosen layer (True = active).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import DynamicSparsePruner
        >>> dsp = DynamicSparsePruner(0.5, distribution="uniform")
        >>> m = dsp.init_masks({"w": np.zeros((4, 4)), "b": np.zeros(4)})
        >>> list(m), int(m["w"].sum()), dsp.densities
        (['w'], 8, {'w': 0.5})
        """
        arrays = self._arrays(weights, "weights")
        counts = self._counts(arrays)
        self.masks = {}
        for n, a in arrays.items():
            mask = np.zeros(a.size, bool)
            mask[self._rng.choice(a.size, counts[n], replace=False)] = True
            self.masks[n] = mask.reshape(a.shape)
        self.densities = {n: counts[n] / a.size for n, a in arrays.items()}
        self._grown = {}
        return {n: m.copy() for n, m in self.masks.items()}

    def drop_fraction_at(self, step):
        """The fraction of active weights an update at ``step`` replaces.

        Examples
        --------
        >>> from wavesparse import DynamicSparsePruner
        >>> DynamicSparsePruner(decay="constant", end_step=10).drop_fraction_at(5)
        0.3
        """
        step = check.index(step, "step")
        if step < 0:
            raise ValueError("step must be >= 0, got %d" % step)
        if step > self.end_step:
            return 0.0
        if self.decay == "constant":
            return self.drop_fraction
        return self.drop_fraction / 2.0 * (1.0 + math.cos(math.pi * step / self.end_step))

    def should_update(self, step):
        """Whether ``step`` is an update step: a positive multiple of
        ``update_every`` up to ``end_step``.

        Examples
        --------
        >>> from wavesparse import DynamicSparsePruner
        >>> dsp = DynamicSparsePruner(update_every=20, end_step=50)
        >>> [s for s in range(80) if dsp.should_update(s)]
        [20, 40]
        """
        step = check.index(step, "step")
        if step < 0:
            raise ValueError("step must be >= 0, got %d" % step)
        return 0 < step <= self.end_step and step % self.update_every == 0

    def update(self, step, weights, grads=None):
        """Drop and grow in every layer; the counts stay as they are.

        Per layer, ``k = floor(drop_fraction_at(step) * n_active)`` active
        weights of smallest ``|w|`` are dropped, then ``k`` weights inactive
        after the drop are grown: largest ``|grad|`` (RigL) or at random
        (SET).  Ties go by position (lower flat index first), as everywhere
        in wavesparse.  A weight dropped and grown again in one update stays
        as it was.  After ``end_step`` nothing changes.

        Parameters
        ----------
        step : int
        weights : dict of str to ndarray
            The current weights of (at least) the masked layers.
        grads : dict of str to ndarray, optional
            Dense gradients of the masked layers; needed by RigL, unused by SET.

        Returns
        -------
        masks : dict of str to ndarray of bool
        changed : dict of str to ndarray of bool
            Per layer, the weights grown that were inactive before: they must
            start at zero (:meth:`apply` zeroes them) and their optimizer
            state should be reset.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import DynamicSparsePruner
        >>> dsp = DynamicSparsePruner(0.5, distribution={"w": 0.5}, drop_fraction=0.5,
        ...                           decay="constant", end_step=10)
        >>> dsp.masks = {"w": np.array([[True, True], [False, False]])}
        >>> w = {"w": np.array([[1.0, 5.0], [0.0, 0.0]])}
        >>> g = {"w": np.array([[0.0, 0.0], [2.0, 3.0]])}
        >>> masks, changed = dsp.update(1, w, g)
        >>> masks["w"].tolist(), changed["w"].tolist()
        ([[False, True], [False, True]], [[False, False], [False, True]])
        """
        if not self.masks:
            raise ValueError("update needs masks: call init_masks first")
        fraction = self.drop_fraction_at(step)
        arrays = self._arrays(weights, "weights", list(self.masks))
        if self.method == "rigl":
            if grads is None:
                raise ValueError("grads is required by method='rigl'")
            grads = self._arrays(grads, "grads", list(self.masks))
        changed = {}
        for n, old in self.masks.items():
            k = int(math.floor(fraction * int(old.sum())))
            if k == 0:
                changed[n] = np.zeros(old.shape, bool)
                continue
            inactive = old.size - int(old.sum())
            after_drop = smallest_masks([np.abs(arrays[n])], inactive + k, [old])[0]
            candidates = ~after_drop
            if self.method == "rigl":
                chosen = candidates & ~smallest_masks(
                    [_descending(grads[n])], old.size - int(candidates.sum()) + k,
                    [candidates])[0]
            else:
                chosen = np.zeros(old.size, bool)
                chosen[self._rng.choice(np.flatnonzero(candidates.ravel()), k,
                                        replace=False)] = True
                chosen = chosen.reshape(old.shape)
            new = after_drop | chosen
            changed[n] = new & ~old
            self.masks[n] = new
        self._grown = {n: c for n, c in changed.items() if c.any()}
        return {n: m.copy() for n, m in self.masks.items()}, changed

    def rng_state(self):
        """The state of the random generator (initial masks, SET's growth),
        to save with a training checkpoint.

        Examples
        --------
        >>> from wavesparse import DynamicSparsePruner
        >>> a, b = DynamicSparsePruner(seed=1), DynamicSparsePruner(seed=2)
        >>> b.set_rng_state(a.rng_state())
        >>> bool(a._rng.random() == b._rng.random())
        True
        """
        return self._rng.bit_generator.state

    def set_rng_state(self, state):
        """Restore :meth:`rng_state`; a mask update pending zeroing is
        forgotten."""
        if not isinstance(state, dict):
            raise TypeError("state must be the dict rng_state() gave, got %s"
                            % type(state).__name__)
        self._rng.bit_generator.state = state
        self._grown = {}

    def apply(self, weights):
        """``weights`` with the inactive weights zeroed, and the weights grown
        by the last :meth:`update` zeroed by the first call after it.

        Returns a new dict: the masked layers as new arrays, the others as
        they were.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import DynamicSparsePruner
        >>> dsp = DynamicSparsePruner(0.5, distribution="uniform", seed=1)
        >>> w = {"w": np.arange(1.0, 7.0).reshape(2, 3)}
        >>> _ = dsp.init_masks(w)
        >>> int(np.count_nonzero(dsp.apply(w)["w"]))
        3
        """
        if not self.masks:
            raise ValueError("apply needs masks: call init_masks first")
        out = dict(weights)
        for n, a in self._arrays(weights, "weights", list(self.masks)).items():
            keep = self.masks[n]
            if n in self._grown:
                keep = keep & ~self._grown[n]
            out[n] = np.where(keep, a, a.dtype.type(0))
        self._grown = {}
        return out
