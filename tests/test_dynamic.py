"""DynamicSparsePruner and the ERK allocation against oracles written out with
numpy (lexsort by score then position) and against hand-computed numbers."""

import math

import numpy as np
import pytest

import wavesparse
from wavesparse import DynamicSparsePruner
from wavesparse.pruning.erk import kept_counts, sparsity_plan


def model(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {"fc1.weight": rng.standard_normal((40, 30)).astype(dtype),
            "fc1.bias": rng.standard_normal(40).astype(dtype),
            "fc2.weight": rng.standard_normal((20, 40)).astype(dtype),
            "out.weight": rng.standard_normal((5, 20)).astype(dtype)}


def grads_like(weights, seed):
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(w.shape).astype(w.dtype) for n, w in weights.items()}


def oracle_update(old, w, g, k):
    """Drop the k smallest |w| among active (lower index first on ties), then
    grow the k largest |g| among the rest (lower index first on ties)."""
    flat_old, aw, ag = old.ravel(), np.abs(w).ravel(), np.abs(g).ravel()
    idx = np.arange(flat_old.size)
    active = idx[flat_old]
    drop = active[np.lexsort((active, aw[active]))][:k]
    after = flat_old.copy()
    after[drop] = False
    cand = idx[~after]
    grow = cand[np.lexsort((cand, -ag[cand]))][:k]
    new = after.copy()
    new[grow] = True
    return new.reshape(old.shape)


# ------------------------------------------------------------ ERK allocation

def test_erk_hand_computed_one_layer_capped():
    # raw (d1 + d2) / (d1 * d2): a 12/20 = 0.6, b 30/200 = 0.15, c 80/1600 = 0.05.
    # Budget round(0.2 * 1820) = 364.  First solve: eps = 364 / (0.6*20 + 0.15*200
    # + 0.05*1600) = 364 / 122 = 2.98; a would keep 0.6 * 2.98 = 1.79 > 1: dense (20).
    # Again for 344 over b, c: eps = 344 / 110 = 3.1273; b 0.15*3.1273*200 = 93.82,
    # c 0.05*3.1273*1600 = 250.18: floors 93 + 250 = 343, the one left goes to b
    # (remainder .82 > .18).
    counts = kept_counts({"a": (10, 2), "b": (20, 10), "c": (40, 40)}, 0.8)
    assert counts == {"a": 20, "b": 94, "c": 250}
    plan = sparsity_plan({"a": (10, 2), "b": (20, 10), "c": (40, 40)}, 0.8)
    assert plan == pytest.approx({"a": 0.0, "b": 1 - 94 / 200, "c": 1 - 250 / 1600})


def test_erk_kernel_dims_count():
    # (d1+d2+d3+d4)/(d1*d2*d3*d4): conv 16x8x3x3 -> 30/1152, fc 10x4 -> 14/40.
    # Budget round(0.5 * 1192) = 596; eps = 596 / (30 + 14) = 13.545; fc would
    # keep 0.35 * 13.545 > 1: dense (40); conv keeps the other 556.
    assert kept_counts({"conv": (16, 8, 3, 3), "fc": (10, 4)}, 0.5) == {"conv": 556, "fc": 40}


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.9, 0.95, 0.98, 0.999])
@pytest.mark.parametrize("distribution", ["erk", "uniform"])
def test_allocation_total_exact(sparsity, distribution):
    shapes = {"a": (784, 512), "b": (512, 256), "c": (256, 10), "d": (3, 7)}
    counts = kept_counts(shapes, sparsity, distribution)
    sizes = {n: math.prod(s) for n, s in shapes.items()}
    assert sum(counts.values()) == round((1 - sparsity) * sum(sizes.values()))
    assert all(0 <= counts[n] <= sizes[n] for n in shapes)


def test_uniform_counts_per_layer():
    counts = kept_counts({"a": (10, 10), "b": (10, 30)}, 0.75, "uniform")
    assert counts == {"a": 25, "b": 75}


