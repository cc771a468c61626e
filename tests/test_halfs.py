"""float16 and bfloat16 on the CPU path: selection, thresholds, pruners, formats.

Oracles: numpy's partition, comparisons and a stable argsort on the exact
float32 upcast of the 16-bit values.
"""

import ml_dtypes
import numpy as np
import pytest

from wavesparse import MagnitudePruner, formats, halfs, ops

HALVES = [np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]


def special(dtype):
    """Ties, +-0, +-inf, subnormals and the extremes of ``dtype``, shuffled."""
    info = ml_dtypes.finfo(dtype)
    values = [0.0, -0.0, np.inf, -np.inf, float(info.smallest_subnormal),
              -float(info.smallest_subnormal), 2 * float(info.smallest_subnormal),
              float(info.smallest_normal), float(info.max), -float(info.max),
              1.0, -1.0, 1.0, 0.5, -0.5, 3.0]
    rng = np.random.default_rng(1)
    return rng.permutation(np.array(values * 3, dtype=np.float32)).astype(dtype)


def random_bits(dtype, n, seed):
    """Every kind of 16-bit value (NaN excepted): uniformly random bits."""
    bits = np.random.default_rng(seed).integers(0, 1 << 16, n, dtype=np.uint16)
    keys = bits & 0x7FFF
    bits[keys > halfs.inf_key(dtype)] &= 0x00FF  # NaN patterns -> small values
    return bits.view(dtype)


