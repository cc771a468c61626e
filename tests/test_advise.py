"""``wavesparse advise``: its figures against errors written out with numpy,
and its plan prunes what it reports."""

import json
import subprocess
import sys

import numpy as np
import pytest

from wavesparse import io
from wavesparse.advise import LAYOUTS, advise_tensor, choose, prune_with_plan


def relative_error(w, p, X):
    w, p, X = (np.asarray(a, np.float64) for a in (w, p, X))
    return np.linalg.norm((w - p) @ X) / np.linalg.norm(w @ X)


def test_rows_measure_each_layout():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 96)).astype(np.float32)
    X = rng.standard_normal((96, 16)).astype(np.float32)
    rows = {r["layout"]: r for r in advise_tensor(w, 0.75, X=X, repeat=1)}
    assert list(rows) == list(LAYOUTS)
    assert not rows["bsr64"]["fits"] and "64x64 blocks do not divide 64x96" in rows["bsr64"]["why"]
    assert rows["dense"]["error"] == 0.0 and rows["dense"]["speedup"] == 1.0
    # 1:4 by hand: the largest |w| of each group of 4 stays.
    groups = np.abs(w).reshape(64, 24, 4)
    keep = np.zeros_like(groups, bool)
    np.put_along_axis(keep, groups.argmax(axis=2)[..., None], True, axis=2)
    p = np.where(keep.reshape(w.shape), w, 0)
    assert rows["1:4"]["sparsity"] == 0.75
    assert rows["1:4"]["error"] == pytest.approx(relative_error(w, p, X), rel=1e-9)
    # CSR: the 75% smallest |w| go.
    t = np.sort(np.abs(w).ravel())[int(0.75 * w.size)]
    p = np.where(np.abs(w) >= t, w, 0)
    assert rows["csr"]["error"] == pytest.approx(relative_error(w, p, X), rel=1e-9)
    # structured: the 48 rows of smallest L1 go.
    kept = np.sort(np.argsort(-np.abs(w).sum(axis=1), kind="stable")[:16])
    p = np.zeros_like(w)
    p[kept] = w[kept]
    assert rows["structured"]["error"] == pytest.approx(relative_error(w, p, X), rel=1e-9)
    for r in rows.values():
        if r["fits"]:
            assert r["seconds"] > 0 and 0 <= r["error"] <= 1.5


def test_choose_takes_the_fastest_within_the_budget():
    rows = [{"layout": "dense", "fits": True, "sparsity": 0.0, "seconds": 1.0, "error": 0.0},
            {"layout": "csr", "fits": True, "sparsity": 0.5, "seconds": 0.6, "error": 0.30},
            {"layout": "2:4", "fits": True, "sparsity": 0.5, "seconds": 0.5, "error": 0.37},
            {"layout": "bsr32", "fits": True, "sparsity": 0.5, "seconds": 0.1, "error": 0.9},
            {"layout": "bsr64", "fits": False, "why": "does not divide"}]
    assert choose(rows)["layout"] == "2:4"  # 0.37 <= 1.25 * 0.30
    assert choose(rows, max_error=0.35)["layout"] == "csr"
    assert choose(rows, max_error=0.0)["layout"] == "dense"
    assert choose(rows, max_error=1.0)["layout"] == "bsr32"


def test_cli_plan_prunes_what_it_reports(tmp_path):
    rng = np.random.default_rng(1)
    model = {"a.weight": rng.standard_normal((64, 64)).astype(np.float32),
             "a.bias": rng.standard_normal(64).astype(np.float32),
             "b.weight": rng.standard_normal((32, 64)).astype(np.float32)}
    inputs = {"a.weight": rng.standard_normal((20, 64)).astype(np.float32),
              "b.weight": rng.standard_normal((30, 64)).astype(np.float32)}
    io.save(tmp_path / "m.npz", model)
    pytest.importorskip("safetensors")
    from wavesparse.calibration import Recorder
    recorder = Recorder()
    for name, x in inputs.items():
        recorder.add(name, x)
    recorder.save(tmp_path / "stats.safetensors")
    done = subprocess.run([sys.executable, "-m", "wavesparse", "advise", tmp_path / "m.npz",
                           "--sparsity", "0.5", "--calibration", tmp_path / "stats.safetensors",
                           "--repeat", "1", "--batch", "8", "--max-error", "0.6",
                           "--plan-out", tmp_path / "plan.json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["method"] == "advise" and plan["target"] == 0.5
    assert sorted(plan["layers"]) == ["a.weight", "b.weight"]
    for name in plan["layers"]:
        assert plan["layouts"][name] in done.stdout.split(name, 1)[1].splitlines()[0]
    pruned = prune_with_plan(model, plan)
    X = {name: x.T for name, x in inputs.items()}  # the recorded inputs, (features, rows)
    for name, (p, mask) in pruned.items():
        row = {r["layout"]: r for r in plan["measured"][name]}[plan["layouts"][name]]
        assert 1 - mask.mean() == pytest.approx(plan["layers"][name]) == row["sparsity"]
        assert row["error"] <= 0.6
        assert relative_error(model[name], p, X[name]) == pytest.approx(row["error"], rel=1e-6)


def test_cli_refuses_an_unknown_layout(tmp_path):
    io.save(tmp_path / "m.npz", {"w": np.ones((4, 4), np.float32)})
    done = subprocess.run([sys.executable, "-m", "wavesparse", "advise", tmp_path / "m.npz",
                           "--layouts", "csr,bsr7"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "unknown bsr7" in done.stderr


def test_cli_refuses_statistics_that_lack_a_tensor(tmp_path):
    pytest.importorskip("safetensors")
    from wavesparse.calibration import Recorder
    io.save(tmp_path / "m.npz", {"a.weight": np.ones((4, 8), np.float32),
                                 "b.weight": np.ones((4, 8), np.float32)})
    recorder = Recorder()
    recorder.add("a.weight", np.ones((3, 8)))
    recorder.save(tmp_path / "stats.safetensors")
    done = subprocess.run([sys.executable, "-m", "wavesparse", "advise", tmp_path / "m.npz",
                           "--calibration", tmp_path / "stats.safetensors", "--repeat", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "'b.weight'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