def test_erk_bad_arguments():
    with pytest.raises(ValueError, match="sparsity"):
        kept_counts({"a": (2, 2)}, 1.0)
    with pytest.raises(ValueError, match="distribution"):
        kept_counts({"a": (2, 2)}, 0.5, "erdos")
    with pytest.raises(ValueError, match=r"shapes\['a'\]"):
        kept_counts({"a": (0, 2)}, 0.5)
    with pytest.raises(TypeError, match="shapes"):
        kept_counts([(2, 2)], 0.5)


# ------------------------------------------------------------ init

def test_init_exact_counts_and_densities():
    w = model()
    dsp = DynamicSparsePruner(0.9, distribution="erk", seed=3)
    masks = dsp.init_masks(w)
    assert list(masks) == ["fc1.weight", "fc2.weight", "out.weight"]  # bias stays dense
    shapes = {n: w[n].shape for n in masks}
    expected = kept_counts(shapes, 0.9)
    assert {n: int(m.sum()) for n, m in masks.items()} == expected
    assert dsp.densities == {n: expected[n] / w[n].size for n in masks}
    assert sum(expected.values()) == round(0.1 * (1200 + 800 + 100))


def test_exclude_keeps_layer_out_of_budget():
    w = model()
    dsp = DynamicSparsePruner(0.5, distribution="uniform", exclude=["out.*"])
    masks = dsp.init_masks(w)
    assert sorted(masks) == ["fc1.weight", "fc2.weight"]
    assert sum(int(m.sum()) for m in masks.values()) == 1000
    assert dsp.apply(w)["out.weight"] is w["out.weight"]


def test_explicit_densities():
    w = model()
    dsp = DynamicSparsePruner(distribution={"fc1.weight": 0.25, "fc2.weight": 1.0,
                                            "out.weight": 0.5})
    masks = dsp.init_masks(w)
    assert {n: int(m.sum()) for n, m in masks.items()} == {
        "fc1.weight": 300, "fc2.weight": 800, "out.weight": 50}
    with pytest.raises(ValueError, match="distribution"):
        DynamicSparsePruner(distribution={"fc1.weight": 0.5}).init_masks(w)


# ------------------------------------------------------------ schedule

def test_cosine_fraction_at_0_half_end():
    dsp = DynamicSparsePruner(drop_fraction=0.4, decay="cosine", end_step=1000)
    assert dsp.drop_fraction_at(0) == pytest.approx(0.4)
    assert dsp.drop_fraction_at(500) == pytest.approx(0.2)
    assert dsp.drop_fraction_at(1000) == pytest.approx(0.0, abs=1e-15)
    assert dsp.drop_fraction_at(250) == pytest.approx(0.2 * (1 + math.sqrt(0.5)))
    const = DynamicSparsePruner(drop_fraction=0.4, decay="constant", end_step=1000)
    assert [const.drop_fraction_at(s) for s in (0, 1000, 1001)] == [0.4, 0.4, 0.0]


def test_should_update_grid():
    dsp = DynamicSparsePruner(update_every=100, end_step=350)
    assert [s for s in range(1000) if dsp.should_update(s)] == [100, 200, 300]


def test_no_change_after_end_step():
    w = model()
    dsp = DynamicSparsePruner(0.8, decay="constant", update_every=10, end_step=50)
    before = dsp.init_masks(w)
    masks, changed = dsp.update(60, w, grads_like(w, 1))
    for n in before:
        np.testing.assert_array_equal(masks[n], before[n])
        assert not changed[n].any()


# ------------------------------------------------------------ update

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rigl_matches_oracle_and_keeps_counts(dtype):
    w = model(1, dtype)
    dsp = DynamicSparsePruner(0.9, method="rigl", drop_fraction=0.3, update_every=10,
                              end_step=100, seed=5)
    masks = dsp.init_masks(w)
    counts = {n: int(m.sum()) for n, m in masks.items()}
    for step in range(10, 101, 10):
        w = dsp.apply(w)
        g = grads_like(w, step)
        old = {n: m.copy() for n, m in masks.items()}
        masks, changed = dsp.update(step, w, g)
        for n in masks:
            k = math.floor(dsp.drop_fraction_at(step) * counts[n])
            np.testing.assert_array_equal(masks[n], oracle_update(old[n], w[n], g[n], k))
            assert int(masks[n].sum()) == counts[n]
            np.testing.assert_array_equal(changed[n], masks[n] & ~old[n])
        assert sum(int(m.sum()) for m in masks.values()) == round(0.1 * 2100)
        rng = np.random.default_rng(step)
        w = {n: a + rng.standard_normal(a.shape).astype(dtype) * 0.1 for n, a in w.items()}


