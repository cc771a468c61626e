"""Checkpoint files: round trips, sparse layouts, atomic writes, bad files."""

import os

import numpy as np
import pytest
import scipy.sparse as sp

from wavesparse import formats, io

safetensors = pytest.importorskip("safetensors", reason="the safetensors package is not installed")


@pytest.fixture(params=[".npz", ".safetensors"])
def suffix(request):
    return request.param


def test_dense_and_sparse_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    conv = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    conv[rng.random(conv.shape) < 0.7] = 0
    csr = formats.to_csr(conv.reshape(8, -1))
    csr.original_shape = conv.shape
    bsr = formats.to_bsr(np.kron(np.eye(4), np.ones((4, 4))), 4)
    tensors = {"conv": csr, "blocks": bsr, "bias": np.arange(3.0),
               "ids": np.arange(5, dtype=np.int64).reshape(1, 5)}
    path = tmp_path / ("model" + suffix)
    io.save(path, tensors)
    back = io.load(path)
    assert list(back) == list(tensors)
    assert back["conv"].format == "csr" and back["blocks"].format == "bsr"
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(back["conv"], part), getattr(csr, part))
        np.testing.assert_array_equal(getattr(back["blocks"], part), getattr(bsr, part))
    dense = io.load(path, dense=True)
    np.testing.assert_array_equal(dense["conv"], conv)
    np.testing.assert_array_equal(dense["blocks"], bsr.toarray())
    np.testing.assert_array_equal(dense["ids"], tensors["ids"])
    assert sorted(os.listdir(tmp_path)) == ["model" + suffix]


def test_failed_write_leaves_nothing(tmp_path, suffix, monkeypatch):
    path = tmp_path / ("out" + suffix)
    path.write_bytes(b"old contents")

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    if suffix == ".npz":
        monkeypatch.setattr(np, "savez", broken)
    else:
        import safetensors.numpy
        monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(KeyboardInterrupt):
        io.save(path, {"w": np.ones(3)})
    assert sorted(os.listdir(tmp_path)) == ["out" + suffix]
    assert path.read_bytes() == b"old contents"


@pytest.mark.parametrize("content, match", [
    (None, "file not found"),
    (b"", "cannot read"),
    (b"this is not a checkpoint at all", "cannot read"),
])
def test_bad_files(tmp_path, suffix, content, match):
    path = tmp_path / ("bad" + suffix)
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(io.CheckpointError, match=match):
        io.load(path)


def test_truncated_file(tmp_path, suffix):
    path = tmp_path / ("model" + suffix)
    io.save(path, {"w": np.ones((64, 64), np.float32)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(io.CheckpointError, match="cannot read"):
        io.load(path)


def test_inconsistent_sparse_parts(tmp_path):
    path = tmp_path / "broken.npz"
    np.savez(path, **{"w.__csr_data": np.ones(2), "w.__csr_indices": np.int32([0, 9]),
                      "w.__csr_indptr": np.int32([0, 2]), "w.__csr_shape": np.int64([1, 3])})
    with pytest.raises(io.CheckpointError, match="'w' is inconsistent"):
        io.load(path)
    np.savez(path, **{"w.__csr_data": np.ones(2)})
    with pytest.raises(io.CheckpointError, match="lacks part"):
        io.load(path)


def test_bad_names_and_suffix(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        io.save(tmp_path / "x.npz", {"a.__b": np.ones(1)})
    with pytest.raises(io.CheckpointError, match="expected a .safetensors or .npz"):
        io.save(tmp_path / "x.pt", {"a": np.ones(1)})
    with pytest.raises(ValueError, match="only CSR and BSR"):
        io.save(tmp_path / "x.npz", {"a": sp.coo_array(np.eye(2))})
