"""The pruner protocol, and the base class that implements its shared half.

Every pruner answers two calls:

- ``prune_layer(w, mask=None, sparsity=None) -> (pruned, mask)``
- ``prune_model(weights, masks=None, sparsity=None) -> (pruned, masks)``

``mask``/``masks`` are earlier masks (True = kept): what they pruned stays
pruned, so masks only grow across calls (what :class:`GradualPruner` relies
on).  ``sparsity`` overrides the pruner's own for one call; for
``prune_model`` it may be a mapping ``{tensor name: sparsity}`` (a per-layer
budget plan).  ``prune_model`` prunes the tensors the include/exclude rule of
:mod:`wavesparse.pruning.choice` chooses and passes the others through;
``history`` gets one record per call.

Tensors of other libraries are taken as they come: a torch tensor (or
``nn.Parameter``, detached), any DLPack or ``__array__`` object is read
without a copy where it lies in host memory, and the pruned tensors and
masks come back as the caller's kind (torch in, torch out); the tensors
:meth:`Pruner.prune_model` leaves alone are the caller's own objects.

A pruner is three parts a reader can see in its class: an importance score
(:mod:`wavesparse.pruning.importance`), a grouping (one layer, the whole model,
each row, N:M groups, blocks, channels) and the one exact selector with the
position tie rule (:mod:`wavesparse.pruning.selection`).  A subclass of
:class:`Pruner` writes :meth:`Pruner.layer_mask` (or, for groupings across
layers, :meth:`Pruner.compute_masks`), may rewrite :meth:`Pruner.apply`
(SparseGPT updates the weights it keeps), and declares its command-line
options in :meth:`Pruner.add_arguments` / :meth:`Pruner.from_arguments`;
``@register`` (:mod:`wavesparse.pruning.registry`) makes it a ``--method``.
"""

import numpy as np

from wavesparse import _validate as check
from wavesparse._interop import as_numpy
from wavesparse.halfs import is_half
from wavesparse.pruning.choice import glob_patterns, select_layers

__all__ = ["Pruner", "check_mask"]


def check_mask(mask, shape, name):
    """``mask`` as a bool ndarray of ``shape``; TypeError/ValueError naming ``name``."""
    try:
        mask = np.asarray(mask)
    except (TypeError, ValueError) as exc:
        raise TypeError("%s must be a bool array: %s" % (name, exc)) from None
    if mask.dtype != np.bool_:
        raise TypeError("%s must be a bool array, got dtype %s" % (name, mask.dtype))
    if mask.shape != tuple(shape):
        raise ValueError("%s must have shape %s, got %s" % (name, tuple(shape), mask.shape))
    return mask


