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


def block_sparse(block, grid, dtype, seed):
    """A BSR array of grid = (block rows, block columns) blocks, half of them
    stored, some block rows empty."""
    rng = np.random.default_rng(seed)
    keep = rng.random(grid) < 0.5
    keep[-1] = False
    dense = rng.standard_normal((grid[0] * block[0], grid[1] * block[1]))
    dense *= np.kron(keep, np.ones(block))
    return formats.to_bsr(dense.astype(dtype), block)


# The CPU block kernel tiles rows 6 at a time, two vectors (16 float32 or 8
# float64 columns) wide, in 64-column (float32) or 16-column panels: blocks of
# fewer or more rows than a tile and not a multiple of it, columns not a
# multiple of the vector, N short of, on and past the panel's edges.
@pytest.mark.parametrize("block", [(6, 6), (7, 5), (13, 17), (16, 16), (32, 32), (64, 8), (1, 9)])
@pytest.mark.parametrize("n", [2, 9, 17, 63, 64, 65, 130])
def test_register_tiles_of_the_block_kernel(dtype, block, n):
    A = block_sparse(block, (3, 4), dtype, n)
    X = np.random.default_rng(n + 1).standard_normal((A.shape[1], n)).astype(dtype)
    check_product(A, X, "cpu")
    check_product(A, np.asfortranarray(X), "cpu")


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("block", [(13, 17), (32, 32)])
def test_block_tiles_apply_bias_and_activation(dtype, block, activation):
    from math import erf

    from wavesparse.runtime import Linear
    A = block_sparse(block, (3, 2), dtype, 5)
    rng = np.random.default_rng(6)
    bias = rng.standard_normal(A.shape[0]).astype(dtype)
    X = rng.standard_normal((A.shape[1], 70)).astype(dtype)
    ref = A.astype(np.float64).toarray() @ X.astype(np.float64) + bias[:, None]
    if activation == "relu":
        ref = np.maximum(ref, 0)
    else:
        ref = ref * 0.5 * (1 + np.vectorize(erf)(ref / np.sqrt(2)))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(Linear(A, bias, activation)(X), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [256, 300, 641])
@pytest.mark.parametrize("fmt, block", [("csr", (1, 1)), ("bsr", (32, 32)), ("bsr", (5, 3))])
def test_threads_taking_whole_panels(dtype, threads, n, fmt, block):
    """With panels enough for every thread (N >= 2 panels per thread, work
    enough for two threads), each thread packs and multiplies whole panels;
    the last one narrower, X in either order, the fused GELU too."""
    from math import erf

    from wavesparse.runtime import Linear
    threadpoolctl = pytest.importorskip("threadpoolctl")
    A = random_sparse((224, 192), 0.3, dtype, n, fmt, block)
    rng = np.random.default_rng(n)
    X = rng.standard_normal((A.shape[1], n)).astype(dtype)
    bias = rng.standard_normal(A.shape[0]).astype(dtype)
    ref = A.astype(np.float64).toarray() @ X.astype(np.float64) + bias[:, None]
    ref = ref * 0.5 * (1 + np.vectorize(erf)(ref / np.sqrt(2)))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    with threadpoolctl.threadpool_limits(threads, user_api="openmp"):
        check_product(A, X, "cpu")
        check_product(A, np.asfortranarray(X), "cpu")
        np.testing.assert_allclose(Linear(A, bias, "gelu")(X), ref, rtol=tol, atol=tol)


def test_scipy_matrix_and_noncanonical_input():
    A = sp.csr_matrix((np.float64([1, 2, 3]), np.int32([2, 0, 2]), np.int32([0, 3])),
                      shape=(1, 3))  # duplicate column 2, unsorted
    np.testing.assert_allclose(ops.spmm(A, np.float64([1, 10, 100])), [402.0])


def test_errors_name_both_shapes():
    A = random_sparse((4, 5), 0.5, np.float32, 0)
    with pytest.raises(ValueError, match=r"A of shape \(4, 5\) cannot multiply X of shape \(6, 2\)"):
        ops.spmm(A, np.ones((6, 2), np.float32))
    with pytest.raises(TypeError, match="CSR or BSR"):
        ops.spmm(sp.coo_array(np.eye(3)), np.ones(3))
    with pytest.raises(TypeError, match="CSR or BSR"):
        ops.spmm(np.eye(3), np.ones(3))