def check_rank(arrays, k):
    wide = np.concatenate([np.abs(a.astype(np.float32)).ravel() for a in arrays])
    expected = np.partition(wide, k)[k]
    value, n_below, n_equal = ops.rank_magnitude(arrays, k, backend="cpu")
    assert value.dtype == arrays[0].dtype
    assert np.float32(value) == expected
    assert n_below == np.count_nonzero(wide < expected)
    assert n_equal == np.count_nonzero(wide == expected)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_selection_equals_partition_on_special_values(dtype):
    w = special(dtype)
    for k in range(w.size):
        check_rank([w], k)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_selection_over_many_strided_arrays_equals_partition(dtype):
    a = random_bits(dtype, 3000, 2).reshape(50, 60)
    b = np.asfortranarray(random_bits(dtype, 400, 3).reshape(20, 20))
    c = random_bits(dtype, 999, 4)[::3]
    arrays = [a[:, ::2], b, c]
    n = sum(x.size for x in arrays)
    for k in (0, 1, n // 3, n // 2, n - 2, n - 1):
        check_rank(arrays, k)
    assert ops.kth_magnitude(arrays, n // 2)[0] == ops.rank_magnitude(arrays, n // 2)[0]


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_nan_is_refused(dtype):
    w = np.array([1.0, np.nan, 2.0], dtype=dtype)
    with pytest.raises(ValueError, match="NaN"):
        ops.kth_magnitude(w, 0)
    with pytest.raises(ValueError, match="NaN"):
        ops.apply_threshold(w, 1.0)
    hist = np.zeros(halfs.KEYS, np.int64)
    with pytest.raises(ValueError, match="NaN"):
        halfs.histogram([np.ones(3, dtype), w], hist)
    assert not hist.any()


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_threshold_keeps_exactly_the_magnitudes_at_or_above(dtype):
    w = np.concatenate([special(dtype), random_bits(dtype, 2000, 5)]).reshape(-1, 4)
    wide = w.astype(np.float32)
    for t in (-1.0, 0.0, 1e-40, 0.5, 0.50001, 1.0, 1.0 - 1e-7, 3.0, 1e30, np.inf):
        pruned, mask = ops.apply_threshold(w, t)
        keep = np.abs(wide.astype(np.float64)) >= t
        assert pruned.dtype == dtype and pruned.shape == w.shape
        np.testing.assert_array_equal(mask, keep)
        np.testing.assert_array_equal(pruned.astype(np.float32), np.where(keep, wide, 0))


@pytest.mark.parametrize("dtype", HALVES, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
def test_prune_ties_prunes_the_first_ties_by_position(dtype, threads):
    """Over several C chunks (65536 elements each): |w| < value pruned, and of
    |w| == value exactly the first ``ties`` in C order; against a written-out
    oracle (np.flatnonzero gives the positions in order)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(threads, user_api="openmp"):
        check_prune_ties(dtype, np.random.default_rng(threads))


def check_prune_ties(dtype, rng):
    w = rng.choice(np.float32([0.25, -0.5, 0.5, 1.0, -1.0, 2.0, -0.0]), 7 * 28098)
    w = w.astype(dtype).reshape(-1, 7)
    wide = np.abs(w.astype(np.float32)).ravel()
    equal = np.flatnonzero(wide == 0.5)
    for ties in (1, 5, 65536 - 3, 65536 + 9, equal.size - 1, equal.size, equal.size + 40):
        pruned, mask, used = halfs.prune_ties(w, dtype.type(0.5), ties)
        keep = wide >= 0.5
        keep[equal[:ties]] = False
        assert used == min(ties, equal.size)
        np.testing.assert_array_equal(mask.ravel(), keep)
        np.testing.assert_array_equal(pruned.ravel().view(np.uint16),
                                      np.where(keep, w.ravel().view(np.uint16), 0))
    fortran = np.asfortranarray(w)
    _, mask, _ = halfs.prune_ties(fortran, dtype.type(0.5), 10)
    assert np.flatnonzero(~mask.ravel() & (wide == 0.5))[-1] == equal[9]


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_prune_ties_refuses_what_it_would_misread(dtype):
    """A negative ties was taken as 0, 2.5 as 2, a float32 value the 16-bit
    dtype rounds (1.0001 -> 1) silently moved the threshold onto the 1s, a
    float32 w failed inside numpy, and ties past a C long overflowed.
    Oracle for the last: every |w| <= 1 pruned, written out."""
    w = np.float32([1, -1, 0.5, 1, 3]).astype(dtype)
    for error, message, value, ties in ((ValueError, "ties must be >= 0", 1, -1),
                                        (TypeError, "ties must be an integer", 1, 2.5),
                                        (ValueError, "holds exactly", np.float32(1.0001), 1),
                                        (ValueError, "magnitude", -1.0, 1),
                                        (ValueError, "magnitude", float("nan"), 1)):
        with pytest.raises(error, match=message):
            halfs.prune_ties(w, value, ties)
    with pytest.raises(TypeError, match="w must be a float16 or bfloat16 ndarray"):
        halfs.prune_ties(np.float32([1, 2]), np.float32(1), 1)
    pruned, mask, used = halfs.prune_ties(w, dtype.type(1), 10 ** 20)
    np.testing.assert_array_equal(mask, [False, False, False, False, True])
    assert used == 3 and pruned.astype(np.float32).tolist() == [0, 0, 0, 0, 3]


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_opencl_backend_is_refused_for_16_bit(dtype):
    with pytest.raises(TypeError, match="16-bit"):
        ops.kth_magnitude(np.ones(4, dtype), 0, backend="opencl")
    with pytest.raises(TypeError, match="16-bit"):
        ops.apply_threshold(np.ones(4, dtype), 0.5, backend="opencl")


def stable_masks(arrays, k):
    """Oracle: the k first of a stable sort of all |w| (lower index first)."""
    wide = np.concatenate([np.abs(a.astype(np.float32)).ravel() for a in arrays])
    keep = np.ones(wide.size, bool)
    keep[np.argsort(wide, kind="stable")[:k]] = False
    return np.split(keep, np.cumsum([a.size for a in arrays])[:-1])


@pytest.mark.parametrize("dtype", HALVES, ids=str)
@pytest.mark.parametrize("scope", ["local", "global"])
def test_magnitude_pruner_keeps_dtype_and_follows_the_tie_rule(dtype, scope):
    rng = np.random.default_rng(6)
    # Few distinct values: ties everywhere, as in real 16-bit checkpoints.
    model = {"a": rng.integers(-8, 9, (30, 40)).astype(dtype),
             "b": rng.integers(-8, 9, (7, 5, 9)).astype(dtype),
             "norm": np.ones(40, dtype)}
    pruned, masks = MagnitudePruner(0.6, scope=scope).prune_model(model)
    chosen = ["a", "b"]
    if scope == "global":
        k = round(0.6 * sum(model[n].size for n in chosen))
        expected = dict(zip(chosen, stable_masks([model[n] for n in chosen], k)))
    else:
        expected = {n: stable_masks([model[n]], round(0.6 * model[n].size))[0]
                    for n in chosen}
    for n in chosen:
        assert pruned[n].dtype == dtype
        np.testing.assert_array_equal(masks[n].ravel(), expected[n])
        np.testing.assert_array_equal(pruned[n].astype(np.float32),
                                      np.where(masks[n], model[n].astype(np.float32), 0))
    assert pruned["norm"] is model["norm"]


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_other_pruners_run_on_float32_and_give_the_dtype_back(dtype):
    from wavesparse.pruning import registry
    w = np.random.default_rng(7).standard_normal((16, 16)).astype(dtype)
    pruned, mask = registry.get("block")(0.5).prune_layer(w)
    assert pruned.dtype == dtype
    np.testing.assert_array_equal(pruned.astype(np.float32),
                                  np.where(mask, w.astype(np.float32), 0))


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_csr_and_bsr_hold_the_16_bit_values_exactly_as_float32(dtype):
    w = np.where(np.arange(64).reshape(8, 8) % 3 == 0, random_bits(dtype, 64, 8).reshape(8, 8),
                 np.zeros((8, 8), dtype))
    w[~np.isfinite(w.astype(np.float32))] = 1
    A = formats.to_csr(w)
    assert A.dtype == np.float32
    nonzero = w.astype(np.float32) != 0
    np.testing.assert_array_equal(A.data.astype(dtype).view(np.uint16),
                                  w[nonzero].view(np.uint16))
    B = formats.to_bsr(w, 2)
    np.testing.assert_array_equal(B.toarray().astype(dtype).view(np.uint16) & 0x7FFF,
                                  w.view(np.uint16) & 0x7FFF)
