"""Recorder: input statistics of linear layers, accumulated batch by batch.

Memory stays bounded whatever the number of batches: per input it keeps the
float64 sums (n_in values, and n_in**2 with the Gram matrix), and a batch is
converted to float64 a slice of ``chunk_rows`` rows at a time.
"""

import numpy as np

from wavesparse.calibration.stats import CalibrationStats, LayerStats, save_stats

__all__ = ["Recorder"]


class _Sums:
    """The running float64 sums of one input, shared by the weights it feeds."""

    def __init__(self, names, width, gram, input):
        self.names, self.width, self.input = tuple(names), width, input
        self.rows = 0
        self.sum_squares = np.zeros(width)
        self.gram = np.zeros((width, width)) if gram else None

    def add(self, x, chunk_rows):
        for start in range(0, x.shape[0], chunk_rows):
            part = np.asarray(x[start:start + chunk_rows], dtype=np.float64)
            if not np.isfinite(part).all():
                raise ValueError("inputs of %s hold NaN or inf" % ", ".join(self.names))
            self.sum_squares += np.einsum("ij,ij->j", part, part)
            if self.gram is not None:
                self.gram += part.T @ part
        self.rows += x.shape[0]


def _names(name):
    """The weight names of ``name`` (a str or a list of them)."""
    names = [name] if isinstance(name, str) else list(name) if isinstance(
        name, (list, tuple)) else None
    if not names or not all(isinstance(n, str) and n for n in names):
        raise TypeError("name must be a non-empty str or a list of them, got %r" % (name,))
    return names