def test_rigl_hand_written_case():
    # Active: 4, -0.5, 3, 0.1, 2 (positions 0..4); inactive 5..9.  k = 2 drops
    # 0.1 (pos 3) and -0.5 (pos 1).  Inactive after the drop: 1, 3, 5..9 with
    # |g| 9, 0, 1, 7, 7, 2, 0: grow the two largest, 9 (pos 1, regrown: not
    # "changed") then 7 at pos 6 (the tie with pos 7 goes to the lower index).
    dsp = DynamicSparsePruner(distribution={"w": 0.5}, drop_fraction=0.4,
                              decay="constant", end_step=10)
    dsp.masks = {"w": np.array([True] * 5 + [False] * 5)}
    w = {"w": np.array([4, -0.5, 3, 0.1, 2, 0, 0, 0, 0, 0], dtype=np.float32)}
    g = {"w": np.array([0, -9, 0, 0, 0, 1, 7, -7, 2, 0], dtype=np.float32)}
    masks, changed = dsp.update(1, w, g)
    assert np.flatnonzero(masks["w"]).tolist() == [0, 1, 2, 4, 6]
    assert np.flatnonzero(changed["w"]).tolist() == [6]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rigl_zero_and_infinite_gradients(dtype):
    # Active 0..3 all dropped (k = 4); candidates 0..9, |g| inf at 8, 0
    # elsewhere: grow 8, then the lowest-index zero-gradient ones 0, 1, 2.
    dsp = DynamicSparsePruner(distribution={"w": 0.4}, drop_fraction=1.0,
                              decay="constant", end_step=10)
    dsp.masks = {"w": np.arange(10) < 4}
    w = {"w": np.arange(1, 11).astype(dtype)}
    g = {"w": np.where(np.arange(10) == 8, -np.inf, 0.0).astype(dtype)}
    masks, changed = dsp.update(1, w, g)
    assert np.flatnonzero(masks["w"]).tolist() == [0, 1, 2, 8]
    assert np.flatnonzero(changed["w"]).tolist() == [8]


