"""wavesparse.ops against numpy: exact thresholds and masks, every backend."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from wavesparse import OpenCLUnavailable, formats, ops
from _helpers import layouts


def oracle_threshold(w, t):
    with np.errstate(over="ignore"):  # t past float32's range compares as inf
        keep = np.abs(w) >= w.dtype.type(t)
    return np.where(keep, w, w.dtype.type(0)), keep


def oracle_kth(arrays, k):
    flat = np.concatenate([np.abs(a).ravel() for a in arrays])
    value = np.partition(flat, k)[k]
    return value, int(np.count_nonzero(flat == value))


# ---------------------------------------------------------------- selection

SPECIAL = {
    "all-equal": np.full(1000, -0.25),
    "all-zero": np.zeros(777),
    "signed-zeros": np.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0]),
    "infinities": np.array([np.inf, -np.inf, 1.0, -2.0, 0.0, np.inf]),
    "subnormals": np.array([5e-324, -1e-310, 2.2e-308, 0.0, -5e-324, 1e-300]),
    "one": np.array([-3.5]),
    "mixed-sign": np.array([-1.0, 1.0, -2.0, 2.0, -1.0, 0.5, -0.5]),
}


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_kth_special_values_every_k(name, dtype):
    w = SPECIAL[name].astype(dtype)
    if dtype == np.float32 and name == "subnormals":
        w = np.array([1e-45, -1e-40, 1.17e-38, 0.0, -1e-45, 1e-30], np.float32)
    for k in range(w.size):
        value, count = ops.kth_magnitude(w, k)
        expected, expected_count = oracle_kth([w], k)
        assert value.dtype == dtype
        assert value == expected and count == expected_count, (k, value, expected)


@pytest.mark.parametrize("n", [1, 2, 1000, 65537, 3_000_001])
def test_kth_random_edges(n, dtype):
    rng = np.random.default_rng(n)
    w = (rng.standard_normal(n) * rng.choice([1e-3, 1.0, 1e3], n)).astype(dtype)
    for k in sorted({0, 1 % n, n // 2, (9 * n) // 10, n - 1}):
        assert ops.kth_magnitude(w, k) == oracle_kth([w], k)


def test_kth_few_candidates_path_float64():
    # Many distinct values in one top-digit bucket, then a second digit.
    rng = np.random.default_rng(3)
    w = 1.0 + rng.random(500_000) * 1e-6
    w[::7] *= -1
    for k in (0, 123_456, 499_999):
        assert ops.kth_magnitude(w, k) == oracle_kth([w], k)


MANY_THREADS = r"""
import numpy as np
from wavesparse import _select, ops
w = np.random.default_rng(11).standard_normal(20_000_000)
w[::5] *= 1e-3  # a second cluster of magnitudes, far below the first
flat = np.abs(w)
for k in (0, 1_234_567, 10_000_000, 18_000_000, w.size - 1):
    value = np.partition(flat, k)[k]
    assert ops.kth_magnitude(w, k) == (value, int(np.count_nonzero(flat == value))), k
