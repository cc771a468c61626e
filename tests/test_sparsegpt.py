"""SparseGPTPruner: exactness, the least-squares optimum, lower output error."""

import numpy as np
import pytest

from wavesparse import MagnitudePruner, SparseGPTPruner, WandaPruner
from wavesparse.calibration import CalibrationStats, LayerStats, Recorder
from wavesparse.pruning.sparsegpt import inverse_hessian_factor


def stats_of(name, x, gram=True):
    rec = Recorder(gram=gram)
    rec.add(name, x)
    return rec.stats()


def plain_sparsegpt(w, x, sparsity, groups, block, damp, prior=None):
    """The paper's algorithm written out without lazy updates: the mask of
    each block by saliency w^2 / U_jj^2 at the block's start (prior-pruned
    first, then lower row-major position), then column by column the pruned
    weights removed and every later column updated."""
    w = w.astype(np.float64).copy()
    rows, n = w.shape
    h = x.T @ x
    h += damp * np.mean(np.diag(h)) * np.eye(n)
    u = np.linalg.cholesky(np.linalg.inv(h)).T
    prior = np.ones(w.shape, bool) if prior is None else prior
    keep = np.ones(w.shape, bool)
    for start in range(0, n, block):
        end = min(start + block, n)
        sal = w[:, start:end] ** 2 / np.diag(u)[start:end] ** 2
        if groups == "row":
            for i in range(rows):
                k = round(sparsity * end) - int((~keep[i, :start]).sum())
                order = sorted(range(end - start),
                               key=lambda j: (bool(prior[i, start + j]), sal[i, j], j))
                for j in order[:max(k, 0)]:
                    keep[i, start + j] = False
                keep[i, start:end] &= prior[i, start:end]
        else:
            k = round(sparsity * rows * end) - int((~keep[:, :start]).sum())
            cells = [(i, j) for i in range(rows) for j in range(end - start)]
            order = sorted(cells, key=lambda c: (bool(prior[c[0], start + c[1]]), sal[c], c))
            for i, j in order[:max(k, 0)]:
                keep[i, start + j] = False
            keep[:, start:end] &= prior[:, start:end]
        for j in range(start, end):
            err = np.where(keep[:, j], 0.0, w[:, j] / u[j, j])
            w[:, j:] -= np.outer(err, u[j, j:])
    return np.where(keep, w, 0.0), keep


def low_rank_inputs(rng, rows, width, rank):
    return rng.standard_normal((rows, rank)) @ rng.standard_normal((rank, width))


def output_error(x, w, pruned):
    return np.linalg.norm(x @ (w - pruned).T) / np.linalg.norm(x @ w.T)


