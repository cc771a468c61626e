"""Products with float16/bfloat16 sparse weights, against a float64 oracle.

The result is float32, summed in float32: the oracle is the exact product of
the same values in float64, and the tolerance is the classic bound of
recursive summation, ``(terms + 1) * 2**-24 * (|A| @ |X|)`` elementwise, with
``terms`` the longest row's count of products.
"""

import ml_dtypes
import numpy as np
import pytest
import scipy.sparse as sp

from _helpers import layouts
from wavesparse import OpenCLError, formats, opencl, ops
from wavesparse._dispatch import sparse_parts

BF16 = np.dtype(ml_dtypes.bfloat16)
HALVES = [np.dtype(np.float16), BF16]
X_DTYPES = [np.dtype(np.float32), np.dtype(np.float16), BF16]


def half_sparse(shape, density, dtype, seed, fmt="csr", block=(1, 1)):
    """A random CSR/BSR array of ``dtype`` values (some rows empty)."""
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal(shape).astype(np.float32)
    dense[rng.random(shape) >= density] = 0
    dense[::5] = 0
    A = formats.to_csr(dense) if fmt == "csr" else formats.to_bsr(dense, block, pad=True)
    return formats.to_half(A, dtype)


def oracle(A, X):
    """(exact product in float64, elementwise float32 error bound)."""
    wide = A.astype(np.float64).toarray()
    x = np.asarray(X, dtype=np.float64)
    terms = int(np.count_nonzero(wide, axis=1).max(initial=0))
    bound = (terms + 1) * 2.0 ** -24 * (np.abs(wide) @ np.abs(x))
    return wide @ x, bound


def check_product(A, X, backend):
    Y = ops.spmm(A, X, backend=backend)
    ref, bound = oracle(A, X)
    assert Y.dtype == np.float32 and Y.shape == ref.shape
    assert np.all(np.abs(Y - ref) <= bound + 1e-30), np.abs(Y - ref).max()
    return Y


@pytest.mark.parametrize("x_dtype", X_DTYPES, ids=str)
@pytest.mark.parametrize("a_dtype", HALVES, ids=str)
@pytest.mark.parametrize("fmt, block", [("csr", (1, 1)), ("bsr", (2, 2)), ("bsr", (4, 4)),
                                        ("bsr", (3, 2)), ("bsr", (16, 16))])
@pytest.mark.parametrize("n", [1, 3, 33, 70])
def test_products_match_the_float64_oracle(backend, a_dtype, x_dtype, fmt, block, n):
    A = half_sparse((48, 64), 0.3, a_dtype, n, fmt, block)
    X = np.random.default_rng(n).standard_normal((A.shape[1], n)).astype(x_dtype)
    check_product(A, X, backend)
    check_product(A, X[:, 0], backend)


@pytest.mark.parametrize("x_dtype", X_DTYPES, ids=str)
@pytest.mark.parametrize("a_dtype", HALVES, ids=str)
def test_any_layout_of_x(backend, a_dtype, x_dtype):
    A = half_sparse((40, 30), 0.4, a_dtype, 1)
    X = np.random.default_rng(2).standard_normal((30, 9)).astype(x_dtype)
    for name, view in layouts(X).items():
        Y = check_product(A, view, backend)
        assert Y.flags.f_contiguous == (name == "F")
    check_product(A, layouts(X[:, 0])["strided"], backend)


@pytest.mark.parametrize("a_dtype", HALVES, ids=str)
def test_empty_rows_empty_matrix_and_empty_x(backend, a_dtype):
    dense = np.zeros((9, 6), np.float32)
    dense[4, 2] = 3.0
    A = formats.to_half(formats.to_csr(dense), a_dtype)
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    Y = check_product(A, X, backend)
    assert Y[4].tolist() == [12.0, 15.0] and not Y[:4].any() and not Y[5:].any()
    empty = formats.to_half(formats.to_csr(np.zeros((5, 6), np.float32)), a_dtype)
    Y = ops.spmm(empty, X, backend=backend)
    assert Y.dtype == np.float32 and Y.shape == (5, 2) and not Y.any()
    assert ops.spmm(A, np.zeros((6, 0), np.float16), backend=backend).shape == (9, 0)
    none = formats.to_half(formats.to_csr(np.zeros((0, 6), np.float32)), a_dtype)
    assert ops.spmm(none, X, backend=backend).dtype == np.float32


