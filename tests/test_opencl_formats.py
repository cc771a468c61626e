"""Dense to CSR/BSR and pruning on the OpenCL device: equal to the CPU path
bit for bit, on the inputs the CPU tests use."""

import numpy as np
import pytest

from wavesparse import OpenCLError, OpenCLMemoryError, formats, opencl
from wavesparse.opencl import DeviceArray


def parts(A):
    return [np.asarray(getattr(A, p)) for p in ("data", "indices", "indptr")]


def assert_bitwise_equal(a, b):
    assert a.shape == b.shape and a.format == b.format
    for x, y in zip(parts(a), parts(b)):
        assert x.dtype == y.dtype
        assert x.tobytes() == y.tobytes()


@pytest.fixture
def device_dtype(cl_session, dtype):
    if dtype == np.float64 and not cl_session.device.has_fp64:
        pytest.skip("the OpenCL device has no fp64")
    return dtype


def special_matrices(dtype):
    rng = np.random.default_rng(0)
    sparse = rng.standard_normal((37, 300)).astype(dtype)
    sparse[rng.random(sparse.shape) < 0.85] = 0
    sparse[::5] = 0  # empty rows
    tiny = np.finfo(dtype).tiny / 4  # subnormal
    special = np.array([[0.0, -0.0, np.inf, -np.inf], [tiny, -tiny, 1.0, 0.0]], dtype)
    return {"1x1": np.ones((1, 1), dtype), "zeros": np.zeros((5, 7), dtype),
            "special": special, "sparse": sparse,
            "odd": rng.standard_normal((257, 65)).astype(dtype),
            "F": np.asfortranarray(sparse)}


def test_csr_equals_cpu(device_dtype):
    for name, m in special_matrices(device_dtype).items():
        for kwargs in ({}, {"threshold": 0.5}, {"mask": np.arange(m.size).reshape(m.shape) % 3 == 0}):
            ours = formats.to_csr(m, backend="opencl", **kwargs)
            assert_bitwise_equal(ours, formats.to_csr(m, backend="cpu", **kwargs))


def test_csr_millions_and_int64(cl_session):
    rng = np.random.default_rng(1)
    m = rng.standard_normal((1500, 2000)).astype(np.float32)  # 3M elements
    m[rng.random(m.shape) < 0.9] = 0
    assert_bitwise_equal(formats.to_csr(m, backend="opencl"), formats.to_csr(m, backend="cpu"))
    wide = formats.to_csr(m[:50], backend="opencl", _index_limit=100)
    assert wide.indices.dtype == np.int64
    assert_bitwise_equal(wide, formats.to_csr(m[:50], backend="cpu", _index_limit=100))


@pytest.mark.parametrize("block", [(1, 1), (2, 3), (4, 4), (16, 16)])
@pytest.mark.parametrize("norm", [None, "l1", "l2"])
def test_bsr_equals_cpu(device_dtype, block, norm):
    rng = np.random.default_rng(block[0])
    m = rng.standard_normal((block[0] * 9, block[1] * 7)).astype(device_dtype)
    m[rng.random(m.shape) < 0.7] = 0
    m[: block[0]] = 0
    t = float(np.median(np.abs(m))) * block[0] * block[1] / 4
    ours = formats.to_bsr(m, block, norm=norm, threshold=t, backend="opencl")
    assert_bitwise_equal(ours, formats.to_bsr(m, block, norm=norm, threshold=t, backend="cpu"))


def test_bsr_pad_and_zeros(cl_session):
    m = np.random.default_rng(2).standard_normal((10, 7)).astype(np.float32)
    assert_bitwise_equal(formats.to_bsr(m, 4, pad=True, backend="opencl"),
                         formats.to_bsr(m, 4, pad=True, backend="cpu"))
    z = formats.to_bsr(np.zeros((8, 8), np.float32), 4, backend="opencl")
    assert z.nnz == 0 and list(z.indptr) == [0, 0, 0]


