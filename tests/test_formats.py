"""wavesparse.formats against scipy.sparse's own construction."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from wavesparse import formats
from _helpers import layouts


def sparse_matrix(shape, density, dtype, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal(shape).astype(dtype)
    m[rng.random(shape) >= density] = 0
    return m


def assert_same_csr(ours, theirs):
    assert isinstance(ours, sp.csr_array)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)
    assert ours.has_canonical_format and ours.has_sorted_indices


SHAPES = {"1x1": (1, 1), "tall": (301, 7), "wide": (5, 513), "square": (64, 64),
          "empty-rows": (40, 30)}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_csr_equals_scipy(name, dtype):
    m = sparse_matrix(SHAPES[name], 0.3, dtype, seed=len(name))
    if name == "empty-rows":
        m[::3] = 0
    for layout, view in layouts(m).items():
        assert_same_csr(formats.to_csr(view), sp.csr_array(m))


def test_csr_empty_and_all_zero(dtype):
    for shape in [(0, 0), (0, 5), (5, 0), (4, 6)]:
        m = np.zeros(shape, dtype)
        ours = formats.to_csr(m)
        assert_same_csr(ours, sp.csr_array(m))
        assert ours.nnz == 0


def test_csr_fused_threshold_and_mask(dtype):
    m = sparse_matrix((50, 70), 0.8, dtype, seed=4)
    ours = formats.to_csr(m, threshold=0.9)
    assert_same_csr(ours, sp.csr_array(np.where(np.abs(m) >= dtype.type(0.9), m, 0)))
    mask = np.random.default_rng(9).random(m.shape) < 0.5
    ours = formats.to_csr(np.asfortranarray(m), mask=mask)
    assert_same_csr(ours, sp.csr_array(np.where(mask, m, 0)))
    ours = formats.to_csr(m, mask=np.asfortranarray(mask)[:, :])
    assert_same_csr(ours, sp.csr_array(np.where(mask, m, 0)))


def test_csr_one_dimensional_is_one_row():
    v = np.float32([0, 1, 0, -2])
    assert_same_csr(formats.to_csr(v), sp.csr_array(v.reshape(1, -1)))


def test_csr_has_no_copy_and_int64_path():
    m = sparse_matrix((30, 40), 0.2, np.float32, seed=2)
    ours = formats.to_csr(m)
    assert ours.indices.dtype == np.int32
    wide = formats.to_csr(m, _index_limit=20)
    assert wide.indices.dtype == np.int64 and wide.indptr.dtype == np.int64
    np.testing.assert_array_equal(wide.toarray(), m)
    np.testing.assert_array_equal(wide.indices, sp.csr_array(m).indices)
    # scipy keeps the kernels' arrays: building over them copied nothing.
    data = ours.data
    rebuilt = sp.csr_array((data, ours.indices, ours.indptr), shape=ours.shape)
    assert np.shares_memory(rebuilt.data, data)


def test_csr_special_values():
    m = np.array([[0.0, -0.0, np.inf], [-np.inf, 1e-320, 0.0]])
    assert_same_csr(formats.to_csr(m), sp.csr_array(m))


def test_csr_refuses_bad_input():
    m = np.ones((3, 3))
    m[1, 1] = np.nan
    with pytest.raises(ValueError, match="dense holds NaN"):
        formats.to_csr(m)
    with pytest.raises(ValueError, match="1 or 2 dimension"):
        formats.to_csr(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="not both"):
        formats.to_csr(np.ones((2, 2)), threshold=1, mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match="mask must have the shape"):
        formats.to_csr(np.ones((2, 2)), mask=np.ones((2, 3)))


@given(hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=30),
                  elements=st.sampled_from([0.0, 0.0, 1.0, -2.5, 1e-30])))
@settings(max_examples=60, deadline=None)
def test_csr_property(m):
    assert_same_csr(formats.to_csr(m), sp.csr_array(m))


# ---------------------------------------------------------------- BSR

def assert_same_bsr(ours, theirs):
    assert isinstance(ours, sp.bsr_array)
    assert ours.shape == theirs.shape and ours.blocksize == theirs.blocksize
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)
    assert ours.has_canonical_format


@pytest.mark.parametrize("block", [(1, 1), (2, 3), (4, 4), (16, 16), (8, 1)])
def test_bsr_equals_scipy(block, dtype):
    r, c = block
    rng = np.random.default_rng(r * 10 + c)
    m = sparse_matrix((r * 9, c * 7), 0.05, dtype, seed=r + c)
    m[: r * 2] = 0
    for layout, view in layouts(m).items():
        theirs = sp.bsr_array(m, blocksize=block)
        theirs.eliminate_zeros()  # scipy keeps all-zero blocks of dense input
        theirs.sort_indices()
        assert_same_bsr(formats.to_bsr(view, block), theirs)
    assert rng is not None


def test_bsr_block_pruning_by_norm():
    rng = np.random.default_rng(3)
    m = rng.standard_normal((8, 12))
    blocks = m.reshape(4, 2, 3, 4).transpose(0, 2, 1, 3)
    l1 = np.abs(blocks).sum(axis=(2, 3))
    l2 = np.sqrt((blocks ** 2).sum(axis=(2, 3)))
    for norm, values in (("l1", l1), ("l2", l2)):
        t = np.median(values)
        ours = formats.to_bsr(m, (2, 4), norm=norm, threshold=t)
        keep = np.repeat(np.repeat(values >= t, 2, axis=0), 4, axis=1)
        np.testing.assert_array_equal(ours.toarray(), np.where(keep, m, 0))
        assert ours.nnz == keep.sum()


def test_bsr_pad_and_divisibility():
    m = sparse_matrix((10, 7), 0.5, np.float32, seed=1)
    with pytest.raises(ValueError, match=r"blocksize \(4, 4\) does not divide the shape \(10, 7\)"):
        formats.to_bsr(m, 4)
    ours = formats.to_bsr(m, 4, pad=True)
    assert ours.shape == (12, 8)
    padded = np.zeros((12, 8), np.float32)
    padded[:10, :7] = m
    theirs = sp.bsr_array(padded, blocksize=(4, 4))
    theirs.eliminate_zeros()
    theirs.sort_indices()
    assert_same_bsr(ours, theirs)


def test_bsr_empty_and_int64():
    ours = formats.to_bsr(np.zeros((0, 8)), (2, 4))
    assert ours.shape == (0, 8) and ours.nnz == 0
    ours = formats.to_bsr(np.zeros((4, 8)), (2, 4))
    assert ours.nnz == 0 and list(ours.indptr) == [0, 0, 0]
    m = sparse_matrix((16, 16), 0.3, np.float64, seed=5)
    wide = formats.to_bsr(m, 4, _index_limit=2)
    assert wide.indices.dtype == np.int64
    np.testing.assert_array_equal(wide.toarray(), m)


def test_bsr_refuses_bad_input():
    with pytest.raises(ValueError, match="blocksize must be positive"):
        formats.to_bsr(np.ones((4, 4)), (0, 2))
    with pytest.raises(TypeError, match="blocksize must be a positive int or a pair"):
        formats.to_bsr(np.ones((4, 4)), "2x2")
    with pytest.raises(ValueError, match="norm must be"):
        formats.to_bsr(np.ones((4, 4)), 2, norm="l3")
    m = np.ones((4, 4))
    m[3, 3] = np.nan
    for norm in (None, "l1", "l2"):
        with pytest.raises(ValueError, match="dense holds NaN"):
            formats.to_bsr(m, 2, norm=norm)


# ---------------------------------------------------------------- analysis

def test_analyze_sparsity_formulas(dtype):
    m = sparse_matrix((64, 48), 0.1, dtype, seed=8)
    r = formats.analyze_sparsity(m, blocksize=16)
    nnz = np.count_nonzero(m)
    item = dtype.itemsize
    assert r["total"] == m.size and r["nonzero"] == nnz and r["zeros"] == m.size - nnz
    assert r["sparsity"] == pytest.approx(1 - nnz / m.size)
    assert r["dense_bytes"] == m.size * item
    assert r["csr_bytes"] == nnz * (item + 4) + 65 * 4
    blocks = np.abs(m).reshape(4, 16, 3, 16).sum(axis=(1, 3)) > 0
    assert r["bsr_bytes"] == blocks.sum() * (256 * item + 4) + 5 * 4
    assert r["compression"] == pytest.approx(r["dense_bytes"] / r["csr_bytes"])


def test_analyze_sparsity_sparse_and_nd_input():
    m = sparse_matrix((8, 3, 3, 3), 0.5, np.float32, seed=1)
    dense_report = formats.analyze_sparsity(m)
    assert dense_report["shape"] == (8, 3, 3, 3)
    assert dense_report["nonzero"] == np.count_nonzero(m)
    flat = m.reshape(8, -1)
    sparse_report = formats.analyze_sparsity(sp.csr_array(flat))
    assert sparse_report["nonzero"] == dense_report["nonzero"]
    assert sparse_report["csr_bytes"] == dense_report["csr_bytes"]


@pytest.mark.parametrize("block", [10 ** 9, (1, 2 ** 30), (2 ** 15, 2 ** 15), (2048, 2048)])
def test_bsr_absurd_padding_refused_alike_on_every_backend(backend, block):
    """The CPU used to return an empty BSR where OpenCL tried a 3.47 EiB padded
    copy: both refuse now, with the same message (issue 14, item 2)."""
    with pytest.raises(ValueError, match="blocksize") as refused:
        formats.to_bsr(np.zeros((2, 2)), block, pad=True, backend=backend)
    with pytest.raises(ValueError) as on_cpu:
        formats.to_bsr(np.zeros((2, 2)), block, pad=True, backend="cpu")
    assert str(refused.value) == str(on_cpu.value)


def test_bsr_reasonable_padding_still_allowed(backend):
    """Padding up to the matrix's own size, or 2**20 zeros, stays allowed."""
    w = np.arange(1.0, 5.0).reshape(1, 4)
    A = formats.to_bsr(w, 16, pad=True, backend=backend)  # 1x4 -> 16x16
    np.testing.assert_array_equal(A.toarray()[:1, :4], w)
    assert A.shape == (16, 16)
    B = formats.to_bsr(np.ones((100, 50)), 64, pad=True, backend=backend)  # 100x50 -> 128x64
    np.testing.assert_array_equal(B.toarray(), np.pad(np.ones((100, 50)), ((0, 28), (0, 14))))


