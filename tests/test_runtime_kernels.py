"""Fused epilogues (bias + ReLU / exact GELU in the products' output write),
the compiled layer norm and softmax, and the products at MiniLM's shapes,
against numpy and scipy written out."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import erfc

from wavesparse import _spmm, formats
from wavesparse.ops import spmm
from wavesparse.runtime import Linear, kernels, threads


def gelu64(x):
    """x * Phi(x) in float64, by erfc (accurate in the negative tail too)."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * erfc(-x / np.sqrt(2.0))


def epilogue64(z, activation):
    if activation == "gelu":
        return gelu64(z)
    if activation == "relu":
        return np.maximum(z, 0.0)
    return z


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_to_one_micro_relative(dtype):
    x = np.concatenate([np.linspace(-10, 10, 200001), [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)
    y = kernels.bias_act(x[None].copy(), activation="gelu")[0]
    expected = gelu64(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, expected, rtol=1e-6 if dtype == np.float32 else 1e-13,
                               atol=1e-37)


def exact_operands(m, k, n, density, dtype, seed):
    """Values on a 1/8 grid, few per row: every float32 sum is exact."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-8, 9, (m, k)) / 8.0
    a[rng.random((m, k)) > density] = 0.0
    x = rng.integers(-4, 5, (k, n)) / 8.0
    bias = rng.integers(-8, 9, m) / 8.0
    return a.astype(dtype), x.astype(dtype), bias.astype(dtype)


@pytest.mark.parametrize("layout", ["csr", "bsr", "dense"])
@pytest.mark.parametrize("activation", ["none", "relu", "gelu"])
@pytest.mark.parametrize("n", [1, 37, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_epilogue_equals_numpy(layout, activation, n, dtype):
    a, x, bias = exact_operands(64, 48, n, 0.15, dtype, seed=n)
    if layout == "csr":
        w = formats.to_csr(a)
    elif layout == "bsr":
        w = formats.to_bsr(a, 16)
    else:
        w = a
    y = Linear(w, bias, activation)(x)
    expected = epilogue64(a.astype(np.float64) @ x.astype(np.float64) + bias[:, None],
                          activation)
    np.testing.assert_allclose(y, expected, rtol=1e-6 if dtype == np.float32 else 1e-13,
                               atol=1e-37)


@pytest.mark.parametrize("kind", ["csr", "bsr"])
def test_fused_epilogue_with_strided_output(kind):
    a, x, bias = exact_operands(32, 32, 40, 0.2, np.float32, seed=3)
    w = formats.to_csr(a) if kind == "csr" else formats.to_bsr(a, 8)
    y = np.zeros((40, 32), np.float32).T  # F-ordered: a strided write
    parts = (w.data, w.indices, w.indptr)
    if kind == "csr":
        _spmm.csr_spmm(*parts, x, y, bias, 2)
    else:
        _spmm.bsr_spmm(*parts, 8, 8, x, y, bias, 2)
    np.testing.assert_allclose(y, gelu64(a.astype(np.float64) @ x + bias[:, None]), rtol=1e-6,
                               atol=1e-37)


def test_bias_act_relu_and_bias_only():
    y = np.array([[-1.0, 2.0], [0.5, -3.0]], np.float32)
    np.testing.assert_array_equal(kernels.bias_act(y.copy(), [1.0, -1.0], "relu"),
                                  np.maximum(y + [[1.0], [-1.0]], 0))
    np.testing.assert_array_equal(kernels.bias_act(y.copy(), [1.0, -1.0]), y + [[1.0], [-1.0]])


def test_bias_act_refuses_bad_arguments():
    with pytest.raises(TypeError, match="y"):
        kernels.bias_act([[1.0]])
    with pytest.raises(ValueError, match="bias"):
        kernels.bias_act(np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="activation"):
        kernels.bias_act(np.ones((2, 2)), activation="swish")
    with pytest.raises(ValueError, match="contiguous rows"):
        kernels.bias_act(np.ones((2, 4))[:, ::2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tokens", [1, 63, 64, 130])
def test_add_layer_norm_equals_numpy(dtype, tokens):
    rng = np.random.default_rng(tokens)
    x = rng.standard_normal((48, tokens)).astype(dtype)
    r = rng.standard_normal((48, tokens)).astype(dtype)
    g, b = rng.standard_normal(48).astype(dtype), rng.standard_normal(48).astype(dtype)
    z = (x + r).astype(np.float64)
    mean = z.mean(axis=0)
    expected = (z - mean) / np.sqrt(((z - mean) ** 2).mean(axis=0) + 1e-12) * g[:, None] \
        + b[:, None]
    out = kernels.add_layer_norm(x, r, g, b, 1e-12, out=x)
    assert out is x
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masked_softmax_equals_numpy(dtype):
    rng = np.random.default_rng(0)
    s = (4 * rng.standard_normal((2 * 3 * 5, 13))).astype(dtype)
    keep = rng.random((2, 13)) > 0.3
    keep[1] = False  # a group with nothing kept: zeros
    z = np.where(np.repeat(keep, 15, axis=0), s.astype(np.float64) * 0.25, -np.inf)
    with np.errstate(invalid="ignore"):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        expected = np.nan_to_num(e / e.sum(axis=1, keepdims=True))
    out = kernels.masked_softmax(s, keep, 15, 0.25)
    np.testing.assert_allclose(out, expected, rtol=1e-6 if dtype == np.float32 else 1e-13,
                               atol=1e-7 if dtype == np.float32 else 1e-15)
    assert not out[15:].any()


def test_masked_softmax_refuses_groups_that_do_not_cover():
    with pytest.raises(ValueError, match="groups"):
        kernels.masked_softmax(np.zeros((5, 3)), np.ones((2, 3), bool))


SHAPES = [(384, 384), (1536, 384), (384, 1536)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["csr", "bsr"])
@pytest.mark.parametrize("n", [1, 128])
def test_products_at_minilm_shapes_equal_dense(shape, kind, n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(shape).astype(np.float32)
    a[rng.random(shape) < 0.9] = 0
    A = formats.to_csr(a) if kind == "csr" else formats.to_bsr(a, 32)
    x = rng.standard_normal((shape[1], n)).astype(np.float32)
    expected = A.toarray().astype(np.float64) @ x
    np.testing.assert_allclose(spmm(A, x, backend="cpu"), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(Linear(A)(x), expected, rtol=1e-4, atol=1e-4)


def test_products_at_4096_tokens_equal_dense():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((384, 1536)).astype(np.float32)
    a[rng.random(a.shape) < 0.9] = 0
    x = rng.standard_normal((1536, 4096)).astype(np.float32)
    expected = a.astype(np.float64) @ x
    np.testing.assert_allclose(Linear(formats.to_csr(a))(x), expected, rtol=1e-4, atol=1e-4)


def test_product_right_after_a_numpy_matmul_is_the_same():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((384, 384)).astype(np.float32)
    a[rng.random(a.shape) < 0.9] = 0
    A = sp.csr_array(a)
    x = rng.standard_normal((384, 128)).astype(np.float32)
    first = spmm(A, x, backend="cpu")
    big = rng.standard_normal((512, 512)).astype(np.float32)
    for _ in range(3):
        big @ big  # OpenBLAS's threads spin right after this
        np.testing.assert_array_equal(spmm(A, x, backend="cpu"), first)
        np.testing.assert_array_equal(Linear(A)(x), first)
    np.testing.assert_allclose(first, a.astype(np.float64) @ x, rtol=1e-4, atol=1e-4)


def test_discipline_holds_blas_to_one_thread_only_for_sparse_models():
    pytest.importorskip("threadpoolctl")
    before = threads.blas_threads()
    with threads.discipline([Linear(np.eye(2))]):
        assert threads.blas_threads() == before
    with threads.discipline([Linear(sp.csr_array(np.eye(2)))]):
        assert threads.blas_threads() == 1
    assert threads.blas_threads() == before


@pytest.mark.parametrize("batch, heads, length, d", [(2, 3, 128, 32), (3, 2, 37, 5),
                                                     (1, 1, 1, 1), (2, 4, 17, 12)])
def test_attention_products_equal_numpy_per_sequence_and_head(batch, heads, length, d):
    """Both batched products against numpy's matmul per (sequence, head), on
    slices of one fused query/key/value array (rows 3 * width apart: the
    layout the encoder gives them)."""
    from wavesparse.runtime import kernels
    rng = np.random.default_rng(length + d)
    width = heads * d
    qkv = rng.standard_normal((3 * width, batch * length)).astype(np.float32)
    q, k, v = qkv[:width], qkv[width:2 * width], qkv[2 * width:]

    def per_head(t):
        return t.reshape(heads, d, batch, length).transpose(2, 0, 1, 3).astype(np.float64)

    scores = kernels.attention_scores(q, k, batch, heads, length,
                                      np.empty((batch, heads, length, length), np.float32))
    want = per_head(q).transpose(0, 1, 3, 2) @ per_head(k)
    np.testing.assert_allclose(scores, want, rtol=1e-5, atol=1e-4)
    probs = rng.random((batch, heads, length, length)).astype(np.float32)
    context = np.full((width, batch * length), np.nan, np.float32)
    kernels.attention_context(v, np.ascontiguousarray(probs.transpose(0, 1, 3, 2)), batch,
                              heads, length, context)
    want = per_head(v) @ probs.transpose(0, 1, 3, 2).astype(np.float64)
    np.testing.assert_allclose(context.reshape(heads, d, batch, length).transpose(2, 0, 1, 3),
                               want, rtol=1e-5, atol=1e-4)


def test_attention_products_refuse_what_does_not_fit():
    from wavesparse.runtime import kernels
    q = np.zeros((8, 6), np.float32)
    out = np.empty((2, 2, 3, 3), np.float32)
    with pytest.raises(ValueError, match="q must have shape"):
        kernels.attention_scores(q, q, 3, 2, 3, out)
    with pytest.raises(TypeError, match="float32"):
        kernels.attention_scores(q.astype(np.float64), q, 2, 2, 3, out)
    with pytest.raises(ValueError, match="out must be a C-contiguous float32"):
        kernels.attention_scores(q, q, 2, 2, 3, out[:, :1])


@pytest.mark.parametrize("length", [1, 7, 128])
def test_softmax_over_keys_of_transposed_scores_equals_the_row_softmax(length):
    """masked_softmax_t on S^T equals the row-wise masked_softmax on S, key
    mask and scale included, a sequence with every key masked giving 0."""
    from wavesparse.runtime import kernels
    rng = np.random.default_rng(length)
    batch, heads = 3, 2
    scores = (4 * rng.standard_normal((batch, heads, length, length))).astype(np.float32)
    keep = rng.random((batch, length)) < 0.7
    keep[0, 0] = True
    keep[2] = False
    want = kernels.masked_softmax(scores.reshape(-1, length).copy(), keep, heads * length, 0.3)
    got = kernels.masked_softmax_t(np.ascontiguousarray(scores.transpose(0, 1, 3, 2)), keep, 0.3)
    np.testing.assert_allclose(got.transpose(0, 1, 3, 2).reshape(-1, length), want,
                               rtol=1e-5, atol=1e-6)
    assert not got[2].any()
