"""Sharded checkpoints: ``wavesparse prune DIR_OR_INDEX -o OUT_DIR`` and ``inspect``.

Oracles: the single-file command on the same tensors, a stable argsort of the
float32 upcast (the position tie rule), and the bytes of the files as the
safetensors package reads them.
"""

import json
import os
import struct
import subprocess
import sys
import textwrap
from glob import escape as glob_escape

import ml_dtypes
import numpy as np
import pytest

from wavesparse import io, shards
from wavesparse.cli import main

safetensors_numpy = pytest.importorskip("safetensors.numpy")

BF16 = np.dtype(ml_dtypes.bfloat16)


def run(*args):
    return subprocess.run([sys.executable, "-m", "wavesparse", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def three_shards(rng):
    """Llama-like names and dtypes over three shards, ties everywhere."""
    return [{"embed.weight": rng.standard_normal((40, 16)).astype(BF16),
             "layers.0.attn.q.weight": rng.standard_normal((16, 16)).astype(BF16),
             "layers.0.norm.weight": np.ones(16, BF16)},
            {"layers.0.mlp.up.weight": rng.standard_normal((48, 16)).astype(BF16),
             "layers.0.conv.weight": rng.standard_normal((4, 4, 3)).astype(BF16)},
            {"lm_head.weight": rng.standard_normal((40, 16)).astype(BF16),
             "position_ids": np.arange(16, dtype=np.int64).reshape(2, 8)}]


@pytest.fixture
def sharded(tmp_path):
    parts = three_shards(np.random.default_rng(0))
    folder = tmp_path / "in"
    shards.write_checkpoint(folder, parts)
    return folder, parts


def read_output(folder):
    """Every entry of a sharded output, by name, as the safetensors package reads it."""
    entries = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            entries.update(safetensors_numpy.load_file(os.path.join(folder, name)))
    return entries


@pytest.mark.parametrize("scope", ["local", "global"])
def test_sharded_prune_equals_the_single_file_prune(sharded, tmp_path, scope):
    folder, parts = sharded
    merged = {n: a for part in parts for n, a in part.items()}
    single = tmp_path / "one.safetensors"
    io.save(single, merged)
    done = run("prune", single, "-o", tmp_path / "one-out.safetensors", "--sparsity", "0.7",
               "--scope", scope)
    assert done.returncode == 0, done.stderr
    done = run("prune", folder / "model.safetensors.index.json", "-o", tmp_path / "out",
               "--sparsity", "0.7", "--scope", scope)
    assert done.returncode == 0, done.stderr
    expected = safetensors_numpy.load_file(str(tmp_path / "one-out.safetensors"))
    got = read_output(tmp_path / "out")
    assert sorted(got) == sorted(merged)
    for name, array in expected.items():
        assert got[name].dtype == merged[name].dtype, name
        np.testing.assert_array_equal(got[name].view(np.uint8), array.view(np.uint8),
                                      err_msg=name)
    # and the position tie rule, from a stable sort of the float32 upcast
    chosen = [n for n, a in merged.items() if a.ndim >= 2 and a.dtype == BF16]
    groups = [chosen] if scope == "global" else [[n] for n in chosen]
    for group in groups:
        wide = np.concatenate([merged[n].astype(np.float32).ravel() for n in group])
        keep = np.ones(wide.size, bool)
        keep[np.argsort(np.abs(wide), kind="stable")[:round(0.7 * wide.size)]] = False
        kept = np.concatenate([got[n].astype(np.float32).ravel() for n in group])
        np.testing.assert_array_equal(kept, np.where(keep, wide, 0))


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_output_index_names_every_entry_once_with_the_right_sizes(sharded, tmp_path, layout):
    folder, parts = sharded
    assert main(["prune", str(folder), "-o", str(tmp_path / "out"), "--layout", layout,
                 "--scope", "global"]) == 0
    out = tmp_path / "out"
    assert sorted(os.listdir(out)) == sorted(os.listdir(folder))
    index = json.loads((out / "model.safetensors.index.json").read_text())
    total = 0
    seen = {}
    for shard in sorted(set(index["weight_map"].values())):
        path = out / shard
        with open(path, "rb") as handle:
            n = struct.unpack("<Q", handle.read(8))[0]
            header = json.loads(handle.read(n))
        header.pop("__metadata__")
        ends = sorted(e["data_offsets"] for e in header.values())
        assert ends[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ends, ends[1:]))
        assert 8 + n + ends[-1][1] == os.path.getsize(path)
        for name, entry in header.items():
            assert name not in seen
            seen[name] = shard
            total += entry["data_offsets"][1] - entry["data_offsets"][0]
    assert seen == index["weight_map"]
    assert index["metadata"]["total_size"] == total
    dense = {n for part in parts for n in part}
    if layout == "dense":
        assert set(seen) == dense
    else:
        assert "lm_head.weight.__csr_data" in seen and "lm_head.weight" not in seen
        assert "layers.0.conv.weight.__dense_shape" in seen
        for name in ("layers.0.norm.weight", "position_ids"):
            assert name in seen
        loaded = read_output(out)
        assert loaded["lm_head.weight.__csr_data"].dtype == BF16


def test_dtypes_round_trip_through_the_command_line(tmp_path):
    rng = np.random.default_rng(3)
    tensors = {"bf16": rng.standard_normal((8, 8)).astype(BF16),
               "f16": rng.standard_normal((8, 8)).astype(np.float16),
               "f32": rng.standard_normal((8, 8)).astype(np.float32),
               "f64": rng.standard_normal((8, 8)),
               "i8": rng.integers(-5, 5, (8, 8)).astype(np.int8),
               "mask": rng.integers(0, 2, (8, 8)).astype(bool)}
    shards.write_checkpoint(tmp_path / "in", [dict(list(tensors.items())[:3]),
                                              dict(list(tensors.items())[3:])])
    done = run("prune", tmp_path / "in", "-o", tmp_path / "out", "--sparsity", "0.5")
    assert done.returncode == 0, done.stderr
    got = read_output(tmp_path / "out")
    for name, array in tensors.items():
        assert got[name].dtype == array.dtype, name
        wide = array.astype(np.float64)
        if name in ("i8", "mask"):
            np.testing.assert_array_equal(got[name], array)
        else:
            keep = np.ones(64, bool)
            keep[np.argsort(np.abs(wide).ravel(), kind="stable")[:32]] = False
            np.testing.assert_array_equal(got[name].astype(np.float64).ravel(),
                                          np.where(keep, wide.ravel(), 0))
    listing = run("inspect", tmp_path / "out")
    assert listing.returncode == 0, listing.stderr
    assert "6 tensors in 2 shards" in listing.stdout and "bfloat16" in listing.stdout


def test_a_folder_of_shards_without_index_is_read_in_name_order(sharded, tmp_path):
    folder, parts = sharded
    os.remove(folder / "model.safetensors.index.json")
    ckpt = shards.open_checkpoint(folder)
    assert ckpt.index is None
    assert [t.name for t in ckpt.tensors] == [n for part in parts for n in part]


def one_line_error(done, *fragments):
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_shard_broken_index_and_foreign_dtype_exit_2(sharded, tmp_path):
    folder, _ = sharded
    index = folder / "model.safetensors.index.json"
    good = index.read_text()
    shard = folder / "model-00002-of-00003.safetensors"
    moved = tmp_path / "moved.safetensors"
    os.rename(shard, moved)
    one_line_error(run("prune", folder, "-o", tmp_path / "o1"),
                   "model-00002-of-00003.safetensors", "missing")
    os.rename(moved, shard)
    index.write_text(good[:-20])
    one_line_error(run("prune", index, "-o", tmp_path / "o2"), "broken index")
    one_line_error(run("inspect", index), "broken index")
    index.write_text(good)
    header = json.dumps({"x": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}})
    shard.write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0\0")
    one_line_error(run("prune", folder, "-o", tmp_path / "o3"), "F8_E4M3", "'x'")
    for name in ("o1", "o2", "o3"):
        assert not (tmp_path / name).exists()
    assert [n for n in os.listdir(tmp_path) if n.endswith(".partial")] == []


