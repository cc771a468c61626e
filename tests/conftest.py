"""Shared fixtures: the OpenCL session (skipped, with the reason, where none)
and the test-only extension (skipped where a build left it out).

With WAVESPARSE_REQUIRE_OPENCL=1 (CI sets it) a missing OpenCL device fails
the OpenCL tests instead of skipping them, so they cannot pass unseen; with
WAVESPARSE_REQUIRE_TESTING=1 (CI sets it too) so does a missing
wavesparse._testing.
"""

import os

import numpy as np
import pytest

from wavesparse import opencl
from _helpers import load_test_only


def _require_opencl():
    return os.environ.get("WAVESPARSE_REQUIRE_OPENCL") == "1"


@pytest.fixture(scope="session")
def cl_session():
    ok, reason = opencl.available()
    if not ok:
        if _require_opencl():
            pytest.fail("WAVESPARSE_REQUIRE_OPENCL=1 but OpenCL is unusable: "
                        + reason)
        pytest.skip("no OpenCL device: " + reason)
    return opencl.session()


@pytest.fixture(scope="session")
def hooks():
    """The test-only extension: C helpers and the OpenCL runtime's probes."""
    return load_test_only()


def backends():
    """The backends a test is run for: cpu always, opencl as a param."""
    return ["cpu", "opencl"]


@pytest.fixture(params=backends())
def backend(request):
    if request.param == "opencl":
        request.getfixturevalue("cl_session")
    return request.param


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def fp64_backend(backend, dtype):
    """(backend, dtype), skipping float64 on an OpenCL device without fp64."""
    if backend == "opencl" and dtype == np.float64 and not opencl.session().device.has_fp64:
        pytest.skip("the OpenCL device has no fp64")
    return backend, dtype
