"""The calibration statistics file: what it holds, how it is read and written.

A statistics file is a safetensors file.  For each weight tensor ``NAME``
(the name it has in the checkpoint to prune) it holds:

``NAME/rows``
    int64, shape (1,): how many input rows (tokens, samples) were seen.
``NAME/sum_squares``
    float64, shape (n_in,): per input feature j, the sum over rows of x_j**2
    (Wanda's ``||X_j||`` is its square root).
``NAME/gram``
    float64, shape (n_in, n_in), optional: the Gram matrix X^T X of the
    inputs (SparseGPT's Hessian, up to a factor 2).

and in the header's metadata ``NAME/input``: which input the rows came from
(several weights fed by one input, such as the query, key and value
projections, name the same one), and ``wavesparse.calibration`` = ``"1"``,
the format's version.  Other metadata (where the calibration text came from,
how many tokens) is kept as given.  A weight of shape ``(n_out, a, b, ...)``
takes inputs of width ``n_in = a * b * ...``, as the weight viewed as the
matrix ``(n_out, n_in)`` does.

Examples
--------
>>> import numpy as np
>>> from wavesparse.calibration import LayerStats
>>> s = LayerStats.from_inputs(np.array([[3.0, 0.0], [4.0, 1.0]]))
>>> s.rows, s.feature_norms()
(2, array([5., 1.]))
"""

import os
from collections.abc import Mapping
from typing import NamedTuple, Optional

import numpy as np

from wavesparse import io

__all__ = ["LayerStats", "CalibrationStats", "load_stats", "save_stats", "as_stats",
           "check_destination",
           "FORMAT_KEY"]

#: The metadata key that marks a statistics file, with the format's version.
FORMAT_KEY = "wavesparse.calibration"
FORMAT_VERSION = "1"
_PARTS = ("rows", "sum_squares", "gram")
# io.save records the tensors' order under this key; it is not the user's metadata.
_ORDER_KEY = "wavesparse.order"


class LayerStats(NamedTuple):
    """The input statistics of one weight.

    Attributes
    ----------
    rows : int
        Input rows seen.
    sum_squares : ndarray of float64, shape (n_in,)
        Per input feature, the sum of squares over the rows.
    gram : ndarray of float64, shape (n_in, n_in), or None
        X^T X over the rows, when it was recorded.
    input : str
        The input the rows came from.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.calibration import LayerStats
    >>> LayerStats.from_inputs(np.ones((3, 2))).gram
    array([[3., 3.],
           [3., 3.]])
    """

    rows: int
    sum_squares: np.ndarray
    gram: Optional[np.ndarray] = None
    input: str = ""

    @property
    def width(self):
        """The number of input features, n_in."""
        return int(self.sum_squares.shape[0])

    def feature_norms(self):
        """``||X_j||``, the Euclidean norm of each input feature over the rows."""
        return np.sqrt(self.sum_squares)

    @classmethod
    def from_inputs(cls, x, gram=True, input=""):
        """The statistics of one batch of inputs ``x`` (rows x n_in), in float64."""
        x = np.asarray(x, dtype=np.float64)
        x = x.reshape(-1, x.shape[-1])
        return cls(x.shape[0], np.einsum("ij,ij->j", x, x), x.T @ x if gram else None, input)


def _width(shape):
    return int(np.prod(shape[1:])) if len(shape) > 1 else int(shape[0])