def test_other_float_dtype_of_x_is_converted_to_a_dtype(backend):
    """One rule for every product: the result has A's dtype (issue 14, item 16)."""
    A = random_sparse((4, 5), 0.5, np.float32, 0)
    X = np.random.default_rng(1).standard_normal((5, 2))  # float64
    Y = ops.spmm(A, X, backend=backend)
    assert Y.dtype == np.float32
    expected = A.toarray().astype(np.float64) @ X.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(Y, expected, rtol=1e-5, atol=1e-6)


def test_nan_propagates_as_in_scipy(backend):
    """Products pass NaN through, as scipy.sparse's @ does: only to the outputs
    a stored value multiplies (item 16: the README says so now)."""
    A = sp.csr_array(np.float32([[1, 0], [0, 2]]))
    X = np.float32([[np.nan, 1], [1, 1]])
    np.testing.assert_array_equal(ops.spmm(A, X, backend=backend), A @ X)


def _malformed():
    """Sparse arrays scipy builds without complaint whose structure is wrong."""
    cases = {}
    cases["column past the width (far)"] = sp.csr_array(
        (np.float32([1]), np.int32([10 ** 7]), np.int32([0, 1])), shape=(1, 2))
    cases["column past the width (near)"] = sp.csr_array(
        (np.float32([1]), np.int32([7]), np.int32([0, 1])), shape=(1, 2))
    cases["negative column"] = sp.csr_array(
        (np.float32([1]), np.int32([-1]), np.int32([0, 1])), shape=(1, 2))
    A = sp.csr_array(np.eye(3, dtype=np.float32))
    A.indptr = np.int32([0, 2, 1, 3])
    cases["decreasing indptr"] = A
    A = sp.csr_array(np.eye(3, dtype=np.float32))
    A.indptr = np.int32([0, 1, 2, 9])
    cases["indptr past the entries"] = A
    A = sp.csr_array(np.eye(3, dtype=np.float32))
    A.indptr = np.int32([1, 1, 2, 3])
    cases["indptr not starting at 0"] = A
    A = sp.csr_array(np.eye(3, dtype=np.float32))
    A.indptr = np.int32([0, 1, 3])
    cases["indptr of the wrong length"] = A
    B = formats.to_bsr(np.eye(4, dtype=np.float32), 2)
    B.indices[1] = 10 ** 6  # a mutated block index
    cases["block column past the width"] = B
    B = formats.to_bsr(np.eye(4, dtype=np.float32), 2)
    B.indptr = np.int32([0, 2, 1])
    cases["decreasing block indptr"] = B
    return cases


@pytest.mark.parametrize("case", sorted(_malformed()))
def test_malformed_structure_is_refused_before_any_kernel(backend, case):
    """scipy's own full check flags each case; spmm must refuse them too, on
    every backend, instead of reading out of bounds (issue 14, item 1)."""
    A = _malformed()[case]
    with pytest.raises(ValueError):
        A.check_format(full_check=True)  # the independent oracle: scipy agrees
    X = np.ones((A.shape[1], 3), np.float32)
    with pytest.raises(ValueError, match=r"^A has"):
        ops.spmm(A, X, backend=backend)


def test_malformed_weight_is_refused_by_sparse_linear():
    from wavesparse import SparseLinear
    with pytest.raises(ValueError, match=r"^weight has a column index out of range"):
        SparseLinear(_malformed()["column past the width (near)"])


def test_sparse_linear_checks_its_weight_once(monkeypatch):
    """The layer keeps the parts it checked: products do not check again."""
    from wavesparse import SparseLinear, _dispatch
    layer = SparseLinear(formats.to_csr(np.eye(3, dtype=np.float32)), backend="cpu")
    calls = []
    monkeypatch.setattr(_dispatch, "check_structure", lambda *a: calls.append(a))
    x = np.float32([[1, 2, 3]])
    for _ in range(3):
        np.testing.assert_array_equal(layer(x), x)
    assert calls == []
    np.testing.assert_array_equal(ops.spmm(layer.weight, x.T, backend="cpu"), x.T)
    assert len(calls) == 1
