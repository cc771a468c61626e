"""Pruners against oracles written out with numpy (lexsort of |w|, position)."""

import numpy as np
import pytest

from wavesparse import GradualPruner, MagnitudePruner, StructuredPruner
from wavesparse.pruning import propagate, select_layers


def oracle_mask(arrays, k):
    """Keep all but the k smallest (|w|, array order, flat index) elements."""
    flat = np.concatenate([np.abs(a).ravel() for a in arrays])
    order = np.lexsort((np.arange(flat.size), flat))
    keep = np.ones(flat.size, bool)
    keep[order[:k]] = False
    out, start = [], 0
    for a in arrays:
        out.append(keep[start:start + a.size].reshape(a.shape))
        start += a.size
    return out


# ------------------------------------------------------------ magnitude

@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.7, 0.9, 0.95])
@pytest.mark.parametrize("shape", [(1,), (7,), (33, 17), (3, 5, 7)])
def test_local_exact_count_and_largest_kept(sparsity, shape, dtype):
    w = np.random.default_rng(len(shape)).standard_normal(shape).astype(dtype)
    pruned, mask = MagnitudePruner(sparsity).prune_layer(w)
    k = int(round(sparsity * w.size))
    assert np.count_nonzero(~mask) == k and np.count_nonzero(pruned == 0) == k
    np.testing.assert_array_equal(mask, oracle_mask([w], k)[0])
    np.testing.assert_array_equal(pruned, np.where(mask, w, 0))
    assert pruned.dtype == dtype
    if 0 < k < w.size:
        assert np.abs(w[mask]).min() >= np.abs(w[~mask]).max()


def test_ties_broken_by_position():
    w = np.array([[1.0, -1.0, 1.0], [0.5, 1.0, -1.0]])
    pruned, mask = MagnitudePruner(0.5).prune_layer(w)
    # 0.5 first, then the first two of the five tied 1.0s.
    np.testing.assert_array_equal(mask, [[False, False, True], [False, True, True]])
    np.testing.assert_array_equal(mask, oracle_mask([w], 3)[0])


def test_edge_cases(dtype):
    pruner = MagnitudePruner(0.5)
    zeros = np.zeros((4, 4), dtype)
    pruned, mask = pruner.prune_layer(zeros)
    assert np.count_nonzero(~mask) == 8 and not pruned.any()
    pruned, mask = pruner.prune_layer(np.array([3.0], dtype))
    assert mask.all()  # round(0.5) == 0
    neg = -np.arange(1, 11, dtype=dtype)
    pruned, mask = pruner.prune_layer(neg)
    np.testing.assert_array_equal(pruned, np.where(np.abs(neg) > 5, neg, 0))
    f = np.asfortranarray(np.random.default_rng(1).standard_normal((9, 11)).astype(dtype))
    pruned, mask = pruner.prune_layer(f)
    np.testing.assert_array_equal(mask, oracle_mask([f], 50)[0])


def test_repruning_keeps_old_zeros_and_counts_them():
    rng = np.random.default_rng(2)
    w = rng.standard_normal(1000)
    pruner = MagnitudePruner(0.5)
    first, m1 = pruner.prune_layer(w)
    second, m2 = pruner.prune_layer(first, sparsity=0.75)
    assert np.count_nonzero(second == 0) == 750
    assert not (m2 & ~m1).any()
    lower, m3 = pruner.prune_layer(second, sparsity=0.3)
    assert np.count_nonzero(lower == 0) == 750  # zeros are never brought back


def test_prior_mask_is_pruned_first_among_zero_ties():
    w = np.array([0.0, 0.0, 5.0, 6.0, 7.0, 8.0])
    prior = np.array([True, True, False, True, True, True])
    pruned, mask = MagnitudePruner(0.5).prune_layer(w, mask=prior)
    # k = 3: the prior-pruned 5.0 first, then the zeros by position.
    np.testing.assert_array_equal(mask, [False, False, False, True, True, True])


def test_global_single_threshold_vs_local():
    rng = np.random.default_rng(3)
    model = {"small": rng.standard_normal((20, 30)).astype(np.float32) * 0.01,
             "big": rng.standard_normal((30, 10)).astype(np.float64),
             "bias": np.ones(10, np.float32)}
    pruned, masks = MagnitudePruner(0.6, scope="global").prune_model(model)
    assert set(masks) == {"small", "big"}
    assert pruned["bias"] is model["bias"]
    expected = oracle_mask([model["small"], model["big"]], int(round(0.6 * 900)))
    np.testing.assert_array_equal(masks["small"], expected[0])
    np.testing.assert_array_equal(masks["big"], expected[1])
    assert masks["small"].mean() < 0.2 < 0.8 < masks["big"].mean()  # small layer pruned hard
    local, local_masks = MagnitudePruner(0.6).prune_model(model)
    for name in ("small", "big"):
        assert np.count_nonzero(~local_masks[name]) == round(0.6 * model[name].size)
    assert pruned["big"].dtype == np.float64 and pruned["small"].dtype == np.float32


