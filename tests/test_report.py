"""Reports: the output error against a float64 formula, and its memory
(issue 14, item 25: the report works in blocks, never on float64 copies)."""

import tracemalloc

import numpy as np
import pytest

from wavesparse import formats, report


def direct_error(w, p, samples=8, seed=0):
    """The formula written out on whole float64 matrices (the oracle)."""
    w = np.asarray(w, np.float64).reshape(w.shape[0], -1)
    p = np.asarray(p, np.float64).reshape(w.shape)
    x = np.random.default_rng(seed).standard_normal((w.shape[1], samples))
    return np.linalg.norm((w - p) @ x) / np.linalg.norm(w @ x)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(report, "BLOCK_ELEMENTS", 4096)


def pruned_pair(shape, dtype=np.float32):
    rng = np.random.default_rng(1)
    w = rng.standard_normal(shape).astype(dtype)
    p = np.where(np.abs(w) > 0.7, w, 0).astype(dtype)
    return w, p


@pytest.mark.parametrize("shape", [(300, 70), (40, 3, 5, 5), (7,)])
def test_dense_error_matches_the_formula(small_blocks, shape):
    w, p = pruned_pair(shape)
    assert report.output_error(w, p) == pytest.approx(direct_error(w.reshape(
        w.shape[0] if w.ndim > 1 else 1, -1), p.reshape(w.shape[0] if w.ndim > 1 else 1, -1)),
        rel=1e-12)


@pytest.mark.parametrize("layout", ["csr", "bsr", "bsr-padded"])
def test_sparse_error_matches_the_formula(small_blocks, layout):
    w, p = pruned_pair((300, 64))
    if layout == "csr":
        packed = formats.to_csr(p)
    elif layout == "bsr":
        packed = formats.to_bsr(p, (4, 8))
    else:
        w, p = w[:298, :61], p[:298, :61]
        packed = formats.to_bsr(p, 16, pad=True)
        packed.original_shape = p.shape
    assert report.output_error(w, packed) == pytest.approx(direct_error(w, p), rel=1e-12)


def test_empty_and_zero():
    assert report.output_error(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32)) == 0.0
    assert report.output_error(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0


def test_error_makes_no_float64_copy_of_the_weight():
    """It made three float64 copies (6x a float32 weight); now blocks only."""
    w, p = pruned_pair((2048, 2048))  # 16 MiB of float32; a block is 8 MiB of float64
    tracemalloc.start()
    try:
        report.output_error(w, p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < w.nbytes