class Recorder:
    """Accumulates the inputs of linear layers into calibration statistics.

    Feed it each layer's input batch with :meth:`add` (in any framework:
    anything ``numpy.asarray`` reads), then :meth:`save` the file the pruners
    read (:mod:`wavesparse.calibration.stats`), or pass :meth:`stats` to
    them directly.

    Parameters
    ----------
    gram : bool
        Also accumulate each input's Gram matrix X^T X (SparseGPT needs it;
        Wanda needs only the sums of squares).  Costs n_in**2 float64 per
        input and 2 * rows * n_in**2 flops per batch.
    chunk_rows : int
        Rows converted to float64 at a time: the largest temporary is
        ``chunk_rows * n_in`` float64.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.calibration import Recorder
    >>> rec = Recorder()
    >>> rec.add("fc.weight", np.array([[1.0, 2.0], [3.0, 0.0]]))
    >>> rec.add("fc.weight", np.array([[0.0, 1.0]]))
    >>> s = rec.stats()["fc.weight"]
    >>> s.rows, s.sum_squares
    (3, array([10.,  5.]))
    """

    def __init__(self, gram=True, chunk_rows=4096):
        if not isinstance(gram, (bool, np.bool_)):
            raise TypeError("gram must be True or False, got %r" % (gram,))
        if isinstance(chunk_rows, (bool, np.bool_)) or not isinstance(
                chunk_rows, (int, np.integer)):
            raise TypeError("chunk_rows must be an integer, got %r" % (chunk_rows,))
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be >= 1, got %d" % chunk_rows)
        self.gram = bool(gram)
        self.chunk_rows = int(chunk_rows)
        self._sums = {}

    def add(self, name, x, input=None):
        """Add one batch of a layer's inputs.

        Parameters
        ----------
        name : str or list of str
            The weight(s) this input feeds, named as in the checkpoint; a
            list records one input for several weights (query, key and value
            projections) at the cost of one.
        x : array_like
            Real inputs of shape ``(..., n_in)``: every leading axis counts
            as rows (batch, tokens).  Any float or integer dtype; summed in
            float64.  Leave padding out (``x[mask]``).
        input : str, optional
            Which input this is, stored in the file's metadata (default: the
            weight names).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.calibration import Recorder
        >>> rec = Recorder(gram=False)
        >>> rec.add(["q.weight", "k.weight"], np.ones((2, 5, 4)), input="layer 0 input")
        >>> rec.stats()["k.weight"].rows, rec.stats()["k.weight"].input
        (10, 'layer 0 input')
        """
        names = _names(name)
        if input is not None and not isinstance(input, str):
            raise TypeError("input must be a str, got %r" % (input,))
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError("x must be an array of inputs: %s" % exc) from None
        if x.dtype.kind not in "fiu":
            raise TypeError("x must hold real numbers, got dtype %s" % x.dtype)
        if x.ndim < 1 or x.shape[-1] == 0:
            raise ValueError("x must have shape (..., n_in) with n_in >= 1, got %s"
                             % (x.shape,))
        x = x.reshape(-1, x.shape[-1])
        sums = self._sums_for(names, x.shape[1], input)
        sums.add(x, self.chunk_rows)

    def add_sums(self, name, rows, sum_squares, gram=None, input=None):
        """Add sums made elsewhere: on a GPU, on another worker, from an
        earlier run.  ``add_sums(name, len(x), (x**2).sum(0), x.T @ x)``
        records what ``add(name, x)`` would.

        Parameters
        ----------
        name : str or list of str
            As in :meth:`add`.
        rows : int
            The rows the sums cover, >= 0.
        sum_squares : array_like
            Per input feature, the sum of squares: shape ``(n_in,)``.
        gram : array_like, optional
            ``X^T X``, shape ``(n_in, n_in)``; required when the recorder
            keeps Gram matrices.
        input : str, optional
            As in :meth:`add`.

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.calibration import Recorder
        >>> x = np.array([[1.0, 2.0], [3.0, 0.0]])
        >>> rec = Recorder()
        >>> rec.add_sums("fc.weight", 2, (x ** 2).sum(0), x.T @ x)
        >>> rec.add("fc.weight", x)
        >>> rec.stats()["fc.weight"].sum_squares
        array([20.,  8.])
        """
        names = _names(name)
        if input is not None and not isinstance(input, str):
            raise TypeError("input must be a str, got %r" % (input,))
        if isinstance(rows, (bool, np.bool_)) or not isinstance(rows, (int, np.integer)):
            raise TypeError("rows must be an integer, got %r" % (rows,))
        if rows < 0:
            raise ValueError("rows must be >= 0, got %d" % rows)
        sum_squares = np.asarray(sum_squares, dtype=np.float64)
        if sum_squares.ndim != 1 or sum_squares.size == 0:
            raise ValueError("sum_squares must have shape (n_in,) with n_in >= 1, got %s"
                             % (sum_squares.shape,))
        width = sum_squares.size
        if self.gram:
            if gram is None:
                raise ValueError("gram is required: this recorder keeps Gram matrices "
                                 "(Recorder(gram=False) does not)")
            gram = np.asarray(gram, dtype=np.float64)
            if gram.shape != (width, width):
                raise ValueError("gram must have shape (%d, %d), got %s"
                                 % (width, width, gram.shape))
        for part, what in ((sum_squares, "sum_squares"), (gram, "gram")):
            if part is not None and not np.isfinite(part).all():
                raise ValueError("%s of %s holds NaN or inf" % (what, ", ".join(names)))
        if (sum_squares < 0).any():
            raise ValueError("sum_squares of %s holds negative values: sums of squares are "
                             ">= 0" % ", ".join(names))
        if rows == 0 and (sum_squares.any() or (gram is not None and gram.any())):
            raise ValueError("rows is 0 but the sums of %s are not zero" % ", ".join(names))
        sums = self._sums_for(names, width, input)
        sums.sum_squares += sum_squares
        if sums.gram is not None:
            sums.gram += gram
        sums.rows += int(rows)

    def _sums_for(self, names, width, input):
        found = {id(self._sums[n]): self._sums[n] for n in names if n in self._sums}
        if not found:
            sums = _Sums(names, width, self.gram, input or "inputs of %s" % ", ".join(names))
            for n in names:
                self._sums[n] = sums
            return sums
        sums = next(iter(found.values()))
        if len(found) > 1 or set(sums.names) != set(names):
            raise ValueError("%s recorded with other inputs before (together with %s)"
                             % (", ".join(names), ", ".join(sums.names)))
        if input is not None and input != sums.input:
            raise ValueError("%s recorded as input %r before, now %r"
                             % (", ".join(names), sums.input, input))
        if width != sums.width:
            raise ValueError("inputs of %s have width %d, earlier batches had %d"
                             % (", ".join(names), width, sums.width))
        return sums

    def names(self):
        """The weights recorded so far, in the order first seen."""
        return list(self._sums)

    def stats(self, metadata=None):
        """The statistics so far, as :class:`CalibrationStats` (a snapshot).

        Examples
        --------
        >>> import numpy as np
        >>> from wavesparse.calibration import Recorder
        >>> rec = Recorder()
        >>> rec.add("w", np.eye(3))
        >>> float(rec.stats()["w"].gram.trace())
        3.0
        """
        layers = {}
        for name, s in self._sums.items():
            layers[name] = LayerStats(s.rows, s.sum_squares.copy(),
                                      None if s.gram is None else s.gram.copy(), s.input)
        return CalibrationStats(layers, metadata)

    def save(self, path, metadata=None):
        """Write the statistics file (see :mod:`wavesparse.calibration.stats`).

        Written to a temporary name in the same folder and renamed over
        ``path`` when complete.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.safetensors`` path.
        metadata : dict of str to str, optional
            Where the inputs came from (data set, number of tokens, model).

        Examples
        --------
        >>> import os, tempfile, numpy as np
        >>> from wavesparse.calibration import Recorder, load_stats
        >>> rec = Recorder(gram=False)
        >>> rec.add("w", np.ones((2, 2)))
        >>> path = os.path.join(tempfile.mkdtemp(), "stats.safetensors")
        >>> rec.save(path, metadata={"source": "two rows of ones"})
        >>> load_stats(path).metadata["source"]
        'two rows of ones'
        """
        layers = {name: LayerStats(s.rows, s.sum_squares, s.gram, s.input)
                  for name, s in self._sums.items()}
        save_stats(path, CalibrationStats(layers), metadata)