def test_factor_is_the_upper_cholesky_factor_of_the_damped_inverse():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 12))
    h = x.T @ x
    u = inverse_hessian_factor(h, damp=0.1)
    damped = h + 0.1 * np.mean(np.diag(h)) * np.eye(12)
    np.testing.assert_allclose(u, np.linalg.cholesky(np.linalg.inv(damped)).T, rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("groups", ["layer", "row"])
@pytest.mark.parametrize("block", [1, 5, 8, 128])
@pytest.mark.parametrize("sparsity", [0.25, 0.5, 0.8])
def test_equals_the_plain_algorithm(groups, block, sparsity):
    rng = np.random.default_rng(block)
    w = rng.standard_normal((9, 37))  # 37 columns: blocks and sub-blocks do not divide it
    x = low_rank_inputs(rng, 60, 37, 20) + 0.1 * rng.standard_normal((60, 37))
    pruned, mask = SparseGPTPruner(sparsity, stats_of("fc", x), block_size=block,
                                   groups=groups).prune_layer(w, name="fc")
    expected, expected_mask = plain_sparsegpt(w, x, sparsity, groups, block, 0.01)
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(pruned, expected, rtol=1e-9, atol=1e-9)
    count = (~mask).sum(axis=1) if groups == "row" else (~mask).sum()
    assert np.all(count == (round(sparsity * 37) if groups == "row" else round(sparsity * w.size)))


@pytest.mark.parametrize("groups", ["layer", "row"])
def test_prior_pruned_weights_go_first_and_stay_pruned(groups):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((6, 20))
    x = rng.standard_normal((40, 20))
    prior = rng.random(w.shape) > 0.3
    pruned, mask = SparseGPTPruner(0.5, stats_of("w", x), block_size=8,
                                   groups=groups).prune_layer(w, mask=prior, name="w")
    expected, expected_mask = plain_sparsegpt(w, x, 0.5, groups, 8, 0.01, prior)
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(pruned, expected, rtol=1e-9, atol=1e-9)
    assert not (mask & ~prior).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparsity_zero_returns_the_weights_unchanged(dtype):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((8, 16)).astype(dtype)
    pruned, mask = SparseGPTPruner(0.0, stats_of("w", rng.standard_normal((30, 16)))
                                   ).prune_layer(w, name="w")
    assert mask.all() and pruned.dtype == dtype
    np.testing.assert_array_equal(pruned, w)


def test_fixed_mask_gives_the_least_squares_optimum():
    # With the pruned weights of each row before its kept ones, every kept
    # weight can still move, and the result is min ||X w - X w'|| over the
    # kept weights: the closed form (X_K^T X_K)^-1 X_K^T X w.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((25, 6))
    w = rng.standard_normal((3, 6))
    prior = np.ones((3, 6), bool)
    prior[:, :2] = False
    prior[1, 2] = False
    stats = stats_of("w", x)
    pruned, mask = SparseGPTPruner(7 / 18, stats, damp=0.0).prune_layer(w, mask=prior,
                                                                      name="w")
    np.testing.assert_array_equal(mask, prior)
    for i in range(3):
        kept = np.flatnonzero(prior[i])
        xk = x[:, kept]
        optimum = np.linalg.solve(xk.T @ xk, xk.T @ (x @ w[i]))
        np.testing.assert_allclose(pruned[i, kept], optimum, rtol=1e-10)
        assert np.all(pruned[i, ~prior[i]] == 0)


@pytest.mark.parametrize("groups", ["layer", "row"])
def test_lower_output_error_than_wanda_and_magnitude_on_low_rank_inputs(groups):
    rng = np.random.default_rng(4)
    w = rng.standard_normal((32, 64))
    x = low_rank_inputs(rng, 400, 64, 16)  # inputs span 16 of 64 dimensions
    stats = stats_of("fc", x)
    ours, m1 = SparseGPTPruner(0.5, stats, groups=groups, block_size=16).prune_layer(
        w, name="fc")
    wanda, m2 = WandaPruner(0.5, stats, groups=groups).prune_layer(w, name="fc")
    if groups == "row":
        magnitude = np.array([MagnitudePruner(0.5).prune_layer(r)[0] for r in w])
    else:
        magnitude = MagnitudePruner(0.5).prune_layer(w)[0]
    assert (~m1).sum() == (~m2).sum() == (magnitude == 0).sum() == w.size // 2
    e_ours = output_error(x, w, ours)
    assert e_ours < 0.6 * output_error(x, w, wanda)
    assert e_ours < 0.6 * output_error(x, w, magnitude)


def test_float32_follows_float64():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((16, 40))
    x = rng.standard_normal((100, 40))
    stats = stats_of("w", x)
    p64, m64 = SparseGPTPruner(0.5, stats, block_size=16).prune_layer(w, name="w")
    p32, m32 = SparseGPTPruner(0.5, stats, block_size=16).prune_layer(
        w.astype(np.float32), name="w")
    assert p32.dtype == np.float32
    np.testing.assert_array_equal(m32, m64)
    np.testing.assert_allclose(p32, p64, rtol=1e-3, atol=1e-4)


def test_prune_model_updates_kept_weights_and_reports():
    rng = np.random.default_rng(6)
    model = {"a.weight": rng.standard_normal((4, 8)), "a.bias": np.zeros(4),
             "conv.weight": rng.standard_normal((3, 2, 2, 2))}
    rec = Recorder()
    rec.add("a.weight", rng.standard_normal((30, 8)))
    rec.add("conv.weight", rng.standard_normal((30, 8)))
    pruner = SparseGPTPruner(0.5, rec.stats())
    pruned, masks = pruner.prune_model(model)
    assert sorted(masks) == ["a.weight", "conv.weight"]
    for name, mask in masks.items():
        assert pruned[name].shape == model[name].shape
        assert (~mask).sum() == model[name].size // 2
        assert np.all(pruned[name][~mask] == 0)
        assert not np.allclose(pruned[name][mask], model[name][mask])  # updated
    assert pruner.history[-1]["achieved_sparsity"] == 0.5


def test_clear_errors():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((3, 4))
    no_gram = stats_of("w", rng.standard_normal((10, 4)), gram=False)
    with pytest.raises(ValueError, match="no Gram matrix for 'w'"):
        SparseGPTPruner(0.5, no_gram).prune_layer(w, name="w")
    zero = CalibrationStats({"w": LayerStats(10, np.zeros(4), np.zeros((4, 4)))})
    with pytest.raises(ValueError, match="not positive definite even after damping.*zero"):
        SparseGPTPruner(0.5, zero).prune_layer(w, name="w")
    negative = CalibrationStats({"w": LayerStats(10, np.ones(4), -np.eye(4) + 0.1)})
    with pytest.raises(ValueError, match="'w' is not positive definite"):
        SparseGPTPruner(0.5, negative).prune_layer(w, name="w")
    singular = stats_of("w", low_rank_inputs(rng, 10, 4, 2))
    with pytest.raises(ValueError, match="not positive definite"):
        SparseGPTPruner(0.5, singular, damp=0.0).prune_layer(w, name="w")
    SparseGPTPruner(0.5, singular).prune_layer(w, name="w")  # damping makes it definite
    with pytest.raises(ValueError, match="block_size"):
        SparseGPTPruner(0.5, singular, block_size=0)
    with pytest.raises(TypeError, match="block_size"):
        SparseGPTPruner(0.5, singular, block_size=2.5)
    with pytest.raises(ValueError, match="damp"):
        SparseGPTPruner(0.5, singular, damp=-1.0)
    with pytest.raises(ValueError, match="groups"):
        SparseGPTPruner(0.5, singular, groups="block")


@pytest.mark.parametrize("sub_block, lazy_rows", [(1, 1), (3, 7), (64, 2)])
def test_block_splits_do_not_change_the_result(monkeypatch, sub_block, lazy_rows):
    from wavesparse.pruning import sparsegpt as module
    monkeypatch.setattr(module, "_SUB_BLOCK", sub_block)
    monkeypatch.setattr(module, "_LAZY_ROWS", lazy_rows)
    rng = np.random.default_rng(8)
    w = rng.standard_normal((5, 30))
    x = rng.standard_normal((50, 30))
    pruned, mask = SparseGPTPruner(0.6, stats_of("w", x), block_size=8).prune_layer(w, name="w")
    expected, expected_mask = plain_sparsegpt(w, x, 0.6, "layer", 8, 0.01)
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(pruned, expected, rtol=1e-9, atol=1e-9)


def plain_sparsegpt_nm(w, x, n, m, damp, prior=None):
    """N:M SparseGPT written out: column by column, and at the first column
    of each group of m, in every row the m - n smallest w^2 / U_jj^2 of the
    group as the earlier updates left it (prior-pruned first, then the lower
    column) are pruned."""
    w = w.astype(np.float64).copy()
    rows, width = w.shape
    h = x.T @ x
    h += damp * np.mean(np.diag(h)) * np.eye(width)
    u = np.linalg.cholesky(np.linalg.inv(h)).T
    prior = np.ones(w.shape, bool) if prior is None else prior
    keep = np.ones(w.shape, bool)
    for j in range(width):
        if j % m == 0:
            for i in range(rows):
                sal = [w[i, c] ** 2 / u[c, c] ** 2 for c in range(j, j + m)]
                order = sorted(range(m), key=lambda c: (bool(prior[i, j + c]), sal[c], c))
                for c in order[:m - n]:
                    keep[i, j + c] = False
            keep[:, j:j + m] &= prior[:, j:j + m]
        err = np.where(keep[:, j], 0.0, w[:, j] / u[j, j])
        w[:, j:] -= np.outer(err, u[j, j:])
    return np.where(keep, w, 0.0), keep


@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (4, 8), (1, 2)])
@pytest.mark.parametrize("block", [8, 16, 128])
def test_nm_equals_the_plain_algorithm(n, m, block):
    rng = np.random.default_rng(10 + m + block)
    w = rng.standard_normal((7, 48))
    x = low_rank_inputs(rng, 80, 48, 30) + 0.1 * rng.standard_normal((80, 48))
    pruner = SparseGPTPruner(None, stats_of("fc", x), block_size=block, nm=(n, m))
    assert pruner.sparsity == 1 - n / m
    pruned, mask = pruner.prune_layer(w, name="fc")
    expected, expected_mask = plain_sparsegpt_nm(w, x, n, m, 0.01)
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(pruned, expected, rtol=1e-9, atol=1e-9)
    assert np.all(mask.reshape(7, -1, m).sum(axis=2) == n)