@pytest.mark.parametrize("a_dtype", HALVES, ids=str)
def test_int64_indices(backend, a_dtype):
    dense = np.random.default_rng(0).standard_normal((30, 40)).astype(np.float32)
    A = formats.to_half(formats.to_csr(dense, _index_limit=10), a_dtype)
    assert A.indices.dtype == np.int64
    check_product(A, np.ones((40, 7), np.float16), backend)
    B = formats.to_half(formats.to_bsr(dense, (5, 4), _index_limit=2), a_dtype)
    assert B.indices.dtype == np.int64
    check_product(B, np.ones((40, 3), a_dtype), backend)


def every_value(dtype):
    """Every non-NaN bit pattern of a 16-bit dtype."""
    values = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(dtype)
    wide = values.astype(np.float32)
    return values[~np.isnan(wide)]


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_every_16_bit_weight_is_widened_exactly(backend, dtype):
    """A diagonal of every non-NaN value (subnormals, infinities) times ones
    gives each value back as numpy's float32 of it, bit for bit (-0 as +0:
    the sum starts at +0)."""
    values = every_value(dtype)
    n = values.size
    A = sp.csr_array((values.astype(np.float32), np.arange(n, dtype=np.int32),
                      np.arange(n + 1, dtype=np.int32)), shape=(n, n))
    A.data = values
    expected = values.astype(np.float32) + np.float32(0)
    for columns in (1, 2):
        Y = ops.spmm(A, np.ones((n, columns), np.float32), backend=backend)
        for j in range(columns):
            np.testing.assert_array_equal(Y[:, j].view(np.uint32),
                                          expected.view(np.uint32))


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_every_16_bit_weight_in_blocks_is_widened_exactly(dtype):
    """The same through the block kernel, which widens eight values at a
    time: 8x8 diagonal blocks holding every value on their diagonals."""
    values = every_value(dtype)
    values = np.concatenate([values, np.zeros(-values.size % 8, dtype)])
    nb = values.size // 8
    blocks = np.zeros((nb, 8, 8), dtype)
    blocks[:, np.arange(8), np.arange(8)] = values.reshape(nb, 8)
    A = sp.bsr_array((blocks.astype(np.float32), np.arange(nb, dtype=np.int32),
                      np.arange(nb + 1, dtype=np.int32)), shape=(values.size, values.size))
    A.data = blocks
    expected = values.astype(np.float32) + np.float32(0)
    Y = ops.spmm(A, np.ones((values.size, 3), np.float32), backend="cpu")
    for j in range(3):
        np.testing.assert_array_equal(Y[:, j].view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_every_16_bit_input_is_widened_exactly(backend, dtype):
    """X of every non-NaN value, contiguous and strided (the F16C and the
    portable conversions), times a 16-bit identity."""
    values = every_value(dtype)
    eye = formats.to_half(formats.to_csr(np.eye(values.size // 64, dtype=np.float32)), dtype)
    X = values[: (values.size // 64) * 64].reshape(-1, 64)
    for view in (X, np.asfortranarray(X), layouts(X)["strided"], X[:, 5]):
        Y = ops.spmm(eye, view, backend=backend)
        expected = np.asarray(view).astype(np.float32) + np.float32(0)
        np.testing.assert_array_equal(Y.view(np.uint32), expected.view(np.uint32))


def test_nan_propagates_as_in_scipy(backend):
    """As for float32 products: NaN is not refused, it reaches the outputs a
    stored value multiplies (and a NaN weight its row)."""
    A = formats.to_half(sp.csr_array(np.float32([[1, 0], [0, 2]])))
    X = np.float16([[np.nan, 1], [1, 1]])
    Y = ops.spmm(A, X, backend=backend)
    np.testing.assert_array_equal(np.isnan(Y), [[True, False], [False, False]])
    A.data[0] = np.nan
    Y = ops.spmm(A, np.ones((2, 2), np.float32), backend=backend)
    np.testing.assert_array_equal(np.isnan(Y), [[True, True], [False, False]])


def test_duplicates_are_summed_and_rounded_to_the_dtype():
    A = sp.csr_array((np.float32([1, 2, 3]), np.int32([2, 0, 2]), np.int32([0, 3])),
                     shape=(1, 3))
    A.data = np.float16([1, 2, 1e-3])  # column 2 twice
    summed = np.float16(np.float32(np.float16(1)) + np.float32(np.float16(1e-3)))
    Y = ops.spmm(A, np.float32([1, 10, 100]), backend="cpu")
    assert Y.tolist() == [np.float32(2) + np.float32(100) * np.float32(summed)]


@pytest.mark.parametrize("a_dtype", HALVES, ids=str)
def test_wrong_dtype_combinations_name_the_argument(a_dtype):
    A16 = half_sparse((4, 5), 0.5, a_dtype, 0)
    A32 = formats.to_csr(np.eye(5, dtype=np.float32))
    with pytest.raises(TypeError, match=r"^X has dtype float64, but A holds"):
        ops.spmm(A16, np.ones((5, 2)))
    with pytest.raises(TypeError, match=r"^X must hold float16, bfloat16, float32 or "
                                        r"float64 values, got dtype int32"):
        ops.spmm(A16, np.ones((5, 2), np.int32))
    with pytest.raises(TypeError, match=r"^X must hold float32 or float64 values, got "
                                        r"dtype %s" % np.dtype(a_dtype)):
        ops.spmm(A32, np.ones((5, 2), a_dtype))
    with pytest.raises(TypeError, match=r"^A must hold float16, bfloat16, float32 or "
                                        r"float64 values, got dtype int8"):
        ops.spmm(sp.csr_array(np.eye(3, dtype=np.int8)), np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"^A of shape \(4, 5\) cannot multiply X of "
                                         r"shape \(6,\)"):
        ops.spmm(A16, np.ones(6, np.float16))


def test_to_half_keeps_the_structure_and_rounds_the_values():
    dense = np.array([[0.0, 1.0 / 3], [-2.5, 0.0], [0.0, 1e-9]])
    for A in (formats.to_csr(dense), formats.to_bsr(dense[:2], (1, 2))):
        for dtype in HALVES:
            H = formats.to_half(A, dtype)
            assert H.format == A.format and H.shape == A.shape and H.dtype == dtype
            assert np.shares_memory(H.indices, A.indices)
            np.testing.assert_array_equal(H.data, A.data.astype(dtype))
            if A.format == "bsr":
                assert H.blocksize == A.blocksize
    with pytest.raises(TypeError, match=r"^dtype must be float16 or bfloat16"):
        formats.to_half(formats.to_csr(dense), np.float32)
    with pytest.raises(TypeError, match=r"^A must be a scipy.sparse CSR or BSR"):
        formats.to_half(dense)


@pytest.mark.parametrize("activation", ["none", "relu", "gelu"])
@pytest.mark.parametrize("fmt", ["csr", "bsr"])
def test_linear_with_16_bit_weights_applies_bias_and_activation(fmt, activation):
    """The fused epilogue works for 16-bit weights: float32 bias and output."""
    from math import erf

    from wavesparse.runtime import Linear
    A = half_sparse((32, 24), 0.4, BF16, 3, fmt, (4, 4))
    bias = np.random.default_rng(4).standard_normal(32).astype(np.float32)
    X = np.random.default_rng(5).standard_normal((24, 40)).astype(np.float32)
    layer = Linear(A, bias, activation)
    assert layer.dtype == np.float32
    ref, bound = oracle(A, X)
    ref += bias[:, None]
    if activation == "relu":
        ref = np.maximum(ref, 0)
    elif activation == "gelu":
        ref = ref * 0.5 * (1 + np.vectorize(erf)(ref / np.sqrt(2)))
    np.testing.assert_allclose(layer(X), ref, rtol=1e-5, atol=bound.max() + 1e-6)


# OpenCL: the GPU's tiled kernels run on any device, PoCL included.

@pytest.mark.parametrize("a_dtype", HALVES, ids=str)
@pytest.mark.parametrize("fmt, block", [("csr", (1, 1)), ("bsr", (4, 4)), ("bsr", (2, 8))])
def test_tiled_device_kernels(cl_session, a_dtype, fmt, block):
    from wavesparse.opencl.ops import DeviceMatrix
    A = half_sparse((64, 80), 0.3, a_dtype, 6, fmt, block)
    matrix = DeviceMatrix(sparse_parts(A, half=True))
    matrix.tiled = True
    X = np.random.default_rng(7).standard_normal((80, 70)).astype(np.float32)
    Y = matrix.matmul(X)
    ref, bound = oracle(A, X)
    assert Y.dtype == np.float32 and np.all(np.abs(Y - ref) <= bound + 1e-30)


def test_has_fp16_is_what_the_device_compiler_sees(cl_session):
    """An OpenCL C compiler defines the macro cl_khr_fp16 exactly when the
    device supports it: a program that errors without it is the oracle."""
    source = "#ifndef cl_khr_fp16\n#error no fp16\n#endif\n__kernel void k() {}\n"
    try:
        opencl.get_program(cl_session, source)
        compiles = True
    except OpenCLError:
        compiles = False
    assert cl_session.device.has_fp16 is compiles
    assert cl_session.device.info()["has_fp16"] is compiles
