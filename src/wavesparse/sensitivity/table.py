"""The result of a sensitivity scan: one score per layer and sparsity.

Examples
--------
>>> from wavesparse.sensitivity import Sensitivity
>>> t = Sensitivity([0.5, 0.9], {"fc1": [0.9, 0.5], "fc2": [0.95, 0.9]},
...                 baseline=1.0, params={"fc1": 100, "fc2": 400}, score="accuracy")
>>> print(t)
Sensitivity of accuracy (unpruned 1.0000), one layer pruned at a time:
layer  params     50%     90%
-----  ------  ------  ------
fc1       100  0.9000  0.5000
fc2       400  0.9500  0.9000
>>> t.loss("fc1").round(4).tolist()
[0.0, 0.1, 0.5]
"""


import numpy as np

from wavesparse import _validate as check
from wavesparse._files import read_json, write_json

__all__ = ["Sensitivity"]

_FORMAT = "wavesparse.sensitivity"


class Sensitivity:
    """Scores of a model with one layer pruned at a time (higher is better).

    Parameters
    ----------
    sparsities : sequence of float
        The sparsities each layer was pruned to, increasing, in (0, 1).
    scores : dict of str to sequence of float
        Per layer, the score at each sparsity.
    baseline : float
        The score of the unpruned model (every layer's score at sparsity 0).
    params : dict of str to int
        Each layer's parameter count.
    score : str
        What the score is (printed above the table and kept in the file).

    Attributes
    ----------
    layers : list of str
        The layer names, in scan order.
    """

    def __init__(self, sparsities, scores, baseline, params, score="score"):
        self.sparsities = [check.fraction(s, "sparsities[%d]" % i)
                           for i, s in enumerate(sparsities)]
        if not self.sparsities or any(b <= a for a, b in
                                      zip(self.sparsities, self.sparsities[1:])):
            raise ValueError("sparsities must be non-empty and increasing, got %s"
                             % (list(sparsities),))
        if self.sparsities[0] <= 0.0:
            raise ValueError("sparsities must be above 0 (0 is the unpruned baseline), got %s"
                             % (list(sparsities),))
        if not isinstance(scores, dict) or not isinstance(params, dict):
            raise TypeError("scores and params must be dicts keyed by layer name")
        if set(scores) != set(params):
            raise ValueError("scores and params must name the same layers")
        self.baseline = check.real_scalar(baseline, "baseline")
        self.scores = {}
        for name, row in scores.items():
            row = np.asarray(row, dtype=np.float64)
            if row.shape != (len(self.sparsities),) or np.isnan(row).any():
                raise ValueError("scores[%r] must hold %d numbers (one per sparsity), got %r"
                                 % (name, len(self.sparsities), row.tolist()))
            self.scores[name] = row
        self.params = {n: check.index(params[n], "params[%r]" % n) for n in scores}
        self.layers = list(scores)
        self.score = str(score)

    def loss(self, name):
        """The predicted loss ``baseline - score`` at 0 and at each sparsity.

        Examples
        --------
        >>> from wavesparse.sensitivity import Sensitivity
        >>> Sensitivity([0.5], {"w": [0.75]}, 1.0, {"w": 10}).loss("w").tolist()
        [0.0, 0.25]
        """
        return np.concatenate(([0.0], self.baseline - self.scores[name]))

    def __repr__(self):
        return "Sensitivity(%d layers x %d sparsities, score=%r)" % (
            len(self.layers), len(self.sparsities), self.score)

    def __str__(self):
        headers = ["layer", "params"] + ["%g%%" % (100 * s) for s in self.sparsities]
        body = [[n, str(self.params[n])] + ["%.4f" % v for v in self.scores[n]]
                for n in self.layers]
        widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]
        justify = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                          for i, (c, w) in enumerate(zip(cells, widths)))
        lines = ["Sensitivity of %s (unpruned %.4f), one layer pruned at a time:"
                 % (self.score, self.baseline), justify(headers),
                 "  ".join("-" * w for w in widths)]
        return "\n".join(lines + [justify(r) for r in body])

    # ------------------------------------------------------------ files

    def to_dict(self):
        """The JSON object the file holds.

        Examples
        --------
        >>> from wavesparse.sensitivity import Sensitivity
        >>> sorted(Sensitivity([0.5], {"w": [0.8]}, 1.0, {"w": 10}).to_dict())
        ['baseline', 'format', 'layers', 'score', 'sparsities']
        """
        return {"format": _FORMAT, "score": self.score, "baseline": self.baseline,
                "sparsities": list(self.sparsities),
                "layers": {n: {"params": self.params[n], "scores": self.scores[n].tolist()}
                           for n in self.layers}}

    @classmethod
    def from_dict(cls, payload):
        """The table a JSON object describes; ValueError naming what is wrong.

        Examples
        --------
        >>> from wavesparse.sensitivity import Sensitivity
        >>> Sensitivity.from_dict({"format": "other"})
        Traceback (most recent call last):
        ...
        ValueError: not a sensitivity scan (expected "format": 'wavesparse.sensitivity')
        """
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError("not a sensitivity scan (expected \"format\": %r)" % _FORMAT)
        try:
            layers = payload["layers"]
            return cls(payload["sparsities"], {n: v["scores"] for n, v in layers.items()},
                       payload["baseline"], {n: v["params"] for n, v in layers.items()},
                       payload["score"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("sensitivity scan: missing or wrong field %s" % exc) from None

    def save(self, path):
        """Write the table as JSON (to a temporary name, then renamed).

        Examples
        --------
        >>> import os, tempfile
        >>> from wavesparse.sensitivity import Sensitivity
        >>> t = Sensitivity([0.5], {"w": [0.8]}, 1.0, {"w": 10})
        >>> path = os.path.join(tempfile.mkdtemp(), "scan.json")
        >>> t.save(path)
        >>> Sensitivity.load(path).scores["w"].tolist()
        [0.8]
        """
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path):
        """Read a table written by :meth:`save`."""
        return read_json(path, cls.from_dict)

    # ------------------------------------------------------------ plot

    def plot(self, path):
        """Draw one loss curve per layer into an image file (needs matplotlib).

        Examples
        --------
        >>> import importlib.util, os, tempfile
        >>> from wavesparse.sensitivity import Sensitivity
        >>> t = Sensitivity([0.5, 0.9], {"w": [0.8, 0.2]}, 1.0, {"w": 10})
        >>> path = os.path.join(tempfile.mkdtemp(), "scan.png")
        >>> if importlib.util.find_spec("matplotlib"):
        ...     t.plot(path)
        ... else:
        ...     open(path, "w").close()
        >>> os.path.exists(path)
        True
        """
        from wavesparse.sensitivity.figures import save_figure, pyplot
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(7, 4.5))
        x = 100 * np.concatenate(([0.0], self.sparsities))
        cmap = plt.get_cmap("viridis")
        for i, name in enumerate(self.layers):
            ax.plot(x, self.loss(name), "-", lw=1,
                    color=cmap(i / max(1, len(self.layers) - 1)),
                    label=name if len(self.layers) <= 12 else None)
        ax.set_xlabel("sparsity of the one pruned layer (%)")
        ax.set_ylabel("loss: unpruned score - score")
        ax.set_title("%s, one curve per layer (%d)" % (self.score, len(self.layers)),
                     fontsize=9)
        if len(self.layers) <= 12:
            ax.legend(fontsize=7)
        fig.tight_layout()
        save_figure(fig, path)
        plt.close(fig)
