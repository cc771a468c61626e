"""Which tensors of a model a pruner prunes: the include/exclude rule that
every pruner and the command line share."""

import fnmatch

import numpy as np

from wavesparse.halfs import is_float

__all__ = ["layer_choice", "select_layers"]


def _exactly_named(name, patterns):
    return any(p == name for p in patterns or ())


def layer_choice(weights, include=None, exclude=None):
    """For each tensor name, ``None`` when it is to be pruned, else why not.

    With no ``include``, every floating tensor (float16, bfloat16, float32,
    float64) of rank 2 or more is chosen.  ``include`` and ``exclude`` are glob patterns (``fnmatch``) on
    the names; a glob such as ``fc*`` chooses only the tensors of rank >= 2
    it matches, while a tensor of rank 0 or 1 (a bias, a norm) is chosen
    only when ``include`` names it exactly.  Empty tensors are left as they
    are, with the reason.  A pattern that matches no name, and a tensor named
    exactly in ``include`` that holds no floats, are errors naming it.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.pruning import layer_choice
    >>> layer_choice({"w": np.ones((2, 2)), "b": np.ones(2), "ids": np.arange(4)})
    {'w': None, 'b': '1-D: kept dense', 'ids': 'not float: kept'}
    >>> layer_choice({"fc.weight": np.ones((2, 2)), "fc.bias": np.ones(2)}, include=["fc*"])
    {'fc.weight': None, 'fc.bias': '1-D: kept dense (name it exactly in include to prune it)'}
    """
    names = list(weights)
    include, exclude = glob_patterns(include, "include"), glob_patterns(exclude, "exclude")
    for kind, patterns in (("include", include), ("exclude", exclude)):
        for pattern in patterns or ():
            if not fnmatch.filter(names, pattern):
                raise ValueError("%s pattern %r matches no tensor name (names: %s)"
                                 % (kind, pattern, ", ".join(names[:8])
                                    + (", ..." if len(names) > 8 else "")))
    choice = {}
    for name in names:
        value = weights[name]
        dtype, ndim, size = _describe(value)
        exact = _exactly_named(name, include)
        if include and not exact and not any(fnmatch.fnmatchcase(name, p) for p in include):
            choice[name] = "not included"
        elif any(fnmatch.fnmatchcase(name, p) for p in exclude or ()):
            choice[name] = "excluded"
        elif not is_float(dtype) and exact:
            raise ValueError("tensor %r is named in include but holds %s, not floats; "
                             "leave it out of include" % (name, dtype))
        elif not is_float(dtype):
            choice[name] = "not float: kept"
        elif size == 0:
            choice[name] = "empty: kept"
        elif ndim < 2 and not exact:
            choice[name] = "%d-D: kept dense%s" % (ndim, " (name it exactly in include to "
                                                         "prune it)" if include else "")
        else:
            choice[name] = None
    return choice


def glob_patterns(value, name):
    """``value`` as a list of str glob patterns, None for none; a TypeError
    naming ``name`` for a lone str (whose letters would be taken as
    patterns) or a pattern that is not a str.

    Examples
    --------
    >>> from wavesparse.pruning.choice import glob_patterns
    >>> glob_patterns(("fc*",), "include"), glob_patterns([], "exclude")
    (['fc*'], None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError("%s must be a list of glob patterns, got the str %r "
                        "(write [%r])" % (name, value, value))
    patterns = list(value)
    for p in patterns:
        if not isinstance(p, str):
            raise TypeError("%s must hold str glob patterns, got %r" % (name, p))
    return patterns or None


def _describe(value):
    """(dtype, ndim, size) of an array-like without copying it."""
    if not hasattr(value, "dtype") or not hasattr(value, "shape"):
        value = np.asarray(value)
    shape = tuple(value.shape)
    return np.dtype(value.dtype), len(shape), int(np.prod(shape))


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
    >>> select_layers(w, include=["fc1.bias"])
    ['fc1.bias']
    """
    return [n for n, why in layer_choice(weights, include, exclude).items() if why is None]
