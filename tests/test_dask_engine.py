"""``--engine dask``: the sharded prune on dask.distributed workers equals the
single-process one bit for bit (a LocalCluster of two worker processes)."""

import os

import ml_dtypes
import numpy as np
import pytest

from wavesparse import shards
from wavesparse.cli import main

distributed = pytest.importorskip("distributed")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

BF16 = np.dtype(ml_dtypes.bfloat16)


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def sharded(tmp_path):
    rng = np.random.default_rng(0)
    parts = [{"a.weight": rng.standard_normal((40, 16)).astype(BF16),
              "a.norm": np.ones(16, BF16)},
             {"b.weight": rng.standard_normal((48, 16)).astype(BF16),
              "b.conv": rng.standard_normal((4, 4, 3)).astype(BF16)},
             {"c.weight": rng.standard_normal((40, 16)).astype(BF16),
              "ids": np.arange(16, dtype=np.int64).reshape(2, 8)}]
    shards.write_checkpoint(tmp_path / "in", parts)
    return tmp_path / "in"


def read_output(folder):
    entries = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            entries.update(safetensors_numpy.load_file(os.path.join(folder, name)))
    return entries


@pytest.mark.parametrize("scope, layout", [("global", "dense"), ("local", "dense"),
                                           ("global", "csr")])
def test_dask_engine_equals_the_local_engine(sharded, tmp_path, scheduler, scope, layout):
    for engine in ("local", "dask"):
        extra = ["--scheduler", scheduler] if engine == "dask" else []
        assert main(["prune", str(sharded), "-o", str(tmp_path / engine), "--engine", engine,
                     "--scope", scope, "--sparsity", "0.6", "--layout", layout, *extra]) == 0
    local, dask = read_output(tmp_path / "local"), read_output(tmp_path / "dask")
    assert sorted(local) == sorted(dask)
    for name, array in local.items():
        assert dask[name].dtype == array.dtype
        np.testing.assert_array_equal(dask[name].view(np.uint8), array.view(np.uint8))
    assert ((tmp_path / "local" / "model.safetensors.index.json").read_text()
            == (tmp_path / "dask" / "model.safetensors.index.json").read_text())


def test_dask_engine_refuses_float32_tensors(tmp_path, scheduler, capsys):
    shards.write_checkpoint(tmp_path / "in", [{"w": np.ones((4, 4), np.float32)}])
    assert main(["prune", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                 "--engine", "dask", "--scheduler", scheduler]) == 2
    assert "float16/bfloat16" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_engine_dask_needs_sharded_input(tmp_path, capsys):
    assert main(["prune", str(tmp_path / "m.safetensors"), "-o", str(tmp_path / "o.safetensors"),
                 "--engine", "dask"]) == 2
    assert "sharded" in capsys.readouterr().err
