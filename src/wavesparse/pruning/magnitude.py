"""Magnitude pruning (Han et al. 2015), per layer or over a whole model."""

from wavesparse.pruning.base import Pruner
from wavesparse.pruning.registry import register
from wavesparse.pruning.selection import prune_smallest

__all__ = ["MagnitudePruner"]


@register
class MagnitudePruner(Pruner):
    """Zero the weights of smallest magnitude.

    Exactly ``k = round(sparsity * n)`` weights are zeroed: per layer with
    ``scope="local"``, over all chosen layers together with
    ``scope="global"`` (one threshold for the model, found without
    concatenating the layers).  Ties at the threshold are broken by position,
    lower flat index first, so on data without ties the mask is the one
    ``torch.nn.utils.prune.l1_unstructured`` / ``global_unstructured`` give.
    ``sparsity`` is the absolute fraction of zeros wanted: weights that are
    already zero count toward it, and a second call at a higher sparsity
    keeps every earlier zero.

    Parameters
    ----------
    sparsity : float
        Fraction in [0, 1).  float16 and bfloat16 weights are pruned as they
        are (one histogram pass over their 16-bit keys) and stay 16-bit.
    scope : {"local", "global"}
    include, exclude : list of str, optional
        Glob patterns choosing the layers :meth:`prune_model` prunes; by
        default every tensor of rank >= 2 (biases and norms stay dense).
    backend : {"auto", "cpu", "opencl"}
        Where the threshold selection and the masks run (see
        :mod:`wavesparse.ops`); the result is the same.
    plan : Plan or dict of str to float, optional
        A per-layer budget (:class:`wavesparse.sensitivity.Plan`, or its
        ``layers`` mapping): :meth:`prune_model` without its own
        ``sparsity`` prunes each tensor to the plan's sparsity.  ``sparsity``
        may then be left out (it becomes the plan's target).

    Attributes
    ----------
    history : list of dict
        One record per call: scope, threshold, target and achieved sparsity,
        element and zero counts (and per layer for :meth:`prune_model`).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import MagnitudePruner
    >>> pruner = MagnitudePruner(0.5)
    >>> pruned, mask = pruner.prune_layer(np.array([[0.1, -4.0], [2.0, -0.3]]))
    >>> pruned
    array([[ 0., -4.],
           [ 2.,  0.]])
    >>> pruner.history[-1]["achieved_sparsity"]
    0.5
    """

    name = "magnitude"
    halves = True
    summary = "smallest |w|, per tensor (--scope local) or over all chosen tensors (global)"

    def __init__(self, sparsity=None, scope="local", include=None, exclude=None,
                 backend="auto", plan=None):
        self.plan = _plan_layers(plan)
        if sparsity is None and plan is not None:
            sparsity = getattr(plan, "target", None)
        super().__init__(sparsity, include=include, exclude=exclude, backend=backend)
        if not isinstance(scope, str):
            raise TypeError("scope must be 'local' or 'global', got %r" % (scope,))
        if scope not in ("local", "global"):
            raise ValueError("scope must be 'local' or 'global', got %r" % (scope,))
        self.scope = scope
        if self.plan is not None and scope == "global":
            raise ValueError("a plan gives each tensor its own sparsity: use scope='local'")

    def targets(self, names, sparsity):
        """The plan's per-tensor sparsities when the call gives none."""
        if sparsity is None and self.plan is not None:
            sparsity = self.plan
        return super().targets(names, sparsity)

    def prune_arrays(self, arrays, priors, targets):
        """The selector straight on the weights: |w| is the score, and the
        threshold kernel gives pruned arrays and masks in one pass."""
        names = list(arrays)
        if self.scope == "global" and names:
            if len(set(targets.values())) > 1:
                raise ValueError("scope='global' prunes to one sparsity over the "
                                 "model; a per-tensor sparsity needs scope='local'")
            k = int(round(targets[names[0]] * sum(a.size for a in arrays.values())))
            results = prune_smallest([arrays[n] for n in names], k,
                                     [priors[n] for n in names], self.backend)
            return dict(zip(names, results))
        out = {}
        for i, n in enumerate(names):
            if self.progress is not None:
                self.progress(i, len(names), n)
            k = int(round(targets[n] * arrays[n].size))
            (out[n],) = prune_smallest([arrays[n]], k, [priors[n]], self.backend)
        return out

    @classmethod
    def add_arguments(cls, group):
        group.add_argument("--scope", choices=["local", "global"], default="local",
                           help="magnitude per tensor, or one threshold over all "
                                "chosen tensors")

    @classmethod
    def from_arguments(cls, args):
        return cls(args.sparsity, scope=args.scope, include=args.include,
                   exclude=args.exclude)


def _plan_layers(plan):
    """``{name: sparsity}`` of a Plan (anything with ``.layers``) or a mapping."""
    if plan is None:
        return None
    layers = getattr(plan, "layers", plan)
    if not isinstance(layers, dict):
        raise TypeError("plan must be a Plan or a dict of tensor name -> sparsity, got %s"
                        % type(plan).__name__)
    return dict(layers)
