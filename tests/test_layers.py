"""SparseTensorConfig, SparseOperations, create_sparse_layer and SparseLinear."""

import numpy as np
import pytest
import scipy.sparse as sp

from wavesparse import (SparseLinear, SparseOperations, SparseTensorConfig,
                        create_sparse_layer)


def test_config_defaults_and_validation():
    c = SparseTensorConfig()
    assert (c.target_sparsity, c.block_size, c.wavefront_size) == (0.7, 64, 64)
    for kwargs, match in [({"target_sparsity": 1.0}, "target_sparsity"),
                          ({"block_size": 0}, "block_size"),
                          ({"wavefront_size": 48}, "wavefront_size")]:
        with pytest.raises(ValueError, match=match):
            SparseTensorConfig(**kwargs)


def test_operations_analysis_and_csr():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 64)).astype(np.float32)
    w[rng.random(w.shape) < 0.8] = 0
    so = SparseOperations(SparseTensorConfig(block_size=16))
    r = so.analyze_sparsity(w)
    assert r["nonzero"] == np.count_nonzero(w) and r["blocksize"] == (16, 16)
    assert r["sparsity"] == pytest.approx(1 - np.count_nonzero(w) / w.size)
    sparse_r = so.analyze_sparsity(sp.csr_array(w))
    assert sparse_r["nonzero"] == r["nonzero"]
    A = so.to_csr(w)
    np.testing.assert_array_equal(A.indices, sp.csr_array(w).indices)
    X = rng.standard_normal((64, 8)).astype(np.float32)
    np.testing.assert_allclose(so.sparse_matmul(A, X), w.astype(np.float64) @ X, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(so.sparse_matmul(w, X), w.astype(np.float64) @ X, rtol=1e-5, atol=1e-5)


def test_create_sparse_layer_csr_call_and_matmul():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((48, 32))
    b = rng.standard_normal(48)
    layer = create_sparse_layer(w, sparsity=0.75, bias=b, backend="cpu")
    assert isinstance(layer, SparseLinear) and layer.format == "csr"
    assert layer.weight.nnz == 48 * 32 - round(0.75 * 48 * 32)
    dense = layer.weight.toarray()
    assert np.abs(w[dense == 0]).max() <= np.abs(w[dense != 0]).min()
    x = rng.standard_normal((5, 7, 32))
    np.testing.assert_allclose(layer(x), x @ dense.T + b)
    X = rng.standard_normal((32, 3))
    np.testing.assert_allclose(layer @ X, dense @ X)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 32\)"):
        layer(np.ones((2, 31)))


def test_create_sparse_layer_bsr_prunes_whole_blocks():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((64, 64)).astype(np.float32)
    layer = create_sparse_layer(w, sparsity=0.75, format="bsr", block_size=16)
    assert layer.format == "bsr" and layer.weight.blocksize == (16, 16)
    assert layer.weight.indices.size == 4  # 16 blocks, 75% pruned
    norms = np.sqrt((w.astype(np.float64).reshape(4, 16, 4, 16) ** 2).sum(axis=(1, 3)))
    kept = np.zeros((4, 4), bool)
    for i, j in zip(np.repeat(np.arange(4), np.diff(layer.weight.indptr)), layer.weight.indices):
        kept[i, j] = True
    assert norms[kept].min() >= norms[~kept].max()
    np.testing.assert_allclose(layer @ np.eye(64, dtype=np.float32), layer.weight.toarray(), atol=1e-6)


def test_alignment_report():
    aligned = create_sparse_layer(np.ones((128, 64)), sparsity=0.5, block_size=64)
    assert aligned.alignment() == {"rows_wavefront_aligned": True, "cols_wavefront_aligned": True,
                                   "block_aligned": True, "aligned": True}
    odd = create_sparse_layer(np.ones((100, 64)), sparsity=0.5)
    assert odd.alignment()["rows_wavefront_aligned"] is False and not odd.alignment()["aligned"]


