"""Sparse training of a torch model with :class:`wavesparse.DynamicSparsePruner`.

:class:`SparseTraining` owns the masks of a model's Linear and convolution
weights.  Its :meth:`~SparseTraining.step` takes the place of
``optimizer.step()``: it zeroes the gradients of inactive weights (so the
optimizer's state of an inactive weight stays zero), steps the optimizer,
zeroes the inactive weights again (weight decay and momentum cannot revive
them), and every ``update_every`` steps lets the pruner drop and grow
weights, from the dense gradients of that step (RigL) or at random (SET).
A grown weight starts at zero with its optimizer state (Adam's moments,
SGD's momentum: every state tensor shaped like the weight) reset, and a
dropped weight's state is reset too, so an inactive weight's state is always
exactly zero.
"""

import numpy as np
import torch

from wavesparse import _validate as check
from wavesparse.pruning import DynamicSparsePruner
from wavesparse.pruning.choice import select_layers
from wavesparse.torch.modules import masked_weights, shape_stand_ins, to_numpy

__all__ = ["SparseTraining"]


class SparseTraining:
    """Train a torch model sparse from the first step: RigL or SET.

    Parameters
    ----------
    model : torch.nn.Module
        Its Linear and convolution weights chosen by ``pruner``'s
        include/exclude globs (state-dict names) are masked; every other
        parameter trains dense.
    pruner : wavesparse.DynamicSparsePruner
        Sparsity, distribution (ERK, uniform), method, drop fraction and
        schedule.  Its masks are drawn here (``pruner.init_masks``).
    optimizer : torch.optim.Optimizer
        Must hold every masked weight.

    Attributes
    ----------
    masks : dict of str to torch.Tensor of bool
        The current masks, on each weight's device (True = active).
    step_count : int
        Steps taken.
    history : list of dict
        One entry per mask update: ``step``, and per layer the number of
        weights grown.

    Examples
    --------
    >>> import torch
    >>> from wavesparse import DynamicSparsePruner
    >>> from wavesparse.torch import SparseTraining
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    >>> opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    >>> dsp = DynamicSparsePruner(0.75, method="rigl", update_every=5, end_step=20)
    >>> sparse = SparseTraining(net, dsp, opt)
    >>> x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
    >>> for _ in range(10):
    ...     opt.zero_grad()
    ...     torch.nn.functional.cross_entropy(net(x), y).backward()
    ...     sparse.step()
    >>> sparse.density()
    {'0.weight': 0.1796875, '2.weight': 0.53125}
    >>> int(sparse.masks["0.weight"].sum()), [h["step"] for h in sparse.history]
    (23, [5, 10])
    """

    def __init__(self, model, pruner, optimizer):
        if not isinstance(pruner, DynamicSparsePruner):
            raise TypeError("pruner must be a wavesparse.DynamicSparsePruner, got %s"
                            % type(pruner).__name__)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError("optimizer must be a torch.optim.Optimizer, got %s"
                            % type(optimizer).__name__)
        candidates = masked_weights(model)
        names = select_layers(shape_stand_ins(candidates), pruner.include, pruner.exclude)
        if not names:
            raise ValueError("model has no Linear or convolution weight chosen by the "
                             "pruner's include=%r, exclude=%r" % (pruner.include, pruner.exclude))
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        missing = [n for n in names if id(candidates[n]) not in held]
        if missing:
            raise ValueError("optimizer does not hold the masked weights %s"
                             % ", ".join(missing))
        self.model, self.pruner, self.optimizer = model, pruner, optimizer
        self.params = {n: candidates[n] for n in names}
        # The pruner applies its globs again: it is given every candidate.
        self.masks = self._to_torch(pruner.init_masks(
            {n: to_numpy(p) for n, p in candidates.items()}))
        self.step_count = 0
        self.history = []
        self._apply_masks()

    def _weights(self):
        return {n: to_numpy(p) for n, p in self.params.items()}

    def _to_torch(self, masks):
        return {n: torch.from_numpy(np.ascontiguousarray(m)).to(self.params[n].device)
                for n, m in masks.items()}

    @torch.no_grad()
    def _apply_masks(self):
        for n, p in self.params.items():
            p.masked_fill_(~self.masks[n], 0)

    def _dense_grads(self):
        grads = {}
        for n, p in self.params.items():
            if p.grad is None:
                raise ValueError("%s has no gradient at a RigL update step: call "
                                 "loss.backward() before step()" % n)
            grads[n] = to_numpy(p.grad)
        return grads

    @torch.no_grad()
    def _mask_grads(self):
        for n, p in self.params.items():
            if p.grad is not None:
                p.grad.masked_fill_(~self.masks[n], 0)

    @torch.no_grad()
    def _reset_state(self, moved):
        """Zero each state tensor shaped like a weight where ``moved[name]``."""
        for n, where in moved.items():
            p = self.params[n]
            for value in self.optimizer.state.get(p, {}).values():
                if torch.is_tensor(value) and value.shape == p.shape:
                    value.masked_fill_(where, 0)

    def step(self, closure=None):
        """One optimizer step with the masks held, and a mask update on the
        pruner's update steps.

        Call it where ``optimizer.step()`` would be, after
        ``loss.backward()``.

        Parameters
        ----------
        closure : callable, optional
            Passed to ``optimizer.step`` (L-BFGS): the gradients it makes are
            masked after each evaluation, and RigL's update reads those of
            the first (no ``loss.backward()`` is needed before ``step``).

        Returns
        -------
        The optimizer step's return value (the closure's loss, if any).

        Examples
        --------
        >>> import torch
        >>> from wavesparse import DynamicSparsePruner
        >>> from wavesparse.torch import SparseTraining
        >>> net = torch.nn.Linear(10, 10)
        >>> opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        >>> sparse = SparseTraining(net, DynamicSparsePruner(0.9, method="set"), opt)
        >>> net(torch.ones(1, 10)).sum().backward()
        >>> _ = sparse.step()
        >>> int((net.weight != 0).sum())
        10
        """
        self.step_count += 1
        update = self.pruner.should_update(self.step_count)
        rigl = update and self.pruner.method == "rigl"
        grads = {}
        if closure is None:
            grads.update(self._dense_grads() if rigl else {})
            self._mask_grads()
            loss = self.optimizer.step()
        else:
            def masked_closure():
                # The optimizer makes the gradients here: masked as they come,
                # RigL's dense ones kept from the first evaluation.
                with torch.enable_grad():
                    value = closure()
                if rigl and not grads:
                    grads.update(self._dense_grads())
                self._mask_grads()
                return value
            loss = self.optimizer.step(masked_closure)
        self._apply_masks()
        if update:
            masks, changed = self.pruner.update(self.step_count, self._weights(),
                                                grads if rigl else None)
            old, self.masks = self.masks, self._to_torch(masks)
            # Grown weights start afresh; dropped ones lose their state, so an
            # inactive weight's state is exactly zero, always.
            moved = {n: self.masks[n] ^ old[n] for n in self.masks}
            self._reset_state({n: w for n, w in moved.items() if bool(w.any())})
            self._apply_masks()
            self.history.append({"step": self.step_count,
                                 "grown": {n: int(c.sum()) for n, c in changed.items()}})
        return loss

    def density(self):
        """Each masked weight's kept fraction, counted from the masks.

        Examples
        --------
        >>> import torch
        >>> from wavesparse import DynamicSparsePruner
        >>> from wavesparse.torch import SparseTraining
        >>> net = torch.nn.Linear(10, 10)
        >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
        >>> SparseTraining(net, DynamicSparsePruner(0.5, distribution="uniform"), opt).density()
        {'weight': 0.5}
        """
        return {n: int(m.sum()) / m.numel() for n, m in self.masks.items()}

    def state_dict(self):
        """What resuming needs besides the model and optimizer: the step
        count, the masks and the pruner's random state.

        Examples
        --------
        >>> import torch
        >>> from wavesparse import DynamicSparsePruner
        >>> from wavesparse.torch import SparseTraining
        >>> net = torch.nn.Linear(4, 4)
        >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
        >>> sorted(SparseTraining(net, DynamicSparsePruner(0.5), opt).state_dict())
        ['masks', 'rng', 'step_count']
        """
        return {"step_count": self.step_count,
                "masks": {n: m.clone() for n, m in self.masks.items()},
                "rng": self.pruner.rng_state()}

    def load_state_dict(self, state):
        """Resume from :meth:`state_dict`: masks, step count and random state.

        Examples
        --------
        >>> import torch
        >>> from wavesparse import DynamicSparsePruner
        >>> from wavesparse.torch import SparseTraining
        >>> net = torch.nn.Linear(4, 4)
        >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
        >>> a = SparseTraining(net, DynamicSparsePruner(0.5, seed=1), opt)
        >>> b = SparseTraining(net, DynamicSparsePruner(0.5, seed=2), opt)
        >>> b.load_state_dict(a.state_dict())
        >>> bool((a.masks["weight"] == b.masks["weight"]).all())
        True
        """
        if not isinstance(state, dict):
            raise TypeError("state must be the dict state_dict() gave, got %s"
                            % type(state).__name__)
        missing = [k for k in ("step_count", "masks", "rng") if k not in state]
        if missing:
            raise ValueError("state lacks %s: it must be the dict state_dict() gave (keys "
                             "step_count, masks, rng)" % ", ".join(missing))
        step_count = check.index(state["step_count"], "state['step_count']")
        if step_count < 0:
            raise ValueError("state['step_count'] must be >= 0, got %d" % step_count)
        masks = state["masks"]
        if not isinstance(masks, dict) or not all(torch.is_tensor(m) for m in masks.values()):
            raise TypeError("state['masks'] must be a dict of name -> torch.Tensor, got %s"
                            % (type(masks).__name__ if not isinstance(masks, dict) else
                               ", ".join(sorted({type(m).__name__ for m in masks.values()}))))
        if set(masks) != set(self.params):
            raise ValueError("state holds masks for %s, the model's masked weights are %s"
                             % (sorted(masks), sorted(self.params)))
        for n, m in masks.items():
            if tuple(m.shape) != tuple(self.params[n].shape):
                raise ValueError("state's mask %r has shape %s, the weight %s"
                                 % (n, tuple(m.shape), tuple(self.params[n].shape)))
        self.pruner.set_rng_state(state["rng"])
        self.masks = {n: m.to(device=self.params[n].device, dtype=torch.bool).clone()
                      for n, m in masks.items()}
        self.pruner.masks = {n: m.cpu().numpy().copy() for n, m in self.masks.items()}
        self.step_count = step_count
        self._apply_masks()