def test_nan_refused_before_any_kernel(cl_session, hooks):
    m = np.ones((64, 64), np.float32)
    m[3, 4] = np.nan
    before = hooks.live_objects()
    with opencl.profile() as kernels:
        for call in (lambda: formats.to_csr(m, backend="opencl"),
                     lambda: formats.to_bsr(m, 8, backend="opencl"),
                     lambda: DeviceArray(m)):
            with pytest.raises(ValueError, match="NaN"):
                call()
    assert kernels == [] and hooks.live_objects()["buffers"] == before["buffers"]


def test_device_array_prune_pack_multiply(cl_session):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((96, 80)).astype(np.float32)
    from wavesparse import MagnitudePruner
    expected, _ = MagnitudePruner(0.9).prune_layer(w)
    d = DeviceArray(w)
    with opencl.profile() as kernels:
        pruned = d.prune(0.9)
        A = pruned.to_csr()
    names = {name for name, _ in kernels}
    assert {"radix_histogram", "apply_threshold", "csr_count", "csr_fill"} <= names
    assert all(duration >= 0 for _, duration in kernels)  # profiling gave each a time
    np.testing.assert_array_equal(pruned.download(), expected)
    assert_bitwise_equal(A, formats.to_csr(expected, backend="cpu"))
    x = rng.standard_normal((5, 80)).astype(np.float32)
    np.testing.assert_allclose(pruned.sparse_linear()(x), x @ expected.T, rtol=1e-5, atol=1e-5)
    tied = DeviceArray(np.float32([1, 1, 1, 1, 2, 3]))
    np.testing.assert_array_equal(tied.prune(0.5).download(), [0, 0, 0, 1, 2, 3])


def test_device_array_checks(cl_session):
    with pytest.raises(ValueError, match="1 to 2\\*\\*31 - 1 elements"):
        DeviceArray(np.zeros(0, np.float32))
    d = DeviceArray(np.ones((6, 4), np.float32))
    with pytest.raises(ValueError, match="does not divide"):
        d.to_bsr(4)
    with pytest.raises(ValueError, match=r"k must be in \[0, 24\)"):
        d.rank_magnitude(24)


@pytest.mark.parametrize("what, code, error, name", [
    ("buffer", -4, OpenCLMemoryError, "CL_MEM_OBJECT_ALLOCATION_FAILURE"),
    ("build", -11, OpenCLError, "CL_BUILD_PROGRAM_FAILURE"),
])
def test_injected_faults_leave_no_device_memory(cl_session, hooks, what, code, error, name):
    m = np.random.default_rng(4).standard_normal((40, 30)).astype(np.float32)
    formats.to_csr(m, backend="opencl")  # programs built and cached before
    before = hooks.live_objects()
    if what == "build":
        # A new option set forces a build, which the hook fails.
        hooks.inject_failure("build", code)
        with pytest.raises(error, match=name):
            opencl.get_program(cl_session, "convert.cl", "-DREAL=float -DINDEX=int "
                               "-DACC=float -DWAVE=64 -DSCAN=256 -DKEEP=1 -DWS_FAULT_TEST")
    else:
        hooks.inject_failure("buffer", code)
        with pytest.raises(error, match=name):
            formats.to_csr(m, backend="opencl")
    import gc
    gc.collect()
    after = hooks.live_objects()
    assert after["buffers"] == before["buffers"] and after["buffer_bytes"] == before["buffer_bytes"]


def test_device_array_argument_errors(cl_session):
    """0-d arrays were an IndexError; sparse_linear("coo") built a BSR (item 16)."""
    scalar = opencl.DeviceArray(np.float32(3))
    for pack in (scalar.to_csr, lambda: scalar.to_bsr(1)):
        with pytest.raises(ValueError, match="0-d DeviceArray cannot be packed"):
            pack()
    d = opencl.DeviceArray(np.ones((4, 4), np.float32))
    with pytest.raises(ValueError, match="format must be 'csr' or 'bsr', got 'coo'"):
        d.sparse_linear("coo")
    with pytest.raises(TypeError, match="format must be 'csr' or 'bsr', got 3"):
        d.sparse_linear(3)