class CalibrationStats(Mapping):
    """Input statistics by weight name: a statistics file, or made in memory.

    A read-only mapping ``{weight name: LayerStats}``.  Read from a file
    (:func:`load_stats`), each weight's arrays are read when it is looked up,
    so a file larger than memory can be used one weight at a time.

    Parameters
    ----------
    layers : dict of str to LayerStats
    metadata : dict of str to str, optional
        Where the statistics came from (kept in the file's header).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.calibration import CalibrationStats, LayerStats
    >>> stats = CalibrationStats({"fc.weight": LayerStats.from_inputs(np.ones((4, 3)))})
    >>> list(stats), stats["fc.weight"].rows
    (['fc.weight'], 4)
    """

    def __init__(self, layers, metadata=None):
        self._layers = dict(layers)
        for name, layer in self._layers.items():
            if not isinstance(layer, LayerStats):
                raise TypeError("layers[%r] must be a LayerStats, got %s"
                                % (name, type(layer).__name__))
        self.metadata = dict(metadata or {})
        self.path = None

    @classmethod
    def _from_file(cls, path, shapes, inputs, metadata):
        stats = cls({}, metadata)
        stats.path = os.fspath(path)
        stats._shapes = shapes
        stats._inputs = inputs
        return stats

    def _read(self, name):
        from safetensors import safe_open
        with safe_open(self.path, framework="np") as f:
            keys = set(f.keys())
            parts = {p: f.get_tensor("%s/%s" % (name, p)) for p in _PARTS
                     if "%s/%s" % (name, p) in keys}
        return LayerStats(int(parts["rows"][0]), parts["sum_squares"], parts.get("gram"),
                          self._inputs.get(name, ""))

    def __getitem__(self, name):
        if self.path is None:
            return self._layers[name]
        if name not in self._shapes:
            raise KeyError(name)
        return self._read(name)

    def __iter__(self):
        return iter(self._layers if self.path is None else self._shapes)

    def __len__(self):
        return len(self._layers if self.path is None else self._shapes)

    def __repr__(self):
        where = self.path or "memory"
        return "<CalibrationStats of %d weights from %s>" % (len(self), where)

    def describe(self):
        """Where the statistics are: the file's path, or ``"calibration statistics"``."""
        return ("calibration statistics %s" % self.path) if self.path else \
            "calibration statistics"

    def layer(self, name, shape, gram=False):
        """The statistics of weight ``name`` of ``shape``, checked.

        ValueError, one line naming the file and the weight, when they are
        missing, when their width is not the weight's input width, or (with
        ``gram=True``) when the Gram matrix was not recorded.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.calibration import CalibrationStats, LayerStats
        >>> stats = CalibrationStats({"fc": LayerStats.from_inputs(np.ones((4, 3)), gram=False)})
        >>> stats.layer("fc", (2, 3)).width
        3
        >>> stats.layer("fc", (2, 5))
        Traceback (most recent call last):
        ...
        ValueError: calibration statistics hold inputs of width 3 for 'fc', but the weight has shape (2, 5) (input width 5)
        """
        self.check(name, shape, gram)
        return self[name]

    def check(self, name, shape, gram=False):
        """The checks of :meth:`layer`, without reading the arrays."""
        if name is None:
            raise ValueError("pruning with %s needs the tensor's name: pass name= to "
                             "prune_layer" % self.describe())
        if name not in self:
            raise ValueError("%s hold no statistics for tensor %r" % (self.describe(), name))
        width, expected = self._stored_width(name), _width(tuple(shape))
        if width != expected:
            raise ValueError("%s hold inputs of width %d for %r, but the weight has shape "
                             "%s (input width %d)" % (self.describe(), width, name,
                                                      tuple(shape), expected))
        if gram and not self.has_gram(name):
            raise ValueError("%s hold no Gram matrix for %r: record it with "
                             "Recorder(gram=True)" % (self.describe(), name))

    def _stored_width(self, name):
        if self.path is None:
            return self._layers[name].width
        return self._shapes[name]["sum_squares"][0]

    def has_gram(self, name):
        """Whether the Gram matrix of weight ``name`` was recorded (without reading it).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.calibration import CalibrationStats, LayerStats
        >>> CalibrationStats({"fc": LayerStats.from_inputs(np.eye(2), gram=False)}).has_gram("fc")
        False
        """
        if self.path is None:
            return self._layers[name].gram is not None
        return "gram" in self._shapes[name]