def test_include_exclude_and_history():
    model = {"enc.0.weight": np.ones((4, 4)), "enc.0.bias": np.ones(4),
             "head.weight": np.arange(16.0).reshape(4, 4)}
    assert select_layers(model) == ["enc.0.weight", "head.weight"]
    pruner = MagnitudePruner(0.5, include=["enc.*"], exclude=["*.bias"])
    pruned, masks = pruner.prune_model(model)
    assert list(masks) == ["enc.0.weight"]
    record = pruner.history[-1]
    assert record["target_sparsity"] == 0.5 and record["achieved_sparsity"] == 0.5
    assert record["total"] == 16 and record["zeros"] == 8
    assert record["layers"]["enc.0.weight"]["threshold"] == 1.0
    with pytest.raises(ValueError, match="include pattern 'dec.*' matches no tensor"):
        MagnitudePruner(0.5, include=["dec.*"]).prune_model(model)


def test_stats():
    masks = {"a": np.eye(4, dtype=bool), "b": np.ones((2, 8), bool)}
    s = MagnitudePruner.get_compression_stats(masks)
    assert s["total_params"] == 32 and s["remaining_params"] == 20
    assert s["compression_ratio"] == pytest.approx(32 / 20)
    assert s["per_layer"]["a"]["csr_bytes"] == 4 * 8 + 5 * 4
    assert s["memory_reduction"] == pytest.approx(1 - s["csr_bytes"] / 128)
    assert MagnitudePruner.measure_sparsity(np.array([0.0, 1.0, 0.0])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan")])
def test_sparsity_validation(bad):
    with pytest.raises(ValueError, match="sparsity"):
        MagnitudePruner(bad)


@pytest.mark.parametrize("bad", ["0.5", [0.5], None])
def test_sparsity_of_wrong_type_is_a_type_error(bad):
    with pytest.raises(TypeError, match="sparsity must be a real number"):
        MagnitudePruner(bad)


def test_refuses_integer_and_nan_weights():
    with pytest.raises(TypeError, match="float32 or float64"):
        MagnitudePruner(0.5).prune_layer(np.arange(10))
    with pytest.raises(ValueError, match="NaN"):
        MagnitudePruner(0.5).prune_layer(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="scope must be"):
        MagnitudePruner(0.5, scope="layer")


# ------------------------------------------------------------ structured

def test_channels_keep_highest_l1_and_l2_orderings_differ():
    w = np.array([[3.0, 0.0, 0.0], [1.0, 1.0, 1.1], [0.1, 0.1, 0.1]])
    _, kept_l1 = StructuredPruner(0.34, "l1").prune_channels(w)
    _, kept_l2 = StructuredPruner(0.34, "l2").prune_channels(w)
    np.testing.assert_array_equal(kept_l1, [0, 1])
    # L1: [3, 3.1, .3] keeps 0 and 1; L2 would rank row 0 (3.0) above row 1 (1.73).
    _, kept_l1_one = StructuredPruner(0.67, "l1").prune_channels(w)
    _, kept_l2_one = StructuredPruner(0.67, "l2").prune_channels(w)
    assert kept_l1_one.tolist() == [1] and kept_l2_one.tolist() == [0]
    assert kept_l2.tolist() == [0, 1]


def test_conv_shapes_and_propagate():
    rng = np.random.default_rng(0)
    conv1 = rng.standard_normal((16, 3, 3, 3))
    conv2 = rng.standard_normal((32, 16, 3, 3))
    pruner = StructuredPruner(0.5)
    small1, kept = pruner.prune_channels(conv1)
    assert small1.shape == (8, 3, 3, 3)
    scores = np.abs(conv1).sum(axis=(1, 2, 3))
    assert set(kept) == set(np.argsort(-scores)[:8])
    small2 = propagate(conv2, kept)
    assert small2.shape == (32, 8, 3, 3)
    np.testing.assert_array_equal(small2, conv2[:, kept])
    filtered, kept_in = pruner.prune_filters(conv2)
    assert filtered.shape == (32, 8, 3, 3)


def test_mlp_still_multiplies_after_propagate():
    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((64, 20)), rng.standard_normal((10, 64))
    x = rng.standard_normal(20)
    small1, kept = StructuredPruner(0.75).prune_channels(w1)
    small2 = propagate(w2, kept)
    h = np.maximum(w1 @ x, 0)
    h[np.setdiff1d(np.arange(64), kept)] = 0
    np.testing.assert_allclose(small2 @ np.maximum(small1 @ x, 0), w2 @ h)


def test_never_removes_every_unit():
    _, kept = StructuredPruner(0.99).prune_channels(np.ones((3, 2)))
    assert kept.tolist() == [0]


def test_heads_rows_and_columns():
    rng = np.random.default_rng(2)
    heads, d, model = 4, 8, 32
    q = rng.standard_normal((heads * d, model))
    q[2 * d:3 * d] *= 0.01
    pruned, kept = StructuredPruner(0.25).prune_attention_heads(q, heads)
    assert kept.tolist() == [0, 1, 3] and pruned.shape == (24, model)
    out_proj = rng.standard_normal((model, heads * d))
    sliced = propagate(out_proj, kept, axis=1, group=d)
    np.testing.assert_array_equal(sliced, np.delete(out_proj, np.s_[2 * d:3 * d], axis=1))
    pruned_cols, kept_cols = StructuredPruner(0.5).prune_attention_heads(out_proj, heads, axis=1)
    assert pruned_cols.shape == (model, 16)
    with pytest.raises(ValueError, match="num_heads must be positive and divide 32"):
        StructuredPruner(0.5).prune_attention_heads(q, 5)


def test_taylor_needs_gradients():
    w = np.array([[1.0, 1.0], [0.1, 0.1], [5.0, 0.0]])
    grad = np.array([[1.0, 1.0], [100.0, 100.0], [0.0, 0.01]])
    pruner = StructuredPruner(0.34, importance_metric="taylor")
    with pytest.raises(ValueError, match="needs the gradients"):
        pruner.prune_channels(w)
    np.testing.assert_allclose(pruner.importance_scores(w, grad), [2.0, 20.0, 0.0])
    assert pruner.prune_channels(w, grad)[1].tolist() == [0, 1]
    with pytest.raises(ValueError, match="grad must have the shape"):
        pruner.importance_scores(w, grad[:2])


# ------------------------------------------------------------ gradual

def test_schedule_values_from_zhu_and_gupta():
    g = GradualPruner(0.0, 0.9, begin_step=1000, end_step=10000, frequency=1000)
    expected = {0: 0.0, 999: 0.0, 3000: 0.477, 5000: 0.746, 7000: 0.867,
                9000: 0.899, 10000: 0.9, 20000: 0.9}
    for step, value in expected.items():
        assert round(g.compute_sparsity(step), 3) == value, step
    assert g.get_schedule()[0] == (1000, 0.0)
    assert [s for s, _ in g.get_schedule()] == list(range(1000, 10001, 1000))


def test_frequency_grid_and_end_step():
    g = GradualPruner(begin_step=5, end_step=27, frequency=10)
    assert [s for s in range(40) if g.should_prune(s)] == [5, 15, 25, 27]
    one_shot = GradualPruner(0.0, 0.8, begin_step=7, end_step=7)
    assert one_shot.compute_sparsity(6) == 0.0 and one_shot.compute_sparsity(7) == 0.8
    assert [s for s in range(20) if one_shot.should_prune(s)] == [7]


@pytest.mark.parametrize("kwargs, match", [
    ({"begin_step": -1}, "begin_step must be >= 0"),
    ({"begin_step": 10, "end_step": 5}, r"end_step \(5\) must be >= begin_step \(10\)"),
    ({"frequency": 0}, "frequency must be >= 1"),
    ({"final_sparsity": 1.0}, "final_sparsity must be in"),
])
def test_gradual_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GradualPruner(**kwargs)


def test_masks_only_grow_and_match_schedule():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((40, 25))
    g = GradualPruner(0.0, 0.9, begin_step=0, end_step=100, frequency=10)
    previous = np.ones(w.shape, bool)
    for step in range(0, 101):
        w = w + rng.standard_normal(w.shape) * 0.01  # training moves the weights
        pruned, mask = g.prune_step(w, step)
        assert not (mask & ~previous).any()
        if g.should_prune(step):
            assert np.count_nonzero(~mask) == max(round(g.compute_sparsity(step) * w.size),
                                                  np.count_nonzero(~previous))
        np.testing.assert_array_equal(pruned, np.where(mask, w, 0))
        w = pruned
        previous = mask
    assert np.count_nonzero(~previous) == 900


def test_gradual_on_a_model_and_one_shot_equivalence():
    rng = np.random.default_rng(5)
    model = {"a": rng.standard_normal((10, 10)), "b": rng.standard_normal((5, 20)),
             "bias": np.ones(5)}
    g = GradualPruner(0.0, 0.5, begin_step=0, end_step=0,
                      pruner=MagnitudePruner(0.5, scope="global"))
    pruned, masks = g.prune_step(model, 0)
    one, one_masks = MagnitudePruner(0.5, scope="global").prune_model(model)
    for name in ("a", "b"):
        np.testing.assert_array_equal(masks[name], one_masks[name])
    later, later_masks = g.prune_step(model, 5)  # off the grid: masks applied
    np.testing.assert_array_equal(later["a"], np.where(masks["a"], model["a"], 0))


def test_include_and_exclude_given_as_one_string_are_refused():
    """include="fc.weight" was read letter by letter: "include pattern 'f'
    matches no tensor name", or, where every letter matched, a wrong choice."""
    from wavesparse.pruning import layer_choice
    w = {"fc.weight": np.ones((2, 2)), "b": np.ones(2)}
    for kind in ("include", "exclude"):
        with pytest.raises(TypeError, match="%s must be a list of glob patterns" % kind):
            layer_choice(w, **{kind: "fc.weight"})
        with pytest.raises(TypeError, match="%s must hold str glob patterns, got 3" % kind):
            layer_choice(w, **{kind: ["fc.weight", 3]})
    assert layer_choice(w, include=("fc.*" for _ in range(1))) == {
        "fc.weight": None, "b": "not included"}