def test_layer_on_opencl_equals_cpu(cl_session):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((96, 80)).astype(np.float32)
    x = rng.standard_normal((4, 80)).astype(np.float32)
    on_cpu = create_sparse_layer(w, sparsity=0.9, backend="cpu")(x)
    on_device = create_sparse_layer(w, sparsity=0.9, backend="opencl")(x)
    np.testing.assert_allclose(on_device, on_cpu, rtol=1e-5, atol=1e-5)


def test_factory_validation():
    with pytest.raises(ValueError, match="format must be"):
        create_sparse_layer(np.ones((4, 4)), format="coo")
    with pytest.raises(ValueError, match="2 dimension"):
        create_sparse_layer(np.ones(4))
    with pytest.raises(ValueError, match="bias must have 4 entries"):
        create_sparse_layer(np.ones((4, 4)), bias=np.ones(3))


def test_padded_bsr_layer_keeps_the_logical_shape():
    """A 100x50 weight with 16x16 blocks is padded inside, not outside (item 21)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((100, 50)).astype(np.float32)
    b = rng.standard_normal(100).astype(np.float32)
    layer = create_sparse_layer(w, sparsity=0.5, format="bsr", block_size=16, bias=b,
                                backend="cpu")
    assert (layer.out_features, layer.in_features, layer.shape) == (100, 50, (100, 50))
    kept = layer.weight.toarray()[:100, :50]
    assert np.all((kept == 0) | (kept == w))  # the weight's own values, or pruned
    x = rng.standard_normal((7, 50)).astype(np.float32)
    np.testing.assert_allclose(layer(x), x.astype(np.float64) @ kept.T + b, rtol=1e-5, atol=1e-5)
    X = rng.standard_normal((50, 3)).astype(np.float32)
    np.testing.assert_allclose(layer @ X, kept.astype(np.float64) @ X, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer @ X[:, 0], kept.astype(np.float64) @ X[:, 0],
                               rtol=1e-5, atol=1e-5)
    assert repr(layer).startswith("SparseLinear(50 -> 100, BSR")
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 50\)"):
        layer(np.ones((2, 64), np.float32))


def test_padded_bsr_layer_on_opencl(cl_session):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((40, 20)).astype(np.float32)
    layer = create_sparse_layer(w, sparsity=0.5, format="bsr", block_size=16,
                                backend="opencl")
    kept = layer.weight.toarray()[:40, :20]
    x = rng.standard_normal((5, 20)).astype(np.float32)
    np.testing.assert_allclose(layer(x), x.astype(np.float64) @ kept.T, rtol=1e-5, atol=1e-5)


def test_layer_converts_x_like_spmm():
    """layer @ X and layer(x) follow spmm's rule: A's dtype (item 16)."""
    w = np.float32([[1, 2], [3, 4]])
    layer = SparseLinear(sp.csr_array(w), backend="cpu")
    X = np.array([[0.5], [0.25]])  # float64
    assert (layer @ X).dtype == np.float32
    np.testing.assert_allclose(layer @ X, w @ X.astype(np.float32))
    assert layer(X.T).dtype == np.float32


def test_weight_is_read_only():
    layer = SparseLinear(sp.csr_array(np.eye(2, dtype=np.float32)))
    with pytest.raises(AttributeError):
        layer.weight = sp.csr_array(np.eye(3, dtype=np.float32))


def test_original_shape_of_a_packed_conv_weight_is_not_the_layers():
    """A conv weight packed as (out, rest) keeps its 4-D original shape; the
    layer is the matrix."""
    A = sp.csr_array(np.eye(4, 18, dtype=np.float32))
    A.original_shape = (4, 2, 3, 3)
    layer = SparseLinear(A, backend="cpu")
    assert layer.shape == (4, 18)
    B = sp.csr_array(np.eye(4, dtype=np.float32))
    B.original_shape = (5, 4)
    with pytest.raises(ValueError, match=r"original_shape \(5, 4\) is larger than the weight"):
        SparseLinear(B)
