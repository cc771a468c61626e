"""What a checkpoint the runtime cannot run raises.

Examples
--------
>>> from wavesparse.runtime.errors import MissingTensorError
>>> from wavesparse.io import CheckpointError
>>> issubclass(MissingTensorError, CheckpointError)
True
"""

from wavesparse.io import CheckpointError

__all__ = ["MissingTensorError", "require"]


class MissingTensorError(CheckpointError):
    """A checkpoint lacks a tensor its architecture needs (one-line message).

    Examples
    --------
    >>> from wavesparse.runtime.errors import require
    >>> try:
    ...     require({"a": 1}, ["a", "b"], "model.npz")
    ... except MissingTensorError as exc:
    ...     print(exc)
    model.npz lacks tensor 'b' that the model needs
    """


def require(weights, names, source):
    """Raise :class:`MissingTensorError` unless every name is in ``weights``.

    Examples
    --------
    >>> from wavesparse.runtime.errors import require
    >>> require({"a": 1}, ["a"], "model.npz")
    """
    missing = [n for n in names if n not in weights]
    if missing:
        more = " (and %d more)" % (len(missing) - 1) if len(missing) > 1 else ""
        raise MissingTensorError("%s lacks tensor %r%s that the model needs"
                                 % (source, missing[0], more))
