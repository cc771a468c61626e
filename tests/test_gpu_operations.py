"""GPUSparseOperations equals the CPU SparseOperations (and scipy) on the
OpenCL device present (PoCL in CI)."""

import numpy as np
import pytest
import scipy.sparse as sp

from wavesparse import GPUSparseOperations, NMPruner, SparseOperations, SparseTensorConfig
from wavesparse.formats_nm import to_nm
from wavesparse.opencl import DeviceArray


@pytest.fixture
def weights(dtype, cl_session):
    if dtype == np.float64 and not cl_session.device.has_fp64:
        pytest.skip("the OpenCL device has no fp64")
    w = np.random.default_rng(0).standard_normal((48, 40)).astype(dtype)
    w[np.abs(w) < 1.0] = 0
    w[:16, :8] = 0  # whole empty blocks
    return w


def assert_same_sparse(ours, theirs):
    assert ours.format == theirs.format and ours.shape == theirs.shape
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(ours, part), getattr(theirs, part))


@pytest.mark.parametrize("block", [8, 16])
def test_analyze_sparsity_equals_cpu(weights, block):
    config = SparseTensorConfig(block_size=block)
    gpu, cpu = GPUSparseOperations(config), SparseOperations(config, backend="cpu")
    for t in (weights, weights[:, :36], weights.reshape(48, 4, 10), weights[0]):
        assert gpu.analyze_sparsity(t) == cpu.analyze_sparsity(t)
    assert gpu.analyze_sparsity(DeviceArray(weights)) == cpu.analyze_sparsity(weights)


def test_to_csr_and_to_bsr_equal_cpu_and_scipy(weights):
    gpu = GPUSparseOperations(SparseTensorConfig(block_size=8))
    cpu = SparseOperations(backend="cpu")
    assert_same_sparse(gpu.to_csr(weights), cpu.to_csr(weights))
    theirs = sp.csr_array(weights)
    theirs.eliminate_zeros()
    assert_same_sparse(gpu.to_csr(np.asfortranarray(weights)), theirs)
    theirs = sp.bsr_array(weights, blocksize=(8, 8))
    theirs.eliminate_zeros()
    theirs.sort_indices()
    assert_same_sparse(gpu.to_bsr(weights), theirs)
    assert gpu.to_bsr(weights, 4).blocksize == (4, 4)
    with pytest.raises(ValueError, match="does not divide"):
        gpu.to_bsr(weights, 7)


@pytest.mark.parametrize("nx", [1, 5, 70])
def test_sparse_matmul_equals_cpu(weights, nx):
    gpu, cpu = GPUSparseOperations(SparseTensorConfig(block_size=8)), SparseOperations(backend="cpu")
    X = np.random.default_rng(nx).standard_normal((40, nx)).astype(weights.dtype)
    expected = weights.astype(np.float64) @ X.astype(np.float64)
    csr, bsr = cpu.to_csr(weights), gpu.to_bsr(weights)
    nm = to_nm(NMPruner(2, 4).prune_layer(weights)[0], 2, 4)
    for A, dense in ((csr, weights), (bsr, weights), (weights, weights),
                     (nm, nm.toarray())):
        ours = gpu.sparse_matmul(A, X)
        np.testing.assert_allclose(ours, dense.astype(np.float64) @ X.astype(np.float64),
                                   rtol=1e-5, atol=1e-5)
        if A is not nm:
            np.testing.assert_allclose(ours, cpu.sparse_matmul(A, X), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gpu.sparse_matmul(csr, X[:, 0]), expected[:, 0],
                               rtol=1e-5, atol=1e-5)


def test_weights_stay_resident(weights):
    gpu = GPUSparseOperations()
    A = sp.csr_array(weights)
    X = np.ones((40, 3), weights.dtype)
    first = gpu.sparse_matmul(A, X)
    device_copy = gpu.upload(A)
    assert len(gpu.resident) == 1
    np.testing.assert_array_equal(gpu.sparse_matmul(A, X), first)
    assert gpu.upload(A) is device_copy and len(gpu.resident) == 1
    gpu.sparse_matmul(weights, X)  # dense input: packed, used, not kept
    assert len(gpu.resident) == 1
    gpu.release(A)
    assert not gpu.resident


def test_bad_arguments(cl_session):
    gpu = GPUSparseOperations()
    with pytest.raises(TypeError, match="config must be a SparseTensorConfig"):
        GPUSparseOperations(config={"block_size": 8})
    with pytest.raises(ValueError, match="A has 2 columns, B has 3 rows"):
        gpu.sparse_matmul(sp.csr_array(np.eye(2, dtype=np.float32)), np.ones(3, np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        gpu.to_csr(np.ones((2, 2), np.int32))
