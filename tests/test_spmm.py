"""Sparse products against a float64 dense oracle, every backend."""

import numpy as np
import pytest
import scipy.sparse as sp

from wavesparse import formats, ops


def random_sparse(shape, density, dtype, seed, fmt="csr", block=(1, 1)):
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal(shape).astype(dtype)
    dense[rng.random(shape) >= density] = 0
    if fmt == "csr":
        return formats.to_csr(dense)
    return formats.to_bsr(dense, block, pad=True)


def check_product(A, X, backend):
    Y = ops.spmm(A, X, backend=backend)
    ref = A.astype(np.float64).toarray() @ np.asarray(X, dtype=np.float64)
    assert Y.shape == ref.shape and Y.dtype == A.dtype
    scale = max(np.abs(ref).max(initial=0.0), 1.0)
    tol = 1e-5 if A.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(Y, ref, rtol=0, atol=tol * scale * 10)
    return Y


@pytest.mark.parametrize("n", [1, 3, 64, 257])
@pytest.mark.parametrize("fmt, block", [("csr", (1, 1)), ("bsr", (4, 4)), ("bsr", (3, 2))])
def test_random_shapes(fp64_backend, n, fmt, block):
    backend, dtype = fp64_backend
    A = random_sparse((50, 37), 0.2, dtype, n, fmt, block)
    X = np.random.default_rng(n).standard_normal((A.shape[1], n)).astype(dtype)
    check_product(A, X, backend)
    check_product(A, np.asfortranarray(X), backend)
    check_product(A, X[:, 0], backend)


def test_layout_of_result_follows_x(backend):
    A = random_sparse((20, 30), 0.3, np.float32, 1)
    X = np.asfortranarray(np.ones((30, 5), np.float32))
    assert ops.spmm(A, X, backend=backend).flags.f_contiguous
    strided = np.ones((60, 10), np.float32)[::2, ::2]
    check_product(A, strided, backend)


def test_empty_rows_single_nonzero_and_empty(backend, dtype):
    if backend == "opencl" and dtype == np.float64:
        from wavesparse import opencl
        if not opencl.session().device.has_fp64:
            pytest.skip("no fp64")
    dense = np.zeros((9, 6), dtype)
    dense[4, 2] = 3.0
    A = formats.to_csr(dense)
    X = np.arange(12, dtype=dtype).reshape(6, 2)
    Y = check_product(A, X, backend)
    assert Y[4].tolist() == [12.0, 15.0] and not Y[:4].any()
    empty = formats.to_csr(np.zeros((5, 6), dtype))
    assert not ops.spmm(empty, X, backend=backend).any()
    assert ops.spmm(formats.to_csr(np.zeros((0, 6), dtype)), X).shape == (0, 2)
    assert ops.spmm(A, np.zeros((6, 0), dtype)).shape == (9, 0)


def test_int64_indices(backend):
    dense = np.random.default_rng(0).standard_normal((30, 40)).astype(np.float32)
    A = formats.to_csr(dense, _index_limit=10)
    assert A.indices.dtype == np.int64
    check_product(A, np.ones((40, 7), np.float32), backend)
    B = formats.to_bsr(dense, (5, 4), _index_limit=2)
    assert B.indices.dtype == np.int64
    check_product(B, np.ones((40, 3), np.float32), backend)


def test_large_block_sparse_matches_scipy():
    rng = np.random.default_rng(7)
    blocks = rng.random((16, 16)) < 0.1
    dense = (rng.standard_normal((512, 512)) * np.kron(blocks, np.ones((32, 32)))).astype(np.float32)
    A = formats.to_bsr(dense, 32)
    X = rng.standard_normal((512, 96)).astype(np.float32)
    check_product(A, X, "cpu")


def test_scipy_matrix_and_noncanonical_input():
    A = sp.csr_matrix((np.float64([1, 2, 3]), np.int32([2, 0, 2]), np.int32([0, 3])),
                      shape=(1, 3))  # duplicate column 2, unsorted
    np.testing.assert_allclose(ops.spmm(A, np.float64([1, 10, 100])), [402.0])


def test_errors_name_both_shapes():
    A = random_sparse((4, 5), 0.5, np.float32, 0)
    with pytest.raises(ValueError, match=r"A of shape \(4, 5\) cannot multiply X of shape \(6, 2\)"):
        ops.spmm(A, np.ones((6, 2), np.float32))
    with pytest.raises(ValueError, match=r"dtype float32, shape \(4, 5\).*dtype float64, shape \(5, 2\)"):
        ops.spmm(A, np.ones((5, 2)))
    with pytest.raises(TypeError, match="CSR or BSR"):
        ops.spmm(sp.coo_array(np.eye(3)), np.ones(3))
    with pytest.raises(TypeError, match="CSR or BSR"):
        ops.spmm(np.eye(3), np.ones(3))
