"""Arrays of other libraries in, the same kind back out.

The pruners work on numpy arrays.  A caller's tensor (a torch tensor or
``nn.Parameter``, any DLPack or ``__array__`` object) is read through DLPack
when it offers it (no copy for CPU memory), else through ``__array__``,
after ``detach()`` when it has one (a tensor that requires grad cannot be
exported otherwise).  A result goes back as the caller's kind:

- through the caller's array namespace (``__array_namespace__().asarray``);
- for torch tensors, ``torch.from_numpy`` on the tensor's device;
- as the numpy array itself for anything else (and for numpy input).

Examples
--------
>>> import numpy as np
>>> from wavesparse._interop import as_numpy
>>> class Wrapped:  # any object with __array__
...     def __array__(self, dtype=None, copy=None):
...         return np.array([1.0, 2.0])
>>> array, back = as_numpy(Wrapped(), "w")
>>> back(array * 2)
array([2., 4.])
"""

import sys

import numpy as np

__all__ = ["as_numpy"]


def _same(result):
    return result


def _is_torch(value):
    return type(value).__module__.split(".")[0] == "torch" and "torch" in sys.modules


def _reader(value, name):
    """The numpy view of a foreign array: DLPack first, then ``__array__``."""
    if callable(getattr(value, "detach", None)):
        value = value.detach()
    errors = []
    if hasattr(value, "__dlpack__"):
        try:
            return np.from_dlpack(value)
        except (TypeError, ValueError, RuntimeError, BufferError) as exc:
            errors.append("DLPack: %s" % exc)
    if hasattr(value, "__array__"):
        try:
            return np.asarray(value)
        except (TypeError, ValueError, RuntimeError) as exc:
            errors.append("__array__: %s" % exc)
    if _is_torch(value) and callable(getattr(value, "cpu", None)):
        return value.cpu().numpy()  # a tensor on another device: one copy to host
    raise TypeError("%s (a %s) cannot be read as an array%s"
                    % (name, type(value).__name__,
                       ": " + "; ".join(errors) if errors else ""))


def as_numpy(value, name):
    """``(array, back)``: ``value`` as a numpy array, and a function that turns
    a numpy result into ``value``'s kind.

    numpy arrays, scalars, lists and scipy arrays pass through unchanged
    (``back`` is the identity); see the module's notes for the rest.
    """
    if isinstance(value, (np.ndarray, np.generic, list, tuple, int, float)) or (
            hasattr(value, "tocsr") and hasattr(value, "nnz")):
        return value, _same
    if not (hasattr(value, "__dlpack__") or hasattr(value, "__array__")):
        return value, _same
    array = _reader(value, name)
    namespace = getattr(value, "__array_namespace__", None)
    if callable(namespace):
        xp = namespace()
        return array, xp.asarray
    if _is_torch(value):
        torch = sys.modules["torch"]
        device = getattr(value, "device", None)

        def to_torch(result):
            tensor = torch.from_numpy(np.ascontiguousarray(result))
            return tensor.to(device) if device is not None else tensor

        return array, to_torch
    return array, _same
