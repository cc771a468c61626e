"""Magnitude pruning (Han et al. 2015), per layer or over a whole model."""

import fnmatch

import numpy as np

from wavesparse import _validate as check
from wavesparse.pruning._smallest import prune_smallest

__all__ = ["MagnitudePruner", "select_layers"]


def layer_choice(weights, include=None, exclude=None):
    """For each tensor name, ``None`` when it is to be pruned, else why not.

    With no ``include``, every floating tensor of rank 2 or more is chosen;
    rank-1 tensors (biases, norms) and non-float tensors are left as they
    are.  ``include`` and ``exclude`` are glob patterns (``fnmatch``) on the
    names.  A pattern that matches no name, and an included tensor that does
    not hold floats, are errors.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning import layer_choice
    >>> layer_choice({"w": np.ones((2, 2)), "b": np.ones(2), "ids": np.arange(4)})
    {'w': None, 'b': '1-D: kept dense', 'ids': 'not float: kept'}
    """
    names = list(weights)
    for kind, patterns in (("include", include), ("exclude", exclude)):
        for pattern in patterns or ():
            if not fnmatch.filter(names, pattern):
                raise ValueError("%s pattern %r matches no tensor name (names: %s)"
                                 % (kind, pattern, ", ".join(names[:8])
                                    + (", ..." if len(names) > 8 else "")))
    choice = {}
    for name in names:
        value = weights[name]
        floating = np.asarray(value).dtype.kind == "f"
        if include and not any(fnmatch.fnmatchcase(name, p) for p in include):
            choice[name] = "not included"
        elif any(fnmatch.fnmatchcase(name, p) for p in exclude or ()):
            choice[name] = "excluded"
        elif not floating and include:
            raise ValueError("tensor %r matches include but holds %s, not floats"
                             % (name, np.asarray(value).dtype))
        elif not floating:
            choice[name] = "not float: kept"
        elif not include and np.ndim(value) < 2:
            choice[name] = "1-D: kept dense"
        else:
            choice[name] = None
    return choice


def select_layers(weights, include=None, exclude=None):
    """The names of ``weights`` to prune, in the dict's order (see
    :func:`layer_choice` for the rule).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning import select_layers
    >>> w = {"fc1.weight": np.ones((2, 2)), "fc1.bias": np.ones(2)}
    >>> select_layers(w)
    ['fc1.weight']
    >>> select_layers(w, include=["*.bias"])
    ['fc1.bias']
    """
    return [n for n, why in layer_choice(weights, include, exclude).items() if why is None]