def test_type_errors_name_the_users_argument():
    """Issue 14, item 16: the ecosystem's convention, the user's names."""
    with pytest.raises(TypeError, match=r"dense must be a dense .* got a scipy.sparse csr_array"):
        formats.to_csr(sp.csr_array(np.eye(2)))
    with pytest.raises(ValueError, match="t must have at least 1 dimension, got a 0-d array"):
        formats.analyze_sparsity(np.float32(3))
    from wavesparse import SparseLinear
    with pytest.raises(TypeError, match="weight must be a scipy.sparse CSR or BSR .* got COO"):
        SparseLinear(sp.coo_array(np.eye(2)))


@pytest.mark.parametrize("fmt", ["csr", "bsr"])
def test_to_half_refuses_values_beyond_the_16_bit_range(fmt):
    """to_half turned 1e6 (and 65520, which rounds up) into inf with only a
    RuntimeWarning.  Oracle: the dtypes' largest finite values, written out."""
    import ml_dtypes
    biggest = {np.dtype(np.float16): (2 - 2.0 ** -10) * 2.0 ** 15,
               np.dtype(ml_dtypes.bfloat16): (2 - 2.0 ** -7) * 2.0 ** 127}
    for dtype, top in biggest.items():
        for value in ((65520.0, 1e6) if dtype == np.float16 else (3.4e38,)):
            dense = np.array([[0.0, 1.0], [value, 0.0], [0.0, -2.0], [0.0, 0.0]])
            A = formats.to_csr(dense) if fmt == "csr" else formats.to_bsr(dense, (2, 2))
            with pytest.raises(ValueError, match="beyond %s's range" % dtype.name):
                formats.to_half(A, dtype)
        dense = np.array([[0.0, top], [-top, 0.0]])
        A = formats.to_csr(dense) if fmt == "csr" else formats.to_bsr(dense, (2, 2))
        got = formats.to_half(A, dtype)
        assert got.dtype == dtype
        assert np.array_equal(got.data.astype(np.float64).ravel()[got.data.ravel() != 0],
                              [top, -top])