def test_drop_and_grow_disjoint_and_grown_from_inactive():
    # Huge gradients on the active weights that survive the drop (the largest
    # half by |w|), none on the dropped half: growth must still pick weights
    # inactive after the drop, so from the formerly inactive ones.
    w = model(2)
    dsp = DynamicSparsePruner(0.8, drop_fraction=0.5, decay="constant", end_step=10)
    old = dsp.init_masks(w)
    w = dsp.apply(w)
    g = {}
    for n, m in old.items():
        active = np.abs(w[n][m])
        survives = np.abs(w[n]) > np.sort(active)[len(active) // 2 - 1]
        g[n] = np.where(m & survives, 1e6, np.where(m, 0.0, 1.0))
    masks, changed = dsp.update(5, w, g)
    for n in old:
        dropped = old[n] & ~masks[n]
        assert not (dropped & changed[n]).any()
        assert not (changed[n] & old[n]).any()
        assert int(dropped.sum()) == int(changed[n].sum()) > 0


def test_grown_weights_start_at_zero():
    w = model(3)
    dsp = DynamicSparsePruner(0.8, method="set", drop_fraction=0.5, decay="constant",
                              end_step=10, seed=2)
    dsp.init_masks(w)
    full = {n: np.full(a.shape, 7.0) for n, a in w.items()}  # inactive not zeroed
    masks, changed = dsp.update(5, full, None)
    applied = dsp.apply(full)
    for n in masks:
        assert changed[n].any()
        np.testing.assert_array_equal(applied[n], np.where(masks[n] & ~changed[n], 7.0, 0.0))
    again = dsp.apply(full)  # only the first apply after an update zeroes the grown
    for n in masks:
        np.testing.assert_array_equal(again[n], np.where(masks[n], 7.0, 0.0))
    np.testing.assert_array_equal(applied["fc1.bias"], full["fc1.bias"])


def test_set_reproducible_with_seed_and_random_growth():
    w = model(4)
    runs = []
    for seed in (11, 11, 12):
        dsp = DynamicSparsePruner(0.9, method="set", seed=seed, update_every=1, end_step=5)
        out = [dsp.init_masks(w)]
        for step in range(1, 6):
            out.append(dsp.update(step, dsp.apply(w))[0])
        runs.append(out)
    for a, b in zip(runs[0], runs[1]):
        for n in a:
            np.testing.assert_array_equal(a[n], b[n])
    assert any(not np.array_equal(runs[0][-1][n], runs[2][-1][n]) for n in runs[0][-1])
    counts = {n: int(m.sum()) for n, m in runs[0][0].items()}
    assert all({n: int(m.sum()) for n, m in r.items()} == counts for r in runs[0])


def test_set_drop_is_smallest_magnitude():
    w = {"w": np.arange(1.0, 21.0).reshape(4, 5)}
    dsp = DynamicSparsePruner(distribution={"w": 1.0}, method="set", drop_fraction=0.25,
                              decay="constant", end_step=10)
    dsp.init_masks(w)
    masks, changed = dsp.update(1, w)
    # All active: drop 5 smallest (1..5), regrow 5 at random among exactly those.
    assert int(masks["w"].sum()) == 20 and not changed["w"].any()


# ------------------------------------------------------------ arguments

@pytest.mark.parametrize("kwargs, exc, name", [
    ({"sparsity": 1.0}, ValueError, "sparsity"),
    ({"sparsity": -0.1}, ValueError, "sparsity"),
    ({"sparsity": "0.5"}, TypeError, "sparsity"),
    ({"method": "gmp"}, ValueError, "method"),
    ({"method": 1}, TypeError, "method"),
    ({"distribution": "normal"}, ValueError, "distribution"),
    ({"distribution": {"a": 1.5}}, ValueError, "distribution"),
    ({"drop_fraction": 1.5}, ValueError, "drop_fraction"),
    ({"drop_fraction": float("nan")}, ValueError, "drop_fraction"),
    ({"decay": "linear"}, ValueError, "decay"),
    ({"update_every": 0}, ValueError, "update_every"),
    ({"update_every": 1.5}, TypeError, "update_every"),
    ({"end_step": 0}, ValueError, "end_step"),
    ({"seed": 0.5}, TypeError, "seed"),
    ({"include": "fc*"}, TypeError, "include"),
])
def test_bad_arguments_name_the_argument(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        DynamicSparsePruner(**kwargs)


def test_bad_calls_name_the_argument():
    w = model()
    dsp = DynamicSparsePruner(0.5)
    with pytest.raises(ValueError, match="init_masks"):
        dsp.update(1, w, w)
    with pytest.raises(TypeError, match="weights"):
        dsp.init_masks([w["fc1.weight"]])
    dsp.init_masks(w)
    with pytest.raises(ValueError, match="grads"):
        dsp.update(1, w, None)
    bad = dict(w, **{"fc2.weight": np.full((20, 40), np.nan)})
    with pytest.raises(ValueError, match="grads"):
        dsp.update(1, w, bad)
    with pytest.raises(ValueError, match=r"grads\['fc1.weight'\]"):
        dsp.update(1, w, dict(w, **{"fc1.weight": np.zeros((3, 3))}))
    with pytest.raises(ValueError, match="step"):
        dsp.should_update(-1)
    with pytest.raises(ValueError, match="include"):
        DynamicSparsePruner(include=["nothing*"]).init_masks(w)


def test_exported_at_top_level():
    assert wavesparse.DynamicSparsePruner is wavesparse.pruning.DynamicSparsePruner
