"""Per-layer budget plans: which sparsity each tensor gets, as an editable file.

A plan is the JSON object ``{"target": 0.7, "method": "erk", "layers":
{name: sparsity}}``.  Its parameter-weighted average sparsity is the target
to within one weight; :meth:`Plan.check` says so, or says why not, against
the tensors it is meant for.
"""


import numpy as np

from wavesparse import _validate as check
from wavesparse._files import read_json, write_json

__all__ = ["Plan"]

_KEYS = {"target", "method", "layers"}


class Plan:
    """A sparsity for each tensor, whose weighted average is ``target``.

    Parameters
    ----------
    target : float
        The sparsity over all the plan's tensors, in [0, 1).
    method : str
        How the plan was made (``"uniform"``, ``"erk"``, ...; ``"edited"``
        or anything else for a hand-written one).
    layers : dict of str to float
        Each tensor's sparsity, in [0, 1).

    Examples
    --------
    >>> from wavesparse.sensitivity import Plan
    >>> plan = Plan(0.5, "hand", {"a": 0.25, "b": 0.75})
    >>> plan.average({"a": 100, "b": 100})
    0.5
    >>> plan
    Plan(target=0.5, method='hand', 2 layers)
    """

    def __init__(self, target, method, layers):
        self.target = check.fraction(target, "target")
        if not isinstance(method, str):
            raise TypeError("method must be a str, got %r" % (method,))
        self.method = method
        if not isinstance(layers, dict):
            raise TypeError("layers must be a dict of tensor name -> sparsity, got %s"
                            % type(layers).__name__)
        self.layers = {}
        for name, value in layers.items():
            if not isinstance(name, str):
                raise TypeError("layers must be keyed by str tensor names, got %r" % (name,))
            self.layers[name] = check.fraction(value, "layers[%r]" % name)

    def __repr__(self):
        return "Plan(target=%r, method=%r, %d layers)" % (self.target, self.method,
                                                          len(self.layers))

    def __eq__(self, other):
        return (isinstance(other, Plan) and self.target == other.target
                and self.method == other.method and self.layers == other.layers)

    def average(self, sizes):
        """The parameter-weighted average sparsity over the plan's tensors.

        Parameters
        ----------
        sizes : dict of str to int or array
            Each tensor's element count, or the tensor itself.
        """
        counts = _counts(sizes, self.layers)
        total = sum(counts.values())
        return sum(self.layers[n] * counts[n] for n in self.layers) / total if total else 0.0

    def check(self, sizes):
        """Refuse a plan that does not fit the tensors it is meant for.

        Raises ValueError (one line) when the plan names a tensor that
        ``sizes`` lacks, or when its weighted average differs from
        ``target`` by more than one weight.

        Examples
        --------
        >>> from wavesparse.sensitivity import Plan
        >>> Plan(0.5, "hand", {"a": 0.5, "b": 0.9}).check({"a": 10, "b": 10})
        Traceback (most recent call last):
        ...
        ValueError: the plan's layers average 70.00% sparsity (14 of 20 weights), not its target 50.00% (10 weights)
        """
        missing = [n for n in self.layers if n not in sizes]
        if missing:
            raise ValueError("the plan names %s, which %s not in the model"
                             % (", ".join(map(repr, missing[:8])),
                                "is" if len(missing) == 1 else "are"))
        counts = _counts(sizes, self.layers)
        total = sum(counts.values())
        planned = sum(self.layers[n] * counts[n] for n in self.layers)
        if total and abs(planned - self.target * total) > 1.0:
            raise ValueError("the plan's layers average %.2f%% sparsity (%d of %d weights), "
                             "not its target %.2f%% (%d weights)"
                             % (100 * planned / total, round(planned), total,
                                100 * self.target, round(self.target * total)))

    # ------------------------------------------------------------ files

    def to_dict(self):
        """The JSON object: ``{"target", "method", "layers"}``.

        Examples
        --------
        >>> from wavesparse.sensitivity import Plan
        >>> Plan(0.5, "uniform", {"w": 0.5}).to_dict()
        {'target': 0.5, 'method': 'uniform', 'layers': {'w': 0.5}}
        """
        return {"target": self.target, "method": self.method, "layers": dict(self.layers)}

    @classmethod
    def from_dict(cls, payload):
        """The plan a JSON object describes; ValueError naming what is wrong.

        Examples
        --------
        >>> from wavesparse.sensitivity import Plan
        >>> Plan.from_dict({"target": 0.5, "method": "erk", "layers": {"w": 0.5}})
        Plan(target=0.5, method='erk', 1 layers)
        """
        if not isinstance(payload, dict):
            raise ValueError("a plan is a JSON object, got %s" % type(payload).__name__)
        if set(payload) != _KEYS:
            raise ValueError("a plan has the keys target, method and layers; this one has %s"
                             % ", ".join(sorted(payload)))
        try:
            return cls(payload["target"], payload["method"], payload["layers"])
        except TypeError as exc:
            raise ValueError("plan: %s" % exc) from None

    def save(self, path):
        """Write the plan as JSON (to a temporary name, then renamed).

        Examples
        --------
        >>> import os, tempfile
        >>> from wavesparse.sensitivity import Plan
        >>> path = os.path.join(tempfile.mkdtemp(), "plan.json")
        >>> Plan(0.5, "uniform", {"w": 0.5}).save(path)
        >>> Plan.load(path)
        Plan(target=0.5, method='uniform', 1 layers)
        """
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path):
        """Read a plan file; ValueError (one line) for one that is not a plan."""
        return read_json(path, cls.from_dict)


def _counts(sizes, names):
    counts = {}
    for n in names:
        value = sizes[n]
        counts[n] = int(value) if isinstance(value, (int, np.integer)) else int(np.size(value))
    return counts
