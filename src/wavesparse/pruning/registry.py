"""The pruners the command line offers, by name.

A pruner class becomes ``wavesparse prune --method NAME`` by ``@register``:
its ``name`` is the method's, its ``summary`` the help line, and its
``add_arguments``/``from_arguments`` class methods its own options.

Examples
--------
>>> from wavesparse.pruning import registry
>>> "magnitude" in registry.names()
True
>>> registry.get("magnitude").__name__
'MagnitudePruner'
"""

__all__ = ["register", "get", "names"]

_PRUNERS = {}


def register(cls):
    """Class decorator: offer ``cls`` as ``--method cls.name``.

    Examples
    --------
    >>> from wavesparse.pruning import Pruner, registry
    >>> @registry.register
    ... class Nothing(Pruner):
    ...     name = "example-nothing"
    ...     def layer_mask(self, name, w, prior, target):
    ...         return prior if prior is not None else w == w
    >>> registry.get("example-nothing") is Nothing
    True
    >>> registry.unregister("example-nothing")
    """
    if not isinstance(getattr(cls, "name", None), str) or not cls.name:
        raise TypeError("a registered pruner needs a non-empty str `name`, %s has %r"
                        % (cls.__name__, getattr(cls, "name", None)))
    if cls.name in _PRUNERS and _PRUNERS[cls.name] is not cls:
        raise ValueError("a pruner named %r is registered already (%s)"
                         % (cls.name, _PRUNERS[cls.name].__name__))
    _PRUNERS[cls.name] = cls
    return cls


def unregister(name):
    """Remove the pruner registered as ``name`` (for tests and examples)."""
    _PRUNERS.pop(name, None)


def get(name):
    """The pruner class registered as ``name``; ValueError naming the choices."""
    try:
        return _PRUNERS[name]
    except KeyError:
        raise ValueError("method must be one of %s, got %r"
                         % (", ".join(names()), name)) from None


def names():
    """The registered names, in registration order."""
    return list(_PRUNERS)
