"""pytest's view of the installed package (``pytest --doctest-modules
--pyargs wavesparse``): the doctests of :mod:`wavesparse.torch` need PyTorch,
an optional extra, and are left out where it does not import, unless
``WAVESPARSE_REQUIRE_TORCH=1`` (CI sets it) makes its absence an error."""

import os

collect_ignore = []
try:
    import torch  # noqa: F401
except ImportError:
    if os.environ.get("WAVESPARSE_REQUIRE_TORCH") != "1":
        collect_ignore.append("torch")
