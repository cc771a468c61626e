"""Which tensors of a model a pruner prunes: the include/exclude rule that
every pruner and the command line share."""

import fnmatch

import numpy as np

from wavesparse.halfs import is_float

__all__ = ["layer_choice", "select_layers"]


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
        floating = is_float(np.asarray(value).dtype)
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