class MagnitudePruner:
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
        Fraction in [0, 1).
    scope : {"local", "global"}
    include, exclude : list of str, optional
        Glob patterns choosing the layers :meth:`prune_model` prunes; by
        default every tensor of rank >= 2 (biases and norms stay dense).
    backend : {"auto", "cpu", "opencl"}
        Where the threshold selection and the masks run (see
        :mod:`wavesparse.ops`); the result is the same.

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

    def __init__(self, sparsity, scope="local", include=None, exclude=None,
                 backend="auto"):
        self.sparsity = check.fraction(sparsity, "sparsity")
        self.backend = check.backend_name(backend)
        if scope not in ("local", "global"):
            raise ValueError("scope must be 'local' or 'global', got %r" % (scope,))
        self.scope = scope
        self.include = list(include) if include else None
        self.exclude = list(exclude) if exclude else None
        self.history = []

    def prune_layer(self, w, mask=None, sparsity=None):
        """Prune one array to the pruner's sparsity.

        Parameters
        ----------
        w : array_like
            float32 or float64 weights, any shape and memory order.
        mask : array_like of bool, optional
            An earlier mask (True = kept): what it pruned stays pruned.
        sparsity : float, optional
            Overrides the pruner's sparsity for this call.

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
        w = check.float_array(w, "w")
        target = self.sparsity if sparsity is None else check.fraction(sparsity, "sparsity")
        prior = None if mask is None else self._mask(mask, w.shape, "mask")
        k = int(round(target * w.size))
        ((pruned, kept),) = prune_smallest([w], k, [prior], self.backend)
        self.history.append(self._record(
            "layer", target, {None: (w, pruned, kept)}, k))
        return pruned, kept

    def prune_model(self, weights, masks=None, sparsity=None):
        """Prune the chosen layers of a model.

        Parameters
        ----------
        weights : dict of str to array_like
            The model's tensors; float32 and float64 may be mixed.
        masks : dict of str to ndarray of bool, optional
            Earlier masks by name; what they pruned stays pruned.
        sparsity : float, optional
            Overrides the pruner's sparsity for this call.

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
            raise ValueError("weights must be a dict of name -> array, got %s"
                             % type(weights).__name__)
        target = self.sparsity if sparsity is None else check.fraction(sparsity, "sparsity")
        names = select_layers(weights, self.include, self.exclude)
        arrays = {n: check.float_array(weights[n], "weights[%r]" % n) for n in names}
        masks = masks or {}
        priors = {n: (self._mask(masks[n], arrays[n].shape, "masks[%r]" % n)
                      if n in masks else None) for n in names}
        out, out_masks, details = dict(weights), {}, {}
        if self.scope == "global":
            k = int(round(target * sum(a.size for a in arrays.values())))
            results = prune_smallest(list(arrays.values()), k,
                                     [priors[n] for n in names], self.backend)
            for n, (pruned, kept) in zip(names, results):
                out[n], out_masks[n] = pruned, kept
                details[n] = (arrays[n], pruned, kept)
        else:
            k = 0
            for n in names:
                k_layer = int(round(target * arrays[n].size))
                ((pruned, kept),) = prune_smallest([arrays[n]], k_layer, [priors[n]],
                                                   self.backend)
                out[n], out_masks[n] = pruned, kept
                details[n] = (arrays[n], pruned, kept)
                k += k_layer
        self.history.append(self._record("model", target, details, k))
        return out, out_masks

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
            total = mask.size
            kept = int(np.count_nonzero(mask))
            per_layer[name] = _sizes(total, kept, rows, item)
        total = sum(v["total_params"] for v in per_layer.values())
        kept = sum(v["remaining_params"] for v in per_layer.values())
        dense = sum(v["dense_bytes"] for v in per_layer.values())
        csr = sum(v["csr_bytes"] for v in per_layer.values())
        stats = _ratios(total, kept, dense, csr)
        stats["per_layer"] = per_layer
        return stats

    @staticmethod
    def _mask(mask, shape, name):
        mask = np.asarray(mask)
        if mask.shape != tuple(shape):
            raise ValueError("%s must have shape %s, got %s" % (name, tuple(shape), mask.shape))
        if mask.dtype != np.bool_:
            raise ValueError("%s must be a bool array, got dtype %s" % (name, mask.dtype))
        return mask

    def _record(self, call, target, details, k):
        layers = {}
        for name, (w, pruned, kept) in details.items():
            zeros = int(pruned.size - np.count_nonzero(pruned))
            layers[name] = {"shape": tuple(w.shape), "total": int(w.size),
                            "zeros": zeros,
                            "achieved_sparsity": zeros / w.size if w.size else 0.0,
                            "threshold": _largest_pruned(w, kept)}
        total = sum(v["total"] for v in layers.values())
        zeros = sum(v["zeros"] for v in layers.values())
        record = {"call": call, "scope": self.scope if call == "model" else "local",
                  "target_sparsity": target, "pruned": k, "total": total,
                  "zeros": zeros,
                  "achieved_sparsity": zeros / total if total else 0.0,
                  "threshold": max((v["threshold"] for v in layers.values()),
                                   default=0.0)}
        if call == "model":
            record["layers"] = layers
        return record


def _largest_pruned(w, kept):
    """The largest magnitude the mask pruned (0.0 when it pruned nothing)."""
    pruned = np.abs(np.asarray(w))[~kept]
    return float(pruned.max()) if pruned.size else 0.0


def _sizes(total, kept, rows, item):
    dense = total * item
    csr = kept * (item + 4) + (rows + 1) * 4
    out = _ratios(total, kept, dense, csr)
    return out


def _ratios(total, kept, dense, csr):
    return {"total_params": total, "remaining_params": kept,
            "pruned_params": total - kept,
            "sparsity": (total - kept) / total if total else 0.0,
            "compression_ratio": total / kept if kept else float("inf"),
            "dense_bytes": dense, "csr_bytes": csr,
            "memory_reduction": 1.0 - csr / dense if dense else 0.0}