@pytest.mark.parametrize("sub_block", [1, 3, 64])
def test_nm_sub_blocks_do_not_change_the_result(monkeypatch, sub_block):
    from wavesparse.pruning import sparsegpt as module
    monkeypatch.setattr(module, "_SUB_BLOCK", sub_block)
    monkeypatch.setattr(module, "_LAZY_ROWS", 5)
    rng = np.random.default_rng(12)
    w = rng.standard_normal((5, 32))
    x = rng.standard_normal((60, 32))
    pruned, mask = SparseGPTPruner(0.5, stats_of("w", x), block_size=8,
                                   nm="2:4").prune_layer(w, name="w")
    expected, expected_mask = plain_sparsegpt_nm(w, x, 2, 4, 0.01)
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(pruned, expected, rtol=1e-9, atol=1e-9)


def test_nm_prior_pruned_weights_go_first_and_stay_pruned():
    rng = np.random.default_rng(13)
    w = rng.standard_normal((6, 16))
    x = rng.standard_normal((40, 16))
    prior = rng.random(w.shape) > 0.3
    pruned, mask = SparseGPTPruner(0.5, stats_of("w", x), block_size=8,
                                   nm=(2, 4)).prune_layer(w, mask=prior, name="w")
    expected, expected_mask = plain_sparsegpt_nm(w, x, 2, 4, 0.01, prior)
    np.testing.assert_array_equal(mask, expected_mask)
    np.testing.assert_allclose(pruned, expected, rtol=1e-9, atol=1e-9)
    assert not (mask & ~prior).any()