def load_stats(path):
    """Open a calibration statistics file.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save_stats` or :meth:`Recorder.save`.

    Returns
    -------
    CalibrationStats
        Reads each weight's arrays when it is looked up.

    Raises
    ------
    wavesparse.io.CheckpointError
        (a ValueError) for a file that is missing, unreadable or not a
        statistics file.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse.calibration import Recorder, load_stats
    >>> rec = Recorder()
    >>> rec.add("fc.weight", np.ones((5, 2)))
    >>> path = os.path.join(tempfile.mkdtemp(), "stats.safetensors")
    >>> rec.save(path)
    >>> load_stats(path)["fc.weight"].rows
    5
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise io.CheckpointError("cannot read calibration statistics %s: file not found"
                                 % path)
    try:
        from safetensors import safe_open
    except ImportError:
        raise io.CheckpointError("reading %s needs the safetensors package: "
                                 "pip install 'wavesparse[io]'" % path) from None
    try:
        with safe_open(path, framework="np") as f:
            metadata = dict(f.metadata() or {})
            shapes = {}
            for key in f.keys():
                name, _, part = key.rpartition("/")
                shapes.setdefault(name, {})[part] = tuple(f.get_slice(key).get_shape())
    except Exception as exc:  # every reader error: truncated, not the format
        raise io.CheckpointError("cannot read calibration statistics %s: %s"
                                 % (path, str(exc).splitlines()[0] if str(exc)
                                    else type(exc).__name__)) from None
    if metadata.get(FORMAT_KEY) != FORMAT_VERSION:
        raise io.CheckpointError("%s is not a calibration statistics file (its metadata "
                                 "has no %s = %s)" % (path, FORMAT_KEY, FORMAT_VERSION))
    for name, parts in shapes.items():
        if set(parts) - set(_PARTS) or not {"rows", "sum_squares"} <= set(parts):
            raise io.CheckpointError("%s: entry %r is not rows, sum_squares and an optional "
                                     "gram" % (path, name))
    inputs = {n: metadata.get("%s/input" % n, "") for n in shapes}
    extra = {k: v for k, v in metadata.items()
             if k not in (FORMAT_KEY, _ORDER_KEY)
             and not (k.endswith("/input") and k[:-len("/input")] in shapes)}
    return CalibrationStats._from_file(path, shapes, inputs, extra)


def check_destination(path, metadata=None, argument="path"):
    """Refuse, before any recording, a statistics file that could not be
    written: ``path`` not a ``.safetensors`` name or in a missing folder,
    ``metadata`` not a dict of str to str (hours of calibration are not
    lost to a typo found by :func:`save_stats` at the end).  With ``path``
    None only ``metadata`` is checked.

    Examples
    --------
    >>> from wavesparse.calibration.stats import check_destination
    >>> check_destination("stats.npz", argument="-o")
    Traceback (most recent call last):
    ...
    ValueError: -o must name a .safetensors file (calibration statistics), got 'stats.npz'
    """
    if metadata is not None and (not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("metadata must be a dict of str to str, got %r" % (metadata,))
    if path is None:
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError("%s must be a str or os.PathLike, got %s"
                        % (argument, type(path).__name__))
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() != ".safetensors":
        raise ValueError("%s must name a .safetensors file (calibration statistics), "
                         "got %r" % (argument, path))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError("%s %r: folder %s does not exist" % (argument, path, folder))


def save_stats(path, stats, metadata=None):
    """Write statistics to a safetensors file, atomically (temporary name, rename).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` path.
    stats : CalibrationStats or dict of str to LayerStats
    metadata : dict of str to str, optional
        Added to the statistics' own metadata.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from wavesparse.calibration import LayerStats, save_stats, load_stats
    >>> path = os.path.join(tempfile.mkdtemp(), "s.safetensors")
    >>> save_stats(path, {"w": LayerStats.from_inputs(np.eye(2), input="x")})
    >>> load_stats(path)["w"].input
    'x'
    """
    if os.path.splitext(os.fspath(path))[1].lower() != ".safetensors":
        raise ValueError("calibration statistics are written as .safetensors, got %r"
                         % os.fspath(path))
    header = dict(getattr(stats, "metadata", {}) or {})
    header.update(metadata or {})
    for key, value in header.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("metadata must map str to str, got %r: %r" % (key, value))
    header[FORMAT_KEY] = FORMAT_VERSION
    tensors = {}
    for name in stats:
        layer = stats[name]
        if not isinstance(name, str) or not name:
            raise ValueError("tensor names must be non-empty str, got %r" % (name,))
        tensors["%s/rows" % name] = np.array([layer.rows], dtype=np.int64)
        tensors["%s/sum_squares" % name] = np.asarray(layer.sum_squares, dtype=np.float64)
        if layer.gram is not None:
            tensors["%s/gram" % name] = np.asarray(layer.gram, dtype=np.float64)
        header["%s/input" % name] = layer.input
    io.save(path, tensors, metadata=header)


def as_stats(value, name="stats"):
    """``value`` as :class:`CalibrationStats`: a file's path is opened with
    :func:`load_stats`, a dict of :class:`LayerStats` wrapped, statistics
    given back as they are; TypeError naming ``name`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.calibration import LayerStats, as_stats
    >>> len(as_stats({"w": LayerStats.from_inputs(np.eye(2))}))
    1
    """
    if isinstance(value, CalibrationStats):
        return value
    if isinstance(value, (str, os.PathLike)):
        return load_stats(value)
    if isinstance(value, dict):
        return CalibrationStats(value)
    raise TypeError("%s must be a calibration statistics file's path or CalibrationStats "
                    "(wavesparse.calibration), got %s" % (name, type(value).__name__))
