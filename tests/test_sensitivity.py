"""wavesparse.sensitivity: scans, the five budget solvers, plan files, the CLI.

Oracles are written out here: counts with round(), the ERK densities by hand,
brute force over every integer split for the sensitivity solver, an explicit
sample matrix for the proxy, argsort masks for the pruned layers.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from wavesparse import MagnitudePruner, io
from wavesparse.sensitivity import METHODS, Plan, Sensitivity, allocate, scan


def model(seed=0):
    """Layers of very different sizes (15 to 131072 weights) and scales."""
    rng = np.random.default_rng(seed)
    return {"tiny": rng.standard_normal((3, 5)),
            "mid": 3.0 * rng.standard_normal((64, 48)).astype(np.float32),
            "big": rng.standard_normal((512, 256)),
            "conv": 0.1 * rng.standard_normal((32, 16, 3, 3)),
            "bias": rng.standard_normal(64)}


LAYERS = ["tiny", "mid", "big", "conv"]


def sizes(weights):
    return {n: weights[n].size for n in LAYERS}


def proxy_table(weights):
    return scan(weights, sparsities=(0.3, 0.5, 0.7, 0.8, 0.9, 0.99), progress=False)


# ------------------------------------------------------------------ solvers

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("target, lower, upper", [(0.7, 0.0, 0.99), (0.5, 0.3, 0.6),
                                                  (0.9, 0.0, 0.95), (0.0, 0.0, 0.99)])
def test_every_solver_hits_the_target_to_one_weight_within_bounds(method, target, lower, upper):
    weights = model()
    plan = allocate(target, weights, method, proxy_table(weights), lower, upper)
    n = sizes(weights)
    assert sorted(plan.layers) == sorted(LAYERS)          # "bias" is 1-D: not planned
    total = sum(n.values())
    planned = sum(plan.layers[k] * n[k] for k in LAYERS)
    assert abs(planned - target * total) <= 1.0
    for k in LAYERS:
        assert lower <= plan.layers[k] <= upper
    if method != "uniform":
        # whole weights: what MagnitudePruner prunes adds up to round(target * N)
        counts = {k: round(plan.layers[k] * n[k]) for k in LAYERS}
        assert sum(counts.values()) == round(target * total)
        _, masks = MagnitudePruner(plan=plan).prune_model(weights)
        assert {k: int((~m).sum()) for k, m in masks.items()} == counts


def test_uniform_gives_the_target_to_every_layer():
    plan = allocate(0.63, model(), "uniform")
    assert plan.layers == {k: 0.63 for k in LAYERS}
    assert plan.method == "uniform" and plan.target == 0.63


def test_bounds_that_cannot_reach_the_target_are_refused():
    with pytest.raises(ValueError, match="min_sparsity <= target <= max_sparsity"):
        allocate(0.5, model(), "erk", min_sparsity=0.6)
    with pytest.raises(ValueError, match="one of"):
        allocate(0.5, model(), "magnitude")
    with pytest.raises(ValueError, match="needs a sensitivity table"):
        allocate(0.5, model(), "sensitivity")


def test_erk_equals_the_formula_by_hand():
    # raw density sum(shape)/prod(shape): 16/64, 24/128, 48/512; sum(raw * n) = 88
    weights = {"a": np.ones((8, 8)), "b": np.ones((16, 8)), "c": np.ones((32, 16))}
    # target 0.75 keeps 176 of 704: eps = 176 / 88 = 2, densities 0.5, 0.375, 0.1875
    assert allocate(0.75, weights, "erk").layers == {"a": 0.5, "b": 0.625, "c": 0.8125}
    # target 0.45 prunes round(316.8) = 317, keeps 387: eps = 387/88 puts "a" past
    # density 1, so "a" stays dense and b, c share 323 kept: eps = 323/72, kept
    # 107.67 and 215.33, rounded to 108 and 215 (sum 323).
    plan = allocate(0.45, weights, "erk")
    assert plan.layers == {"a": 0.0, "b": 1 - 108 / 128, "c": 1 - 215 / 512}


def test_global_equals_one_magnitude_threshold():
    weights = model()
    weights["conv"] = 5 * weights["conv"]           # no layer reaches max_sparsity
    plan = allocate(0.6, weights, "global")
    _, masks = MagnitudePruner(0.6, scope="global", include=LAYERS).prune_model(weights)
    for k in LAYERS:
        assert round(plan.layers[k] * weights[k].size) == int((~masks[k]).sum())


def test_global_with_binding_bounds_keeps_the_threshold_order():
    weights = model()
    plan = allocate(0.7, weights, "global", max_sparsity=0.9)
    # "conv" (scale 0.1) is all below the threshold: held at the bound
    assert plan.layers["conv"] == pytest.approx(0.9, abs=1 / weights["conv"].size)
    # "mid" (scale 3) is pruned least, the unit-scale layers in between
    assert plan.layers["mid"] < plan.layers["big"] < plan.layers["conv"]


def test_owl_prunes_layers_with_more_outliers_less_within_lambda():
    rng = np.random.default_rng(3)
    plain = rng.standard_normal((128, 64))
    heavy = rng.standard_t(2, size=(128, 64))     # heavy tails: many |w| > 5 x mean
    medium = rng.standard_t(5, size=(128, 64))
    weights = {"plain": plain, "medium": medium, "heavy": heavy}
    plan = allocate(0.6, weights, "owl", owl_lambda=0.1, owl_m=5.0)
    s = plan.layers
    assert s["heavy"] < s["medium"] < s["plain"]
    assert all(0.5 <= v <= 0.7 for v in s.values())
    # the formula: ratios scaled onto [0, 2 lambda], subtracted from one level c,
    # clipped to target +- lambda; "plain" has the fewest outliers, so s = c there
    ratio = {k: np.mean(np.abs(w) > 5.0 * np.abs(w).mean()) for k, w in weights.items()}
    low, high = min(ratio.values()), max(ratio.values())
    c = s["plain"]
    for k in weights:
        expected = np.clip(c - 0.2 * (ratio[k] - low) / (high - low), 0.5, 0.7)
        assert s[k] == pytest.approx(expected, abs=1.5 / plain.size)


def test_owl_uses_input_norms_when_given():
    rng = np.random.default_rng(4)
    w = {"x": rng.standard_normal((64, 32)), "y": rng.standard_normal((64, 32))}
    sumsq = np.ones(32)
    sumsq[0] = 1e4                                  # one loud input feature of "x"
    plan = allocate(0.5, w, "owl", stats={"x": {"sumsq": sumsq, "rows": 10}})
    assert plan.layers["x"] < plan.layers["y"]


# ------------------------------------------------------------------ sensitivity solver

def brute_force(curves, n, total, lower, upper):
    """The least summed interpolated loss over every integer split of ``total``."""
    lo = [int(np.ceil(lower * k)) for k in n]
    hi = [int(np.floor(upper * k)) for k in n]
    k0, k1 = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1),
                         indexing="ij")
    k2 = total - k0 - k1
    ok = (k2 >= lo[2]) & (k2 <= hi[2])
    loss = sum(np.interp(k / size, x, y) for k, size, (x, y) in zip((k0, k1, k2), n, curves))
    return float(loss[ok].min())


@pytest.mark.parametrize("target, lower, upper", [(0.6, 0.0, 0.9), (0.35, 0.0, 0.9),
                                                  (0.6, 0.4, 0.7), (0.8, 0.5, 0.85)])
def test_sensitivity_equals_the_brute_force_optimum_on_convex_curves(target, lower, upper):
    grid = np.round(np.arange(0.1, 0.91, 0.1), 2)
    x = np.concatenate(([0.0], grid))
    shapes = {"a": (10, 10), "b": (30, 10), "c": (50, 20)}   # breakpoints on whole weights
    curves = [(x, 0.3 * x ** 2), (x, 2.0 * x ** 3 + 0.1 * x), (x, np.exp(3 * x) - 1)]
    table = Sensitivity(grid, {k: -c[1][1:] for k, c in zip(shapes, curves)}, 0.0,
                        {k: int(np.prod(s)) for k, s in shapes.items()})
    weights = {k: np.ones(s) for k, s in shapes.items()}
    plan = allocate(target, weights, "sensitivity", table, lower, upper)
    n = [int(np.prod(s)) for s in shapes.values()]
    total = round(target * sum(n))
    got = sum(np.interp(plan.layers[k], x, c[1]) for k, c in zip(shapes, curves))
    assert sum(round(plan.layers[k] * m) for k, m in zip(shapes, n)) == total
    assert got == pytest.approx(brute_force(curves, n, total, lower, upper), abs=1e-12)


def test_sensitivity_uses_the_lower_hull_of_a_non_convex_curve():
    grid = [0.25, 0.5, 0.75]
    # "a" is flat to 50% then steep, a bump at 25% that the hull ignores
    table = Sensitivity(grid, {"a": [-0.5, -0.05, -1.0], "b": [-0.1, -0.2, -0.3]}, 0.0,
                        {"a": 100, "b": 100})
    plan = allocate(0.25, {"a": np.ones((10, 10)), "b": np.ones((10, 10))}, "sensitivity",
                    table, max_sparsity=0.75)
    assert plan.layers == {"a": 0.5, "b": 0.0}


# ------------------------------------------------------------------ plans

def test_a_plan_written_and_read_back_prunes_identically(tmp_path):
    weights = model(1)
    plan = allocate(0.75, weights, "erk")
    plan.save(tmp_path / "plan.json")
    back = Plan.load(tmp_path / "plan.json")
    assert back == plan
    assert json.loads((tmp_path / "plan.json").read_text())["method"] == "erk"
    first, _ = MagnitudePruner(plan=plan).prune_model(weights)
    second, _ = MagnitudePruner(plan=back).prune_model(weights)
    for k in LAYERS:
        np.testing.assert_array_equal(first[k], second[k])
        # oracle: the round(s * n) smallest |w| of the layer are the zeros
        flat = np.abs(weights[k]).ravel()
        expected = np.ones(flat.size, bool)
        expected[np.argsort(flat, kind="stable")[:round(back.layers[k] * flat.size)]] = False
        np.testing.assert_array_equal(first[k].ravel() != 0, expected)
    np.testing.assert_array_equal(first["bias"], weights["bias"])


def test_plan_check_refuses_unknown_names_and_a_wrong_average():
    with pytest.raises(ValueError, match="'ghost', which is not in the model"):
        Plan(0.5, "hand", {"ghost": 0.5}).check({"w": 10})
    with pytest.raises(ValueError, match="not its target 50.00%"):
        Plan(0.5, "hand", {"a": 0.5, "b": 0.7}).check({"a": 100, "b": 100})
    Plan(0.5, "hand", {"a": 0.4, "b": 0.6}).check({"a": 100, "b": 100})


def test_plan_files_that_are_not_plans_are_refused(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"target": 0.5, "layers": {}}')
    with pytest.raises(ValueError, match="keys target, method and layers"):
        Plan.load(path)
    path.write_text('{"target": 0.5, "method": "x", "layers": {"w": 1.5}}')
    with pytest.raises(ValueError, match=r"layers\['w'\] must be in \[0, 1\)"):
        Plan.load(path)


# ------------------------------------------------------------------ scans

def test_a_score_of_one_layer_gives_flat_curves_elsewhere():
    weights = model()
    calls = []

    def score(w):
        calls.append(1)
        return -float(np.abs(weights["mid"] - w["mid"]).sum())

    table = scan(weights, score, sparsities=(0.2, 0.6), progress=False)
    assert len(calls) == 1 + 2 * len(LAYERS)
    for k in ("tiny", "big", "conv"):
        assert table.scores[k].tolist() == [0.0, 0.0]
    flat = np.sort(np.abs(weights["mid"]).ravel().astype(np.float64))
    expected = [-flat[:round(s * flat.size)].sum() for s in (0.2, 0.6)]
    np.testing.assert_allclose(table.scores["mid"], expected, rtol=1e-6)
    assert table.params == sizes(weights)


def test_proxy_equals_the_output_error_on_explicit_inputs():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((20, 12))
    X = rng.standard_normal((50, 12)) * np.linspace(0.1, 3, 12)   # uneven input features
    X[:, 1] += X[:, 0]                                             # correlated
    table = scan({"w": w}, sparsities=(0.5,), progress=False,
                 stats={"w": {"gram": X.T @ X, "rows": 50}})
    pruned, _ = MagnitudePruner(0.5).prune_layer(w)
    expected = np.linalg.norm(w @ X.T - pruned @ X.T) / np.linalg.norm(w @ X.T)
    assert table.scores["w"][0] == pytest.approx(-expected)
    assert "calibration" in table.score
    plain = scan({"w": w}, sparsities=(0.5,), progress=False)
    assert plain.scores["w"][0] == pytest.approx(-np.linalg.norm(w - pruned) / np.linalg.norm(w))
    assert "standard normal" in plain.score
    diagonal = scan({"w": w}, sparsities=(0.5,), progress=False,
                    stats={"w": {"sumsq": (X * X).sum(axis=0), "rows": 50}})
    d = (w - pruned) * np.sqrt((X * X).sum(axis=0))
    assert diagonal.scores["w"][0] == pytest.approx(
        -np.linalg.norm(d) / np.linalg.norm(w * np.sqrt((X * X).sum(axis=0))))


def test_scan_refuses_bad_arguments():
    with pytest.raises(TypeError, match="score must be a callable"):
        scan(model(), score=3)
    with pytest.raises(ValueError, match="'nope', not in weights"):
        scan(model(), layers=["nope"])
    with pytest.raises(ValueError, match="increasing"):
        scan(model(), sparsities=(0.5, 0.3), progress=False)
    with pytest.raises(ValueError, match=r"shape \(48,\)"):
        scan(model(), layers=["mid"], stats={"mid": {"sumsq": np.ones(3), "rows": 1}})


def test_table_prints_saves_loads_and_plots(tmp_path):
    table = proxy_table(model())
    text = str(table)
    assert text.splitlines()[1].split() == ["layer", "params", "30%", "50%", "70%", "80%",
                                            "90%", "99%"]
    assert "standard normal" in text.splitlines()[0]
    table.save(tmp_path / "scan.json")
    back = Sensitivity.load(tmp_path / "scan.json")
    assert back.layers == table.layers and back.params == table.params
    for k in LAYERS:
        np.testing.assert_array_equal(back.scores[k], table.scores[k])
    pytest.importorskip("matplotlib")
    table.plot(tmp_path / "scan.png")
    assert (tmp_path / "scan.png").read_bytes()[:4] == b"\x89PNG"


def test_scan_shows_a_progress_line(capsys):
    scan({"w": np.ones((4, 4))}, sparsities=(0.5,), progress=True)
    err = capsys.readouterr().err
    assert "scan" in err and "w at 50%" in err


# ------------------------------------------------------------------ command line

def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "wavesparse", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture
def checkpoint(tmp_path):
    weights = model()
    path = tmp_path / "model.npz"
    io.save(path, weights)
    return path, weights


def test_cli_scan_then_sensitivity_budget_then_plan_file(checkpoint, tmp_path):
    path, weights = checkpoint
    done = run("sensitivity", path, "-o", tmp_path / "scan.json", "--exclude", "tiny",
               "--sparsities", "0.5,0.9")
    assert done.returncode == 0, done.stderr
    table = Sensitivity.load(tmp_path / "scan.json")
    assert table.layers == ["mid", "big", "conv"] and table.sparsities == [0.5, 0.9]
    done = run("prune", path, "-o", tmp_path / "a.npz", "--sparsity", "0.6", "--exclude", "tiny",
               "--budget", "sensitivity", "--scan", tmp_path / "scan.json",
               "--plan-out", tmp_path / "plan.json")
    assert done.returncode == 0, done.stderr
    plan = Plan.load(tmp_path / "plan.json")
    assert plan.method == "sensitivity" and sorted(plan.layers) == ["big", "conv", "mid"]
    assert plan.layers == allocate(0.6, weights, "sensitivity", table,
                                   layers=["mid", "big", "conv"]).layers
    header = done.stdout.splitlines()[1].split()
    assert header.index("planned") + 1 == header.index("sparsity")
    done = run("prune", path, "-o", tmp_path / "b.npz", "--plan", tmp_path / "plan.json")
    assert done.returncode == 0, done.stderr
    a, b = io.load(tmp_path / "a.npz", dense=True), io.load(tmp_path / "b.npz", dense=True)
    for k in weights:
        np.testing.assert_array_equal(a[k], b[k])
    for k in plan.layers:
        assert (b[k] == 0).sum() == round(plan.layers[k] * weights[k].size)
    np.testing.assert_array_equal(b["tiny"], weights["tiny"])


@pytest.mark.parametrize("budget", ["uniform", "global", "erk", "owl", "sensitivity"])
def test_cli_budgets_prune_to_the_target(checkpoint, tmp_path, budget):
    path, weights = checkpoint
    done = run("prune", path, "-o", tmp_path / "o.npz", "--sparsity", "0.7", "--budget", budget)
    assert done.returncode == 0, done.stderr
    out = io.load(tmp_path / "o.npz", dense=True)
    zeros = sum(int((out[k] == 0).sum()) for k in LAYERS)
    total = sum(weights[k].size for k in LAYERS)
    assert abs(zeros - 0.7 * total) <= (len(LAYERS) if budget == "uniform" else 1)


def test_cli_refuses_a_plan_naming_a_missing_tensor(checkpoint, tmp_path):
    path, _ = checkpoint
    Plan(0.5, "hand", {"mid": 0.5, "ghost.weight": 0.5}).save(tmp_path / "p.json")
    done = run("prune", path, "-o", tmp_path / "o.npz", "--plan", tmp_path / "p.json")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "'ghost.weight'" in done.stderr
    assert "not in %s" % path in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o.npz").exists()


def test_cli_refuses_a_plan_whose_average_is_not_its_target(checkpoint, tmp_path):
    path, _ = checkpoint
    (tmp_path / "p.json").write_text(json.dumps(
        {"target": 0.5, "method": "edited", "layers": {"mid": 0.5, "big": 0.9}}))
    done = run("prune", path, "-o", tmp_path / "o.npz", "--plan", tmp_path / "p.json")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not its target 50.00%" in done.stderr
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize("extra, message", [
    (["--budget", "erk", "--plan", "p.json"], "exclude each other"),
    (["--budget", "erk", "--scan", "s.json"], "--scan applies to --budget sensitivity"),
    (["--plan-out", "p.json"], "--plan-out writes the plan of --budget"),
    (["--budget", "nope"], "invalid choice"),
])
def test_cli_refuses_budget_option_misuse(checkpoint, tmp_path, extra, message):
    path, _ = checkpoint
    done = run("prune", path, "-o", tmp_path / "o.npz", *extra, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr
    assert done.stderr.count("\n") == 1




def test_cli_scores_on_recorded_inputs(tmp_path):
    """--score calibration: the proxy over the inputs of a statistics file,
    against the error computed on those inputs directly."""
    pytest.importorskip("safetensors")
    from wavesparse.calibration import Recorder
    rng = np.random.default_rng(5)
    w = rng.standard_normal((6, 4))
    x = rng.standard_normal((50, 4)) * np.array([10.0, 1.0, 0.1, 0.01])  # unequal features
    np.savez(tmp_path / "m.npz", w=w)
    rec = Recorder(gram=True)
    rec.add("w", x)
    rec.save(tmp_path / "stats.safetensors")
    done = run("sensitivity", tmp_path / "m.npz", "--score", "calibration", "--calibration",
               tmp_path / "stats.safetensors", "--sparsities", "0.5", "-o", tmp_path / "s.json")
    assert done.returncode == 0, done.stderr
    table = Sensitivity.load(tmp_path / "s.json")
    pruned, _ = MagnitudePruner(0.5).prune_layer(w)
    expected = -np.linalg.norm(x @ (w - pruned).T) / np.linalg.norm(x @ w.T)
    assert table.scores["w"][0] == pytest.approx(expected, rel=1e-9)
    missing = run("sensitivity", tmp_path / "m.npz", "--score", "calibration")
    assert missing.returncode == 2 and "--calibration FILE" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