def test_interrupt_leaves_no_partial_output(sharded, tmp_path, monkeypatch):
    folder, _ = sharded
    calls = []
    real = shards.write_shard

    def interrupted(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(shards, "write_shard", interrupted)
    assert main(["prune", str(folder), "-o", str(tmp_path / "out")]) == 130
    assert os.listdir(tmp_path) == ["in"]


def test_a_non_empty_output_folder_needs_force(sharded, tmp_path):
    folder, _ = sharded
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    one_line_error(run("prune", folder, "-o", out), "not empty", "--force")
    assert main(["prune", str(folder), "-o", str(out), "--force"]) == 0
    assert sorted(os.listdir(out)) == sorted(os.listdir(folder) + ["keep.txt"])


def calibrated(sharded, tmp_path, drop=None):
    """A statistics file for the sharded fixture's chosen 2-D tensors (one left
    out with ``drop``), and their names."""
    from wavesparse.calibration import Recorder
    _, parts = sharded
    rng = np.random.default_rng(1)
    rec = Recorder()
    names = []
    for part in parts:
        for name, w in part.items():
            if w.ndim == 2 and w.dtype == BF16 and name != drop:
                rec.add(name, rng.standard_normal((64, w.shape[1])) * rng.uniform(0.1, 3, w.shape[1]))
                names.append(name)
    path = tmp_path / "stats.safetensors"
    rec.save(path)
    return path, names


@pytest.mark.parametrize("method", ["wanda", "sparsegpt", "nm", "block"])
def test_per_tensor_methods_stream_sharded_input_as_in_memory(sharded, tmp_path, method):
    """Each per-tensor pruner, run over the shards tensor by tensor, gives the
    tensors it gives the whole checkpoint loaded in memory, in the input dtype."""
    from wavesparse import BlockPruner, NMPruner, SparseGPTPruner, WandaPruner
    folder, parts = sharded
    stats, names = calibrated(sharded, tmp_path)
    include = [glob_escape(n) for n in names]
    pruner, options = {
        "wanda": (WandaPruner(0.5, stats, include=include), ["--calibration", stats]),
        "sparsegpt": (SparseGPTPruner(0.5, stats, include=include),
                      ["--calibration", stats]),
        "nm": (NMPruner(2, 4, include=include), ["--nm", "2:4"]),
        "block": (BlockPruner(0.5, block=(8, 8), include=include), ["--block", "8x8"]),
    }[method]
    flags = [a for n in include for a in ("--include", n)]
    done = run("prune", folder, "-o", tmp_path / "out", "--sparsity", 0.5, "--method", method,
               *options, *flags)
    assert done.returncode == 0, done.stderr
    assert "Pruned %d of 7 tensors" % len(names) in done.stdout
    got = read_output(tmp_path / "out")
    merged = {n: w for part in parts for n, w in part.items()}
    want, _ = pruner.prune_model(merged)
    assert sorted(got) == sorted(merged)
    for name, w in merged.items():
        assert got[name].dtype == w.dtype
        np.testing.assert_array_equal(got[name].view(np.uint8), want[name].view(np.uint8),
                                      err_msg=name)
    assert all(np.mean(got[n] == 0) >= 0.5 for n in names)


def test_sharded_calibration_errors_come_before_any_output(sharded, tmp_path):
    folder, _ = sharded
    stats, names = calibrated(sharded, tmp_path, drop="lm_head.weight")
    flags = [a for n in names + ["lm_head.weight"] for a in ("--include", glob_escape(n))]
    one_line_error(run("prune", folder, "-o", tmp_path / "out", "--method", "sparsegpt",
                       "--calibration", stats, *flags), "lm_head.weight")
    assert not (tmp_path / "out").exists()
    one_line_error(run("prune", folder, "-o", tmp_path / "out", "--method", "wanda",
                       "--calibration", stats, "--engine", "dask"),
                   "--engine dask", "magnitude")


def test_a_global_pruner_is_refused_tensor_by_tensor(sharded, tmp_path):
    from wavesparse import MagnitudePruner
    folder, _ = sharded
    with pytest.raises(ValueError, match="scope 'global'"):
        shards.prune(folder, tmp_path / "out", 0.5, pruner=MagnitudePruner(0.5, scope="global"),
                     progress=False)
    with pytest.raises(TypeError, match="pruner must be a wavesparse.pruning.Pruner"):
        shards.prune(folder, tmp_path / "out", 0.5, pruner="wanda", progress=False)
    assert not (tmp_path / "out").exists()


# A memory limit far below the checkpoint: the streaming path passes under it,
# loading the checkpoint whole does not.
LIMITED = textwrap.dedent("""
    import resource, sys, os
    import numpy as np
    from wavesparse import cli, shards
    # Warm up first (imports, OpenMP threads), then measure the address space.
    assert cli.main(["prune", sys.argv[1], "-o", sys.argv[2] + "-warm", "--force"]) == 0
    with open("/proc/self/status") as f:
        size = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize")][0]
    budget = int(sys.argv[4]) << 20
    resource.setrlimit(resource.RLIMIT_AS, (size + budget, size + budget))
    if sys.argv[3] == "stream":
        sys.exit(cli.main(["prune", sys.argv[1], "-o", sys.argv[2], "--scope", "global"]))
    try:
        ckpt = shards.open_checkpoint(sys.argv[1])
        whole = [np.array(shards.open_array(t)) for t in ckpt.tensors]
        np.concatenate([w.ravel() for w in whole])
    except MemoryError:
        sys.exit(3)
    sys.exit(0)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_streaming_runs_under_a_memory_limit_that_loading_does_not(tmp_path):
    rng = np.random.default_rng(4)
    big = [{"l%d.%s" % (i, w): rng.standard_normal((256, 16384), np.float32).astype(BF16)
            for w in ("q", "k")} for i in range(3)]  # 6 x 8 MiB = 48 MiB
    shards.write_checkpoint(tmp_path / "in", big)
    script = tmp_path / "limited.py"
    script.write_text(LIMITED)
    env = dict(os.environ, OMP_NUM_THREADS="2", MALLOC_ARENA_MAX="1")

    def limited(mode):
        return subprocess.run([sys.executable, str(script), str(tmp_path / "in"),
                               str(tmp_path / "out"), mode, "32"],
                              capture_output=True, text=True, timeout=300, env=env)

    loading = limited("load")
    assert loading.returncode == 3, loading.stderr
    streaming = limited("stream")
    assert streaming.returncode == 0, streaming.stderr
    got = read_output(tmp_path / "out")
    zeros = sum(int(np.count_nonzero(a.view(np.uint16) & 0x7FFF == 0)) for a in got.values())
    assert zeros == round(0.5 * 6 * 256 * 16384)


@pytest.mark.parametrize("scope", ["local", "global"])
def test_pieces_give_the_whole_tensor_result(sharded, tmp_path, scope):
    """Reading, pruning and writing in 1000-byte pieces (ties split across
    pieces) changes nothing."""
    folder, _ = sharded
    for name, chunk in (("whole", 1 << 26), ("pieces", 1000)):
        shards.prune(folder, tmp_path / name, 0.6, scope=scope, progress=False,
                     chunk_bytes=chunk)
    whole, pieces = read_output(tmp_path / "whole"), read_output(tmp_path / "pieces")
    for name, array in whole.items():
        np.testing.assert_array_equal(pieces[name].view(np.uint8), array.view(np.uint8))
