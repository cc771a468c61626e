"""``wavesparse prune --method wanda|sparsegpt --calibration FILE``."""

import json
import subprocess
import sys

import numpy as np
import pytest

from wavesparse import SparseGPTPruner, WandaPruner, io
from wavesparse.calibration import Recorder

pytest.importorskip("safetensors", reason="the safetensors package is not installed")


def run(*args):
    return subprocess.run([sys.executable, "-m", "wavesparse", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"fc1.weight": rng.standard_normal((16, 8)).astype(np.float32),
               "fc1.bias": np.zeros(16, np.float32),
               "fc2.weight": rng.standard_normal((4, 16))}
    model = tmp_path / "model.safetensors"
    io.save(model, tensors)
    inputs = {"fc1.weight": rng.standard_normal((50, 8)) @ rng.standard_normal((8, 8)),
              "fc2.weight": rng.standard_normal((50, 16))}
    rec = Recorder()
    for name, x in inputs.items():
        rec.add(name, x)
    stats = tmp_path / "stats.safetensors"
    rec.save(stats)
    return model, tensors, stats, inputs


@pytest.mark.parametrize("method", ["wanda", "sparsegpt"])
def test_prune_equals_the_pruner_and_reports_calibrated_error(files, tmp_path, method):
    model, tensors, stats, inputs = files
    out = tmp_path / "out.safetensors"
    done = run("prune", model, "-o", out, "--method", method, "--calibration", stats,
               "--sparsity", "0.5", "--json", tmp_path / "r.json")
    assert done.returncode == 0, done.stderr
    assert "over the inputs recorded in" in done.stdout
    cls = WandaPruner if method == "wanda" else SparseGPTPruner
    expected, _ = cls(0.5, str(stats)).prune_model(tensors)
    back = io.load(out, dense=True)
    rows = {r["name"]: r for r in json.loads((tmp_path / "r.json").read_text())["tensors"]}
    for name, x in inputs.items():
        np.testing.assert_array_equal(back[name], expected[name])
        w = tensors[name].astype(np.float64)
        direct = np.linalg.norm(x @ (w - back[name]).T) / np.linalg.norm(x @ w.T)
        assert rows[name]["output_error"] == pytest.approx(direct, rel=1e-6)


def test_options_reach_the_pruner(files, tmp_path):
    model, tensors, stats, _ = files
    out = tmp_path / "out.safetensors"
    done = run("prune", model, "-o", out, "--method", "sparsegpt", "--calibration", stats,
               "--groups", "row", "--column-block", "4", "--damp", "0.1")
    assert done.returncode == 0, done.stderr
    expected, _ = SparseGPTPruner(0.5, str(stats), block_size=4, damp=0.1,
                                  groups="row").prune_model(tensors)
    back = io.load(out, dense=True)
    np.testing.assert_array_equal(back["fc2.weight"], expected["fc2.weight"])


def stats_file(tmp_path, widths, gram=True):
    rec = Recorder(gram=gram)
    for name, width in widths.items():
        rec.add(name, np.ones((3, width)))
    path = tmp_path / "bad.safetensors"
    rec.save(path)
    return path


@pytest.mark.parametrize("case, expected", [
    ("missing tensor", "hold no statistics for tensor 'fc2.weight'"),
    ("wrong width", "width 15 for 'fc2.weight', but the weight has shape (4, 16)"),
    ("no file", "cannot read calibration statistics"),
    ("not stats", "is not a calibration statistics file"),
    ("no option", "--method wanda needs --calibration FILE"),
    ("other method", "--calibration applies to --method nm, wanda and sparsegpt"),
    ("no gram", "hold no Gram matrix for 'fc1.weight'"),
])
def test_errors_are_one_line_and_exit_2(files, tmp_path, case, expected):
    model, _, stats, _ = files
    method, calibration = "wanda", None
    if case == "missing tensor":
        calibration = stats_file(tmp_path, {"fc1.weight": 8})
    elif case == "wrong width":
        calibration = stats_file(tmp_path, {"fc1.weight": 8, "fc2.weight": 15})
    elif case == "no file":
        calibration = tmp_path / "none.safetensors"
    elif case == "not stats":
        calibration = model
    elif case == "other method":
        method, calibration = "magnitude", stats
    elif case == "no gram":
        method = "sparsegpt"
        calibration = stats_file(tmp_path, {"fc1.weight": 8, "fc2.weight": 16}, gram=False)
    extra = [] if calibration is None else ["--calibration", calibration]
    out = tmp_path / "out.safetensors"
    done = run("prune", model, "-o", out, "--method", method, *extra)
    assert done.returncode == 2
    assert expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("layout", ["dense", "nm"])
def test_sparsegpt_nm_equals_the_pruner(files, tmp_path, layout):
    model, tensors, stats, _ = files
    out = tmp_path / "out.safetensors"
    done = run("prune", model, "-o", out, "--method", "sparsegpt", "--calibration", stats,
               "--nm", "2:4", "--layout", layout)
    assert done.returncode == 0, done.stderr
    assert "nm 2:4), target 50.0%" in done.stdout
    expected, _ = SparseGPTPruner(None, str(stats), nm=(2, 4)).prune_model(tensors)
    back = io.load(out, dense=True)
    for name in ("fc1.weight", "fc2.weight"):
        np.testing.assert_array_equal(back[name], expected[name])
        kept = back[name].reshape(back[name].shape[0], -1, 4) != 0
        assert np.all(kept.sum(axis=2) == 2)


@pytest.mark.parametrize("extra, expected", [
    (["--method", "sparsegpt", "--nm", "1:4", "--sparsity", "0.9"],
     "--nm 1:4 prunes 0.75; --sparsity 0.9 disagrees"),
    (["--method", "sparsegpt", "--nm", "2:4", "--groups", "row"],
     "--groups does not apply to --method sparsegpt --nm"),
    (["--method", "wanda", "--nm", "2:4"], "--nm applies to --method nm and sparsegpt"),
    (["--method", "sparsegpt", "--layout", "nm"], "it needs --method nm (or sparsegpt --nm"),
])
def test_sparsegpt_nm_usage_errors(files, tmp_path, extra, expected):
    model, _, stats, _ = files
    out = tmp_path / "out.safetensors"
    done = run("prune", model, "-o", out, "--calibration", stats, *extra)
    assert done.returncode == 2
    assert expected in done.stderr
    assert not out.exists()
