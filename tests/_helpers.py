"""Helpers the tests share (tests/ is on sys.path through pytest's pythonpath)."""

import importlib
import os

import numpy as np
import pytest

# Modules built with install_tag 'tests': a build may leave them out.
TEST_ONLY_MODULES = ("wavesparse._testing",)


def load_test_only(name="wavesparse._testing"):
    """A test-only module, else a skip (a failure with WAVESPARSE_REQUIRE_TESTING=1)."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        reason = ("the test-only extension %s is not installed (a build without "
                  "the 'tests' install tag): %s" % (name, error))
        if os.environ.get("WAVESPARSE_REQUIRE_TESTING") == "1":
            pytest.fail("WAVESPARSE_REQUIRE_TESTING=1 but " + reason)
        pytest.skip(reason)


def require_torch():
    """torch, else a skip (a failure with WAVESPARSE_REQUIRE_TORCH=1, as CI sets)."""
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        reason = "torch is not installed (the 'torch' extra): %s" % error
        if os.environ.get("WAVESPARSE_REQUIRE_TORCH") == "1":
            pytest.fail("WAVESPARSE_REQUIRE_TORCH=1 but " + reason)
        pytest.skip(reason, allow_module_level=True)


def layouts(array):
    """The same values as C-ordered, F-ordered, strided and reversed arrays."""
    out = {"C": np.ascontiguousarray(array), "F": np.asfortranarray(array)}
    padded = np.zeros(tuple(2 * s for s in array.shape), array.dtype)
    padded[tuple(slice(None, None, 2) for _ in array.shape)] = array
    out["strided"] = padded[tuple(slice(None, None, 2) for _ in array.shape)]
    out["reversed"] = np.ascontiguousarray(array[::-1])[::-1]
    return out