class Pruner:
    """Base class of every pruner: the protocol's shared half.

    Parameters
    ----------
    sparsity : float
        Fraction in [0, 1): of weights, of blocks or of units, as the pruner
        says.
    include, exclude : list of str, optional
        Glob patterns choosing the tensors :meth:`prune_model` prunes; by
        default every floating tensor of rank >= 2.
    backend : {"auto", "cpu", "opencl"}
        Where the selection runs, for pruners whose selection has a kernel.

    Attributes
    ----------
    history : list of dict
        One record per call: method, scope, target and achieved sparsity,
        counts, the largest pruned magnitude (``threshold``), and per layer
        for :meth:`prune_model`.
    progress : callable or None
        Called as ``progress(done, total, name)`` while :meth:`prune_model`
        works through layers (the command line draws a bar with it).

    Examples
    --------
    A new pruner is a score and a grouping; here, the smallest |w| of each row:

    >>> import numpy as np
    >>> from wavesparse.pruning import Pruner
    >>> from wavesparse.pruning.selection import smallest_in_groups
    >>> class RowMagnitude(Pruner):
    ...     def layer_mask(self, name, w, prior, target):
    ...         return smallest_in_groups(np.abs(w), round(target * w.shape[-1]), prior=prior)
    >>> RowMagnitude(0.5).prune_layer(np.array([[1.0, 2.0], [4.0, 3.0]]))[0]
    array([[0., 2.],
           [4., 0.]])
    """

    #: The ``--method`` name this pruner is registered under.
    name = None
    #: One line for the command line's help.
    summary = ""
    #: What one threshold covers: "local" (each tensor) or "global".
    scope = "local"
    #: Whether prune_arrays takes float16/bfloat16 as they are; if not, they
    #: are read as float32 and the results cast back (exact when the pruner
    #: only zeroes weights).
    halves = False

    def __init__(self, sparsity, include=None, exclude=None, backend="auto"):
        self.sparsity = check.fraction(sparsity, "sparsity")
        self.include = glob_patterns(include, "include")
        self.exclude = glob_patterns(exclude, "exclude")
        self.backend = check.backend_name(backend)
        self.history = []
        self.progress = None

    # ------------------------------------------------ what a pruner defines

    def layer_mask(self, name, w, prior, target):
        """The keep-mask of one tensor at sparsity ``target``.

        ``w`` is a validated float array, ``prior`` None or a bool mask of
        its shape whose pruned entries must stay pruned, ``name`` the tensor's
        name in the model (None for :meth:`prune_layer` without one).
        """
        raise NotImplementedError("%s must define layer_mask or compute_masks"
                                  % type(self).__name__)

    def compute_masks(self, arrays, priors, targets):
        """``{name: mask}`` for the chosen tensors; per layer by default."""
        masks = {}
        for i, (name, w) in enumerate(arrays.items()):
            if self.progress is not None:
                self.progress(i, len(arrays), name)
            masks[name] = self.layer_mask(name, w, priors[name], targets[name])
        return masks

    def check_tensor(self, name, shape):
        """Refuse, before any pruning, a tensor this pruner cannot prune
        (ValueError naming it): a streaming caller checks every tensor
        first.  Nothing by default; the calibration pruners check their
        statistics."""

    def apply(self, name, w, mask):
        """The pruned tensor for a mask: ``w`` zeroed where the mask is False."""
        return np.where(mask, w, w.dtype.type(0))

    def prune_arrays(self, arrays, priors, targets):
        """``{name: (pruned, mask)}`` for validated arrays, priors and targets."""
        masks = self.compute_masks(arrays, priors, targets)
        return {n: (self.apply(n, w, masks[n]), masks[n]) for n, w in arrays.items()}

    # ------------------------------------------------ the command line

    @classmethod
    def add_arguments(cls, group):
        """Add this pruner's own options to an argparse argument group."""

    @classmethod
    def from_arguments(cls, args):
        """The pruner the parsed command line asks for."""
        return cls(args.sparsity, include=args.include, exclude=args.exclude)

    # ------------------------------------------------ the protocol

    def prune_layer(self, w, mask=None, sparsity=None, *, name=None):
        """Prune one array.

        Parameters
        ----------
        w : array_like
            float32 or float64 weights: a numpy array, or a torch tensor or
            other DLPack/``__array__`` object (results come back as its kind).
        mask : array_like of bool, optional
            An earlier mask (True = kept): what it pruned stays pruned.
        sparsity : float, optional
            Overrides the pruner's sparsity for this call.
        name : str, optional
            The tensor's name, for pruners whose scores are kept by name
            (calibration statistics).

        Returns
        -------
        pruned : ndarray
            Same shape and dtype as ``w``.
        mask : ndarray of bool
            True where a weight was kept.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import MagnitudePruner
        >>> MagnitudePruner(0.25).prune_layer(np.float32([3, 1, 2, 4]))[1]
        array([ True, False,  True,  True])
        """
        w, back = as_numpy(w, "w")
        w = check.float_array(w, "w", half=True)
        target = self.sparsity if sparsity is None else check.fraction(sparsity, "sparsity")
        prior = None if mask is None else check_mask(as_numpy(mask, "mask")[0], w.shape, "mask")
        result = self._prune_any({name: w}, {name: prior}, {name: target})
        pruned, kept = result[name]
        self.history.append(self._record("layer", {name: target},
                                         {name: (w, pruned, kept)}))
        return back(pruned), back(kept)

    def prune_model(self, weights, masks=None, sparsity=None):
        """Prune the chosen tensors of a model.

        Parameters
        ----------
        weights : dict of str to array_like
            The model's tensors; float32 and float64 may be mixed.
        masks : dict of str to ndarray of bool, optional
            Earlier masks by name; what they pruned stays pruned.
        sparsity : float or dict of str to float, optional
            Overrides the pruner's sparsity for this call: one value, or one
            per tensor (a budget plan; chosen tensors it does not name get the
            pruner's sparsity, a name that is not a chosen tensor is an error).

        Returns
        -------
        pruned : dict
            Every tensor of ``weights``: the chosen ones pruned, the others
            as they were.
        masks : dict
            A bool mask (True = kept) for each pruned tensor.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import MagnitudePruner
        >>> model = {"a": np.float32([[1, 2], [3, 4]]), "b": np.float32([[10, 20]]),
        ...          "bias": np.float32([0.1, 0.2])}
        >>> pruned, masks = MagnitudePruner(0.5, scope="global").prune_model(model)
        >>> sorted(masks), int(masks["a"].sum()), int(masks["b"].sum())
        (['a', 'b'], 1, 2)
        """
        if not isinstance(weights, dict):
            raise TypeError("weights must be a dict of name -> array, got %s"
                            % type(weights).__name__)
        if masks is not None and not isinstance(masks, dict):
            raise TypeError("masks must be a dict of name -> bool array, got %s"
                            % type(masks).__name__)
        read = {n: as_numpy(v, "weights[%r]" % n) for n, v in weights.items()}
        names = select_layers({n: a for n, (a, _) in read.items()}, self.include, self.exclude)
        arrays = {n: check.float_array(read[n][0], "weights[%r]" % n, half=True)
                  for n in names}
        targets = self.targets(names, sparsity)
        masks = masks or {}
        priors = {n: (check_mask(as_numpy(masks[n], "masks[%r]" % n)[0], arrays[n].shape,
                                 "masks[%r]" % n)
                      if n in masks else None) for n in names}
        result = self._prune_any(arrays, priors, targets)
        out, out_masks, details = dict(weights), {}, {}
        for n in names:
            pruned, kept = result[n]
            back = read[n][1]
            out[n], out_masks[n] = back(pruned), back(kept)
            details[n] = (arrays[n], pruned, kept)
        if self.progress is not None:
            self.progress(len(names), len(names), "done")
        self.history.append(self._record("model", targets, details))
        return out, out_masks

    def _prune_any(self, arrays, priors, targets):
        """:meth:`prune_arrays`, reading 16-bit arrays as float32 for a
        pruner without ``halves`` and casting its results back."""
        wide = {n: a for n, a in arrays.items() if is_half(a.dtype)}
        if self.halves or not wide:
            return self.prune_arrays(arrays, priors, targets)
        result = self.prune_arrays(
            {n: a.astype(np.float32) if n in wide else a for n, a in arrays.items()},
            priors, targets)
        return {n: (pruned.astype(arrays[n].dtype), kept) if n in wide else (pruned, kept)
                for n, (pruned, kept) in result.items()}

    def targets(self, names, sparsity):
        """``{name: sparsity}`` for the chosen names from a float or a mapping."""
        if sparsity is None:
            return {n: self.sparsity for n in names}
        if isinstance(sparsity, dict):
            unknown = sorted(set(sparsity) - set(names))
            if unknown:
                raise ValueError("sparsity names %s, which %s not among the tensors "
                                 "chosen for pruning" % (", ".join(map(repr, unknown[:8])),
                                                         "is" if len(unknown) == 1 else "are"))
            return {n: check.fraction(sparsity[n], "sparsity[%r]" % n) if n in sparsity
                    else self.sparsity for n in names}
        value = check.fraction(sparsity, "sparsity")
        return {n: value for n in names}

    # ------------------------------------------------ reports

    @staticmethod
    def measure_sparsity(w):
        """The fraction of elements of ``w`` that are zero.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import MagnitudePruner
        >>> MagnitudePruner.measure_sparsity(np.array([0.0, 1.0, 0.0, 2.0]))
        0.5
        """
        w = np.asarray(w)
        return float(w.size - np.count_nonzero(w)) / w.size if w.size else 0.0

    @staticmethod
    def get_compression_stats(masks, dtype=np.float32):
        """Parameter counts and CSR storage the masks imply.

        Parameters
        ----------
        masks : dict of str to ndarray of bool
            True = kept.
        dtype : dtype
            The weights' dtype, for bytes (indices are int32).

        Returns
        -------
        dict
            ``total_params``, ``remaining_params``, ``pruned_params``,
            ``sparsity``, ``compression_ratio`` (total / remaining),
            ``dense_bytes``, ``csr_bytes``, ``memory_reduction`` (1 - CSR
            bytes / dense bytes, rows = first axis), and ``per_layer`` with
            the same figures for each mask.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse import MagnitudePruner
        >>> s = MagnitudePruner.get_compression_stats({"w": np.eye(4, dtype=bool)})
        >>> s["compression_ratio"], s["csr_bytes"], s["dense_bytes"]
        (4.0, 52, 64)
        """
        item = np.dtype(dtype).itemsize
        per_layer = {}
        for name, mask in masks.items():
            mask = np.asarray(mask, dtype=bool)
            rows = mask.shape[0] if mask.ndim else 1
            kept = int(np.count_nonzero(mask))
            per_layer[name] = _ratios(mask.size, kept, mask.size * item,
                                      kept * (item + 4) + (rows + 1) * 4)
        total = sum(v["total_params"] for v in per_layer.values())
        kept = sum(v["remaining_params"] for v in per_layer.values())
        dense = sum(v["dense_bytes"] for v in per_layer.values())
        csr = sum(v["csr_bytes"] for v in per_layer.values())
        stats = _ratios(total, kept, dense, csr)
        stats["per_layer"] = per_layer
        return stats

    def _record(self, call, targets, details):
        layers = {}
        for name, (w, pruned, kept) in details.items():
            zeros = int(pruned.size - np.count_nonzero(pruned))
            layers[name] = {"shape": tuple(w.shape), "total": int(w.size),
                            "zeros": zeros, "target_sparsity": targets[name],
                            "pruned": int(kept.size - np.count_nonzero(kept)),
                            "achieved_sparsity": zeros / w.size if w.size else 0.0,
                            "threshold": _largest_pruned(w, kept)}
        total = sum(v["total"] for v in layers.values())
        zeros = sum(v["zeros"] for v in layers.values())
        values = set(targets.values())
        record = {"call": call, "method": self.name,
                  "scope": self.scope if call == "model" else "local",
                  "target_sparsity": values.pop() if len(values) == 1 else dict(targets),
                  "pruned": sum(v["pruned"] for v in layers.values()), "total": total,
                  "zeros": zeros,
                  "achieved_sparsity": zeros / total if total else 0.0,
                  "threshold": max((v["threshold"] for v in layers.values()),
                                   default=0.0)}
        if call == "model":
            record["layers"] = layers
        return record


def _largest_pruned(w, kept, block=1 << 20):
    """The largest magnitude the mask pruned (0.0 when it pruned nothing),
    found block by block so that no full-size temporary is made."""
    flat_w, flat_kept = np.asarray(w).reshape(-1), np.asarray(kept).reshape(-1)
    largest = 0.0
    for start in range(0, flat_w.size, block):
        magnitudes = np.abs(flat_w[start:start + block])[~flat_kept[start:start + block]]
        if magnitudes.size:
            largest = max(largest, float(magnitudes.max()))
    return largest


def _ratios(total, kept, dense, csr):
    return {"total_params": total, "remaining_params": kept,
            "pruned_params": total - kept,
            "sparsity": (total - kept) / total if total else 0.0,
            "compression_ratio": total / kept if kept else float("inf"),
            "dense_bytes": dense, "csr_bytes": csr,
            "memory_reduction": 1.0 - csr / dense if dense else 0.0}