def test_to_half_keeps_a_padded_bsr_s_logical_shape(tmp_path):
    """to_half dropped ``original_shape``: the 16-bit copy of a padded BSR
    loaded from a file ran as its padded (8, 12) shape and was saved
    without its logical one.  Oracle: the dense (6, 10) weight."""
    import ml_dtypes
    from wavesparse import io
    from wavesparse.runtime import Linear
    pytest.importorskip("safetensors", reason="the safetensors package is not installed")
    w = np.random.default_rng(3).standard_normal((6, 10)).astype(np.float32)
    padded = formats.to_bsr(w, (4, 4), pad=True)
    padded.original_shape = (6, 10)
    io.save(tmp_path / "a.safetensors", {"w": padded})
    half = formats.to_half(io.load(tmp_path / "a.safetensors")["w"], ml_dtypes.bfloat16)
    assert half.shape == (8, 12) and half.original_shape == (6, 10)
    x = np.random.default_rng(4).standard_normal((10, 3)).astype(np.float32)
    want = w.astype(ml_dtypes.bfloat16).astype(np.float64) @ x
    np.testing.assert_allclose(Linear(half)(x), want, rtol=1e-5, atol=1e-5)
    io.save(tmp_path / "b.safetensors", {"w": half})
    back = io.load(tmp_path / "b.safetensors", dense=True)["w"]
    assert back.shape == (6, 10) and back.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(back.astype(np.float32),
                                  w.astype(ml_dtypes.bfloat16).astype(np.float32))
