"""WandaPruner against a numpy oracle written out from the paper."""

import numpy as np
import pytest

from wavesparse import MagnitudePruner, WandaPruner
from wavesparse.calibration import CalibrationStats, LayerStats, Recorder


def oracle(w, x, sparsity, groups, prior=None):
    """Keep-mask: score |W_ij| * ||X_j|| from the raw inputs, the k smallest
    pruned per row (or per tensor); prior-pruned first, then lower index."""
    matrix = w.reshape(w.shape[0], -1).astype(np.float64)
    norms = np.sqrt((x.astype(np.float64) ** 2).sum(axis=0))
    score = np.abs(matrix) * norms
    prior = np.ones(matrix.shape, bool) if prior is None else prior.reshape(matrix.shape)
    keep = np.ones(matrix.shape, bool)
    if groups == "row":
        k = round(sparsity * matrix.shape[1])
        for i in range(matrix.shape[0]):
            order = sorted(range(matrix.shape[1]),
                           key=lambda j: (bool(prior[i, j]), score[i, j], j))
            gone = set(order[:k]) | {j for j in range(matrix.shape[1]) if not prior[i, j]}
            keep[i, sorted(gone)] = False
    else:
        k = round(sparsity * matrix.size)
        flat_score, flat_prior = score.ravel(), prior.ravel()
        order = sorted(range(matrix.size), key=lambda j: (bool(flat_prior[j]), flat_score[j], j))
        flat = keep.ravel()
        flat[order[:k]] = False
        flat[~flat_prior] = False
    return keep.reshape(w.shape)


def stats_of(name, x, gram=False):
    rec = Recorder(gram=gram)
    rec.add(name, x)
    return rec.stats()


@pytest.mark.parametrize("groups", ["row", "layer"])
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.77])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_the_oracle_on_random_layers(groups, sparsity, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((11, 23)).astype(np.float32)
    x = rng.standard_normal((40, 23)) * rng.uniform(0.1, 10, 23)
    pruned, mask = WandaPruner(sparsity, stats_of("fc", x), groups=groups).prune_layer(
        w, name="fc")
    expected = oracle(w, x, sparsity, groups)
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(pruned, np.where(expected, w, 0))
    assert pruned.dtype == np.float32


@pytest.mark.parametrize("groups", ["row", "layer"])
def test_ties_follow_position(groups):
    rng = np.random.default_rng(3)
    w = rng.choice([-2.0, -1.0, 1.0, 2.0], size=(6, 8))
    x = np.repeat(rng.choice([1.0, 2.0], size=(1, 8)), 5, axis=0)  # few distinct scores
    _, mask = WandaPruner(0.5, stats_of("w", x), groups=groups).prune_layer(w, name="w")
    np.testing.assert_array_equal(mask, oracle(w, x, 0.5, groups))


@pytest.mark.parametrize("groups", ["row", "layer"])
def test_prior_pruned_weights_go_first_and_stay_pruned(groups):
    rng = np.random.default_rng(4)
    w = rng.standard_normal((5, 10))
    x = rng.standard_normal((30, 10))
    prior = rng.random((5, 10)) > 0.25
    prior[0, :8] = False  # a row its prior overfills
    _, mask = WandaPruner(0.4, stats_of("w", x), groups=groups).prune_layer(
        w, mask=prior, name="w")
    np.testing.assert_array_equal(mask, oracle(w, x, 0.4, groups, prior))
    assert not (mask & ~prior).any()


def test_exact_count_per_row():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((7, 30))
    _, mask = WandaPruner(0.7, stats_of("w", rng.standard_normal((9, 30)))).prune_layer(
        w, name="w")
    assert (mask.sum(axis=1) == 30 - 21).all()


def test_conv_weights_are_matrices():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((4, 3, 2, 2))
    x = rng.standard_normal((20, 12))
    _, mask = WandaPruner(0.5, stats_of("conv", x)).prune_layer(w, name="conv")
    np.testing.assert_array_equal(mask, oracle(w, x, 0.5, "row"))


def test_uniform_inputs_give_magnitude_pruning():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((8, 16))
    stats = CalibrationStats({"w": LayerStats(4, np.full(16, 4.0))})
    wanda = WandaPruner(0.6, stats, groups="layer").prune_layer(w, name="w")[1]
    np.testing.assert_array_equal(wanda, MagnitudePruner(0.6).prune_layer(w)[1])


def test_prune_model_checks_every_tensor_first(tmp_path):
    rng = np.random.default_rng(8)
    model = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal((3, 5)),
             "bias": np.ones(3)}
    stats = stats_of("a", rng.standard_normal((6, 4)))
    with pytest.raises(ValueError, match="no statistics for tensor 'b'"):
        WandaPruner(0.5, stats).prune_model(model)
    pruned, masks = WandaPruner(0.5, stats, include=["a"]).prune_model(model)
    assert sorted(masks) == ["a"] and pruned["b"] is model["b"]
    path = tmp_path / "s.safetensors"
    Recorder(gram=False).save(path)
    with pytest.raises(ValueError, match="no statistics for tensor 'a'"):
        WandaPruner(0.5, str(path)).prune_model(model)


def test_arguments_are_checked():
    stats = stats_of("w", np.ones((2, 2)))
    with pytest.raises(ValueError, match="groups"):
        WandaPruner(0.5, stats, groups="column")
    with pytest.raises(TypeError, match="groups"):
        WandaPruner(0.5, stats, groups=1)
    with pytest.raises(TypeError, match="stats must be"):
        WandaPruner(0.5, [1, 2])
    with pytest.raises(ValueError, match="pass name="):
        WandaPruner(0.5, stats).prune_layer(np.ones((2, 2)))
    with pytest.raises(ValueError, match="input width 3"):
        WandaPruner(0.5, stats).prune_layer(np.ones((2, 3)), name="w")
