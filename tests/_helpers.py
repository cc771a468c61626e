"""Helpers the tests share (tests/ is on sys.path through pytest's pythonpath)."""

import numpy as np


def layouts(array):
    """The same values as C-ordered, F-ordered, strided and reversed arrays."""
    out = {"C": np.ascontiguousarray(array), "F": np.asfortranarray(array)}
    padded = np.zeros(tuple(2 * s for s in array.shape), array.dtype)
    padded[tuple(slice(None, None, 2) for _ in array.shape)] = array
    out["strided"] = padded[tuple(slice(None, None, 2) for _ in array.shape)]
    out["reversed"] = np.ascontiguousarray(array[::-1])[::-1]
    return out
