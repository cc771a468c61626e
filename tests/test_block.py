"""BlockPruner against an oracle written out with a loop over the blocks."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from wavesparse import BlockPruner, formats, io


def oracle_block_mask(w, block, k, norm="l1"):
    """Prune the k blocks of smallest (norm, block-row-major position)."""
    r, c = block
    rows, cols = w.shape
    scored = []
    for bi, i in enumerate(range(0, rows, r)):
        for bj, j in enumerate(range(0, cols, c)):
            tile = np.abs(w[i:i + r, j:j + c].astype(np.float64))
            value = tile.sum() if norm == "l1" else np.sqrt((tile ** 2).sum())
            scored.append((value, len(scored), i, j))
    keep = np.ones(w.shape, bool)
    for _, _, i, j in sorted(scored)[:k]:
        keep[i:i + r, j:j + c] = False
    return keep


@pytest.mark.parametrize("edge", [4, 8, 16, 32, 64])
@pytest.mark.parametrize("sparsity", [0.5, 0.7, 0.9])
def test_exact_block_count(edge, sparsity, dtype):
    w = np.random.default_rng(edge).standard_normal((128, 192)).astype(dtype)
    pruned, mask = BlockPruner(sparsity, block=edge).prune_layer(w)
    n_blocks = (128 // edge) * (192 // edge)
    k = int(round(sparsity * n_blocks))
    tiles = mask.reshape(128 // edge, edge, 192 // edge, edge)
    whole = tiles.all(axis=(1, 3)) | ~tiles.any(axis=(1, 3))
    assert whole.all()  # every block is kept or pruned whole
    assert int((~tiles.any(axis=(1, 3))).sum()) == k
    np.testing.assert_array_equal(mask, oracle_block_mask(w, (edge, edge), k))
    np.testing.assert_array_equal(pruned, np.where(mask, w, 0))


def test_default_block_is_64x64_and_l2():
    assert BlockPruner(0.5).block == (64, 64)
    w = np.random.default_rng(0).standard_normal((64, 256))
    mask = BlockPruner(0.5, norm="l2").prune_layer(w)[1]
    np.testing.assert_array_equal(mask, oracle_block_mask(w, (64, 64), 2, "l2"))


def test_ties_by_position_and_prior_first():
    w = np.ones((4, 8))
    mask = BlockPruner(0.5, block=2).prune_layer(w)[1]
    np.testing.assert_array_equal(mask, oracle_block_mask(w, (2, 2), 4))
    assert not mask[:2].any() and mask[2:].all()  # the first block row goes first
    prior = np.ones((4, 8), bool)
    prior[2:, 6:] = False  # the last block, emptied by an earlier step
    mask = BlockPruner(0.25, block=2).prune_layer(w, mask=prior)[1]
    assert not mask[2:, 6:].any() and not mask[:2, :2].any() and mask.sum() == 32 - 8


def test_partial_edge_blocks_count_as_blocks():
    w = np.random.default_rng(1).standard_normal((10, 7))
    mask = BlockPruner(0.5, block=4).prune_layer(w)[1]
    np.testing.assert_array_equal(mask, oracle_block_mask(w, (4, 4), 3))


@pytest.mark.parametrize("edge", [8, 16, 64])
def test_bsr_equals_scipy_on_the_masked_weights(edge, dtype):
    w = np.random.default_rng(edge).standard_normal((128, 128)).astype(dtype)
    pruned, _ = BlockPruner(0.75, block=edge).prune_layer(w)
    ours = formats.to_bsr(pruned, edge)
    theirs = sp.bsr_array(pruned, blocksize=(edge, edge))
    theirs.eliminate_zeros()
    theirs.sort_indices()
    assert ours.blocksize == theirs.blocksize and ours.nnz == theirs.nnz
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)
    assert ours.indptr[-1] == (128 // edge) ** 2 // 4


def test_bad_arguments():
    with pytest.raises(ValueError, match="norm must be 'l1' or 'l2'"):
        BlockPruner(0.5, norm="max")
    with pytest.raises(ValueError, match="block must be positive"):
        BlockPruner(0.5, block=0)


def run(*args):
    return subprocess.run([sys.executable, "-m", "wavesparse", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("layout", ["dense", "bsr"])
def test_prune_method_block_loads_back_to_the_same_weights(tmp_path, layout):
    rng = np.random.default_rng(4)
    model = {"fc.weight": rng.standard_normal((32, 64)).astype(np.float32)}
    io.save(tmp_path / "in.npz", model)
    done = run("prune", tmp_path / "in.npz", "-o", tmp_path / "out.npz", "--method", "block",
               "--block", "16x16", "--sparsity", "0.5", "--layout", layout)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    back = io.load(tmp_path / "out.npz", dense=True)["fc.weight"]
    w = model["fc.weight"]
    np.testing.assert_array_equal(back, np.where(oracle_block_mask(w, (16, 16), 4), w, 0))


def test_bsr_layout_after_element_pruning_warns(tmp_path):
    model = {"fc.weight": np.random.default_rng(0).standard_normal((32, 64)).astype(np.float32)}
    io.save(tmp_path / "in.npz", model)
    done = run("prune", tmp_path / "in.npz", "-o", tmp_path / "out.npz", "--sparsity", "0.9",
               "--layout", "bsr", "--block", "16x16")
    assert done.returncode == 0, done.stderr
    assert "more than CSR" in done.stderr and "--method block --block 16x16" in done.stderr