def test_nm_lower_output_error_than_nm_magnitude_and_wanda():
    from wavesparse import NMPruner
    rng = np.random.default_rng(14)
    w = rng.standard_normal((32, 64))
    x = low_rank_inputs(rng, 400, 64, 24)
    stats = stats_of("fc", x)
    ours, mask = SparseGPTPruner(None, stats, nm=(2, 4)).prune_layer(w, name="fc")
    assert np.all(mask.reshape(32, 16, 4).sum(axis=2) == 2)
    e_ours = output_error(x, w, ours)
    for criterion in ("magnitude", "wanda"):
        other, _ = NMPruner(2, 4, criterion=criterion, stats=stats).prune_layer(w, name="fc")
        assert e_ours < 0.7 * output_error(x, w, other)


def test_nm_clear_errors():
    rng = np.random.default_rng(15)
    stats = stats_of("w", rng.standard_normal((30, 6)))
    with pytest.raises(ValueError, match="not a multiple of m=4"):
        SparseGPTPruner(None, stats, nm=(2, 4)).prune_layer(rng.standard_normal((3, 6)),
                                                            name="w")
    with pytest.raises(ValueError, match="sparsity=0.7 disagrees"):
        SparseGPTPruner(0.7, stats, nm=(2, 4))
    with pytest.raises(ValueError, match="block_size must be a multiple of m=4"):
        SparseGPTPruner(None, stats, nm=(2, 4), block_size=6)
    with pytest.raises(ValueError, match="1 <= n <= m"):
        SparseGPTPruner(None, stats, nm=(5, 4))
    with pytest.raises(TypeError, match="nm must be a pair"):
        SparseGPTPruner(None, stats, nm=4)
    stats8 = stats_of("w", rng.standard_normal((30, 8)))
    with pytest.raises(ValueError, match="a sparsity of 0.7 cannot be asked"):
        SparseGPTPruner(None, stats8, nm=(2, 4)).prune_layer(rng.standard_normal((3, 8)),
                                                             sparsity=0.7, name="w")
