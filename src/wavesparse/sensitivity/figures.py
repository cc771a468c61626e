"""matplotlib, imported only when a figure is asked for (the ``plot`` extra)."""

import os

__all__ = ["pyplot", "save_figure"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend; ImportError saying how to get it.

    Examples
    --------
    >>> import importlib.util
    >>> from wavesparse.sensitivity.figures import pyplot
    >>> pyplot().get_backend().lower() if importlib.util.find_spec("matplotlib") else "agg"
    'agg'
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'wavesparse[plot]'") from None
    return plt


def save_figure(fig, path):
    """Save through a temporary name in the same folder, then rename.

    Examples
    --------
    >>> import importlib.util, os, tempfile
    >>> from wavesparse.sensitivity.figures import pyplot, save_figure
    >>> path = os.path.join(tempfile.mkdtemp(), "empty.png")
    >>> if importlib.util.find_spec("matplotlib"):
    ...     fig = pyplot().figure()
    ...     save_figure(fig, path)
    ... else:
    ...     open(path, "w").close()
    >>> os.listdir(os.path.dirname(path))
    ['empty.png']
    """
    path = os.fspath(path)
    tmp = "%s.part%s" % (path, os.path.splitext(path)[1])
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