print(_select.max_threads())
"""


def test_kth_float64_on_more_than_256_threads():
    # 20M elements give work for 305 threads, so all 300 run; every per-thread
    # table must follow the thread count (it once stopped at 256).
    import os
    import subprocess
    import sys
    from wavesparse import _select
    if _select.max_threads() == 1:
        pytest.skip("this build has no OpenMP: its kernels run on one thread")
    env = dict(os.environ, OMP_NUM_THREADS="300")
    done = subprocess.run([sys.executable, "-c", MANY_THREADS], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["300"]


def test_kth_layouts(dtype):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((37, 53)).astype(dtype)
    for name, w in layouts(base).items():
        for k in (0, 1000, base.size - 1):
            assert ops.kth_magnitude(w, k) == oracle_kth([base], k), name
    w3 = rng.standard_normal((4, 6, 5)).astype(dtype)[:, ::2, 1:]
    assert ops.kth_magnitude(w3, 17) == oracle_kth([w3], 17)


def test_kth_many_arrays_equals_concatenation():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) * scale
              for s, scale in [((64, 32), 0.1), ((100,), 3.0), ((8, 4, 3), 1.0),
                               ((0,), 1.0), ((300, 7), 0.01)]]
    arrays[3] = np.zeros(0, np.float32)
    arrays[0] = np.asfortranarray(arrays[0])
    n = sum(a.size for a in arrays)
    for k in (0, 5, n // 3, n - 1):
        assert ops.kth_magnitude(arrays, k) == oracle_kth(arrays, k)


def test_kth_mixed_dtypes_read_as_float64():
    a = np.float32([0.1, -3.0])
    b = np.float64([0.2, 0.1])
    value, count = ops.kth_magnitude([a, b], 1)
    assert value.dtype == np.float64
    assert value == np.float64(np.float32(0.1)) and count == 1


@given(hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  hnp.array_shapes(min_dims=1, max_dims=3, max_side=20),
                  elements=st.floats(allow_nan=False, width=32)),
       st.data())
@settings(max_examples=60, deadline=None)
def test_kth_property(w, data):
    k = data.draw(st.integers(0, w.size - 1))
    assert ops.kth_magnitude(w, k) == oracle_kth([w], k)


@pytest.mark.parametrize("k", [-1, 10, 11])
def test_kth_rank_outside_range(k):
    with pytest.raises(ValueError, match=r"k must be in \[0, 10\)"):
        ops.kth_magnitude(np.ones(10), k)


def test_kth_refuses_nan_and_bad_input():
    w = np.ones(100_000, np.float32)
    w[77_777] = np.nan
    with pytest.raises(ValueError, match="w holds NaN"):
        ops.kth_magnitude(w, 5)
    with pytest.raises(TypeError, match="float32 or float64"):
        ops.kth_magnitude(np.arange(5), 1)
    with pytest.raises(TypeError, match="k must be an integer"):
        ops.kth_magnitude(np.ones(5), 1.5)
    with pytest.raises(TypeError, match="non-empty list"):
        ops.kth_magnitude([], 0)


# ---------------------------------------------------------------- thresholds

@pytest.mark.parametrize("n", [0, 1, 7, 1001, 65_536 * 3 + 5])
def test_threshold_sizes(fp64_backend, n):
    backend, dtype = fp64_backend
    rng = np.random.default_rng(n)
    w = rng.standard_normal(n).astype(dtype)
    pruned, mask = ops.apply_threshold(w, 0.7, backend=backend)
    expected, keep = oracle_threshold(w, 0.7)
    assert pruned.dtype == dtype and mask.dtype == np.bool_
    np.testing.assert_array_equal(pruned, expected)
    np.testing.assert_array_equal(mask, keep)


def test_threshold_layouts(fp64_backend):
    backend, dtype = fp64_backend
    rng = np.random.default_rng(5)
    base = rng.standard_normal((33, 17)).astype(dtype)
    expected, keep = oracle_threshold(base, 0.5)
    for name, w in layouts(base).items():
        pruned, mask = ops.apply_threshold(w, 0.5, backend=backend)
        np.testing.assert_array_equal(pruned, expected, err_msg=name)
        np.testing.assert_array_equal(mask, keep, err_msg=name)
        if name == "F":
            assert pruned.flags.f_contiguous
    w4 = rng.standard_normal((3, 4, 5, 6)).astype(dtype)[:, :, ::2]
    pruned, mask = ops.apply_threshold(w4, 1.0, backend=backend)
    np.testing.assert_array_equal(pruned, oracle_threshold(w4, 1.0)[0])


def test_threshold_special_values(fp64_backend):
    backend, dtype = fp64_backend
    w = np.array([0.0, -0.0, np.inf, -np.inf, 1.0, -1.0, 0.999, 1e-30],
                 dtype=dtype)
    for t in (0.0, 1.0, np.inf, -1.0, 1e300):
        pruned, mask = ops.apply_threshold(w, t, backend=backend)
        expected, keep = oracle_threshold(w, t)
        np.testing.assert_array_equal(pruned, expected)
        np.testing.assert_array_equal(mask, keep)


def test_threshold_large_opencl_equals_cpu(cl_session):
    rng = np.random.default_rng(11)
    w = rng.standard_normal(24_000_003).astype(np.float32)
    on_device = ops.apply_threshold(w, 1.5, backend="opencl")
    on_cpu = ops.apply_threshold(w, 1.5, backend="cpu")
    np.testing.assert_array_equal(on_device[0], on_cpu[0])
    np.testing.assert_array_equal(on_device[1], on_cpu[1])
    assert on_cpu[1].sum() == np.count_nonzero(np.abs(w) >= 1.5)


def test_threshold_refuses_nan(backend):
    w = np.ones(1000)
    w[500] = np.nan
    with pytest.raises(ValueError, match="w holds NaN"):
        ops.apply_threshold(w, 0.5, backend=backend)
    with pytest.raises(ValueError, match="t must not be NaN"):
        ops.apply_threshold(np.ones(3), np.nan, backend=backend)


@pytest.mark.parametrize("bad", [["a", "b"], np.array([1, 2]), None,
                                 np.array([1 + 2j])])
def test_threshold_refuses_non_float(bad):
    with pytest.raises(TypeError, match="w must"):
        ops.apply_threshold(bad, 0.5)


def test_backend_name_checked():
    with pytest.raises(ValueError, match="backend must be"):
        ops.apply_threshold(np.ones(3), 0.5, backend="cuda")


def test_auto_stays_on_cpu_for_small_work():
    pruned, _ = ops.apply_threshold(np.float32([3, 0.1]), 1.0, backend="auto")
    np.testing.assert_array_equal(pruned, [3, 0])


def test_forced_opencl_without_library_says_why(monkeypatch):
    monkeypatch.setenv("WAVESPARSE_OPENCL_LIBRARY", "/nonexistent/libOpenCL-bogus.so")
    with pytest.raises(OpenCLUnavailable, match="/nonexistent/libOpenCL-bogus.so"):
        ops.apply_threshold(np.ones(4), 0.5, backend="opencl")
    pruned, mask = ops.apply_threshold(np.float32([1, 0.2]), 0.5, backend="cpu")
    np.testing.assert_array_equal(mask, [True, False])
    pruned, mask = ops.apply_threshold(np.float32([1, 0.2]), 0.5, backend="auto")
    np.testing.assert_array_equal(mask, [True, False])


# ---------------------------------------------------------------- selection on OpenCL

@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_kth_opencl_special_values_equal_cpu(cl_session, name, dtype):
    from wavesparse import opencl
    if dtype == np.float64 and not opencl.session().device.has_fp64:
        pytest.skip("the OpenCL device has no fp64")
    w = SPECIAL[name].astype(dtype)
    for k in sorted({0, w.size // 2, w.size - 1}):
        assert ops.rank_magnitude(w, k, "opencl") == ops.rank_magnitude(w, k, "cpu")


@pytest.mark.parametrize("n", [1, 255, 257, 3_000_017])
def test_kth_opencl_sizes_and_many_arrays(cl_session, n):
    rng = np.random.default_rng(n)
    w = (rng.standard_normal(n) * rng.choice([1e-3, 1.0, 1e3], n)).astype(np.float32)
    for k in sorted({0, n // 3, n - 1}):
        assert ops.rank_magnitude(w, k, "opencl") == ops.rank_magnitude(w, k, "cpu")
    parts = [w[: n // 2], np.asfortranarray(rng.standard_normal((7, 5)).astype(np.float32))]
    total = sum(p.size for p in parts)
    assert ops.rank_magnitude(parts, total // 2, "opencl") == ops.rank_magnitude(
        parts, total // 2, "cpu")


def test_kth_opencl_refuses_nan_before_any_kernel(cl_session, hooks):
    w = np.ones(1000, np.float32)
    w[3] = np.nan
    before = hooks.live_objects()
    with pytest.raises(ValueError, match="w holds NaN"):
        ops.kth_magnitude(w, 5, backend="opencl")
    assert hooks.live_objects()["buffers"] == before["buffers"]


def test_pruner_on_opencl_equals_cpu(cl_session):
    from wavesparse import MagnitudePruner
    w = np.random.default_rng(3).standard_normal((300, 200)).astype(np.float32)
    w[::7] = 0.25  # ties at the threshold
    on_device = MagnitudePruner(0.8, backend="opencl").prune_layer(w)
    on_cpu = MagnitudePruner(0.8, backend="cpu").prune_layer(w)
    np.testing.assert_array_equal(on_device[1], on_cpu[1])
    np.testing.assert_array_equal(on_device[0], on_cpu[0])


@pytest.mark.parametrize("dtype_", [np.float32, np.float64])
def test_kth_sample_guided_pass_and_its_fallbacks(dtype_):
    # Large enough for the sampled first pass; a cluster between the sampled
    # runs, and half zeros, make the sample wrong or the range too wide: the
    # result must not depend on which path was taken.
    rng = np.random.default_rng(9)
    n = 4_000_000
    w = rng.standard_normal(n).astype(dtype_)
    for k in (0, n // 10, n // 2, n - 1):
        assert ops.kth_magnitude(w, k) == oracle_kth([w], k)
    clustered = w.copy()
    clustered[2_040_000:2_090_000] = dtype_(0.6744897)  # between two sampled runs
    sorted_w = np.sort(w)
    half_zero = w.copy()
    half_zero[::2] = 0
    for case in (clustered, sorted_w, half_zero):
        for k in (n // 2 - 1, n // 2, (3 * n) // 4):
            assert ops.kth_magnitude(case, k) == oracle_kth([case], k)


@pytest.mark.parametrize("t", [1.00000001, np.float64(1.00000001), np.float64(0.99999999),
                               1e39, np.float64(1e39), np.int64(2 ** 40), np.float32(1.0)],
                         ids=repr)
def test_threshold_compares_as_numpy_does(backend, t):
    """A float32 weight of 1.0 was kept at t = np.float64(1.00000001), which numpy
    prunes: every threshold now keeps numpy's elements (issue 14, item 17)."""
    w = np.float32([1.0, -1.0, 1.0000001, 0.5, 3e38, np.inf])
    with np.errstate(over="ignore"):
        expected = np.abs(w) >= t
    pruned, mask = ops.apply_threshold(w, t, backend=backend)
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(pruned, np.where(expected, w, 0))
    A = formats.to_csr(w, threshold=t, backend=backend)
    np.testing.assert_array_equal(A.toarray()[0] != 0, expected)
