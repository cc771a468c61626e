"""N:M pruning, the compact N:M storage, its products and its checkpoints,
against oracles written out with numpy (a Python loop over the groups)."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from wavesparse import NMPruner, io
from wavesparse.formats_nm import NMArray, nm_spmm, to_nm
from wavesparse.pruning.nm import parse_pattern


def oracle_nm_mask(w, n, m):
    """Keep-mask of a 2-D w: in each group of m along the rows, prune the
    m - n smallest (|w|, position), in a plain loop."""
    keep = np.ones(w.shape, bool)
    for i in range(w.shape[0]):
        for g in range(0, w.shape[1], m):
            cols = list(range(g, min(g + m, w.shape[1])))
            drop = m - n - (m - len(cols))  # padding counts as pruned first
            ranked = sorted(cols, key=lambda c: (abs(w[i, c]), c))
            for c in ranked[:max(drop, 0)]:
                keep[i, c] = False
    return keep


@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (4, 8), (1, 2), (3, 3)])
def test_every_group_keeps_exactly_n(n, m, dtype):
    w = np.random.default_rng(m).standard_normal((13, 8 * m)).astype(dtype)
    pruned, mask = NMPruner(n, m).prune_layer(w)
    assert (mask.reshape(13, -1, m).sum(axis=2) == n).all()
    np.testing.assert_array_equal(mask, oracle_nm_mask(w, n, m))
    np.testing.assert_array_equal(pruned, np.where(mask, w, 0))
    assert pruned.dtype == dtype


def test_written_out_2_4_cases():
    w = np.array([[1.0, -5.0, 3.0, 2.0, 0.0, 0.0, 0.0, 7.0],
                  [2.0, 2.0, 2.0, 2.0, -1.0, 4.0, -4.0, 0.5]])
    expected = np.array([[0.0, -5.0, 3.0, 0.0, 0.0, 0.0, 0.0, 7.0],
                         [0.0, 0.0, 2.0, 2.0, 0.0, 4.0, -4.0, 0.0]])
    pruned, mask = NMPruner(2, 4).prune_layer(w)
    np.testing.assert_array_equal(pruned, expected)
    # A group of zeros: the lower positions go first, the last two stay.
    assert mask[0, 4:].tolist() == [False, False, True, True]


def test_ties_by_position_and_prior_first():
    w = np.ones((1, 4), np.float32)
    assert NMPruner(2, 4).prune_layer(w)[1].tolist() == [[False, False, True, True]]
    prior = np.array([[True, True, True, False]])
    assert NMPruner(2, 4).prune_layer(w, mask=prior)[1].tolist() == [[False, True, True, False]]
    # A prior that pruned more than m - n keeps them pruned.
    prior = np.array([[False, False, False, True]])
    assert NMPruner(2, 4).prune_layer(w, mask=prior)[1].tolist() == [[False, False, False, True]]


def test_axis_0_and_padding():
    w = np.random.default_rng(1).standard_normal((8, 5))
    mask = NMPruner(1, 4, axis=0).prune_layer(w)[1]
    np.testing.assert_array_equal(mask, oracle_nm_mask(w.T, 1, 4).T)
    w = np.random.default_rng(2).standard_normal((3, 10))
    with pytest.raises(ValueError, match="10 elements along axis 1, not a multiple of m=4"):
        NMPruner(2, 4).prune_layer(w)
    mask = NMPruner(2, 4, pad=True).prune_layer(w)[1]
    np.testing.assert_array_equal(mask, oracle_nm_mask(w, 2, 4))
    assert mask[:, 8:].all()  # two real weights of a padded group of 4 both stay


def test_sparsity_is_the_pattern_and_bad_arguments():
    p = NMPruner(1, 4)
    assert p.sparsity == 0.75
    w = np.ones((2, 8))
    assert p.prune_layer(w, sparsity=0.75)[1].sum() == 4
    with pytest.raises(ValueError, match="1:4 pattern prunes 0.75 of w; a sparsity of 0.5"):
        p.prune_layer(w, sparsity=0.5)
    with pytest.raises(ValueError, match="a sparsity of 0.9"):
        p.prune_model({"a": w}, sparsity={"a": 0.9})
    with pytest.raises(ValueError, match="1 <= n <= m"):
        NMPruner(5, 4)
    with pytest.raises(TypeError, match="n must be an integer"):
        NMPruner(2.0, 4)
    with pytest.raises(ValueError, match="criterion"):
        NMPruner(2, 4, criterion="random")
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        NMPruner(2, 4, axis=2).prune_layer(w)
    assert parse_pattern("4:8") == (4, 8)
    with pytest.raises(ValueError, match="N:M pattern"):
        parse_pattern("4-8")


def test_prune_model_follows_the_protocol():
    rng = np.random.default_rng(3)
    model = {"fc.weight": rng.standard_normal((4, 8)), "fc.bias": rng.standard_normal(4)}
    pruner = NMPruner(2, 4)
    pruned, masks = pruner.prune_model(model)
    assert sorted(masks) == ["fc.weight"]
    np.testing.assert_array_equal(masks["fc.weight"], oracle_nm_mask(model["fc.weight"], 2, 4))
    np.testing.assert_array_equal(pruned["fc.bias"], model["fc.bias"])
    assert pruner.history[-1]["achieved_sparsity"] == 0.5


# ------------------------------------------------------------ storage


def nm_matrix(shape, n, m, dtype, seed=0):
    w = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return NMPruner(n, m, pad=True).prune_layer(w)[0]


@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (4, 8)])
@pytest.mark.parametrize("cols", [16, 13, 1])
def test_storage_round_trip_and_csr(n, m, cols, dtype):
    w = nm_matrix((9, cols), n, m, dtype)
    w[0] = 0  # groups with fewer than n nonzeros are filled with zeros
    A = to_nm(w, n, m, pad=True)
    assert A.values.shape == A.positions.shape == (9, -(-cols // m) * n)
    assert A.positions.dtype == np.uint8 and A.values.dtype == dtype
    np.testing.assert_array_equal(A.toarray(), w)
    csr = A.tocsr()
    assert isinstance(csr, sp.csr_array) and csr.has_canonical_format
    theirs = sp.csr_array(w)
    theirs.eliminate_zeros()
    np.testing.assert_array_equal(csr.indptr, theirs.indptr)
    np.testing.assert_array_equal(csr.indices, theirs.indices)
    np.testing.assert_array_equal(csr.data, theirs.data)
    assert A.nnz == np.count_nonzero(w)


def test_storage_refuses_what_is_not_the_pattern():
    with pytest.raises(ValueError, match="row 1, group 1 .columns 4..7. holds 3 nonzeros"):
        to_nm(np.float32([[1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 0]]), 2, 4)
    with pytest.raises(ValueError, match="not a multiple of m=4"):
        to_nm(np.ones((1, 6), np.float32), 2, 4)
    with pytest.raises(ValueError, match="NaN"):
        to_nm(np.float32([[np.nan, 0]]), 1, 2)
    with pytest.raises(ValueError, match="m <= 256"):
        to_nm(np.ones((1, 512)), 1, 512)
    with pytest.raises(ValueError, match="positions must be below m=4"):
        NMArray(np.float32([[1, 1]]), np.uint8([[0, 4]]), 2, 4, (1, 4))
    with pytest.raises(ValueError, match="increase strictly"):
        NMArray(np.float32([[1, 1]]), np.uint8([[2, 1]]), 2, 4, (1, 4))
    with pytest.raises(ValueError, match="past the matrix"):
        NMArray(np.float32([[1, 1]]), np.uint8([[0, 3]]), 2, 4, (1, 3))
    with pytest.raises(TypeError, match="positions must be a uint8"):
        NMArray(np.float32([[1, 1]]), np.int64([[0, 1]]), 2, 4, (1, 4))
    with pytest.raises(ValueError, match=r"values must have shape \(1, 2\)"):
        NMArray(np.float32([[1, 1, 1]]), np.uint8([[0, 1, 2]]), 2, 4, (1, 4))


@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (4, 8)])
@pytest.mark.parametrize("nx", [1, 3, 300])
def test_product_equals_dense_on_the_masked_weights(n, m, nx, fp64_backend):
    backend, dtype = fp64_backend
    w = nm_matrix((37, 26), n, m, dtype, seed=nx)
    A = to_nm(w, n, m, pad=True)
    X = np.random.default_rng(nx).standard_normal((26, nx)).astype(dtype)
    expected = w.astype(np.float64) @ X.astype(np.float64)
    for operand in (X, np.asfortranarray(X), X[:, 0] if nx == 1 else X[:, ::2]):
        Y = nm_spmm(A, operand, backend=backend)
        assert Y.dtype == dtype
        np.testing.assert_allclose(Y, w.astype(np.float64) @ operand.astype(np.float64),
                                   rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(A.matmul(X, backend=backend), expected, rtol=1e-5, atol=1e-5)


def test_product_edges():
    A = to_nm(np.zeros((0, 8), np.float32), 2, 4)
    assert nm_spmm(A, np.ones((8, 3), np.float32)).shape == (0, 3)
    A = to_nm(np.eye(4, dtype=np.float32), 1, 4)
    np.testing.assert_array_equal(A @ np.float32([1, 2, 3, 4]), [1, 2, 3, 4])
    with pytest.raises(ValueError, match="A has 4 columns, X has 3 rows"):
        A @ np.ones(3, np.float32)
    with pytest.raises(ValueError, match="must have one dtype"):
        A @ np.ones(4)
    with pytest.raises(TypeError, match="A must be an NMArray"):
        nm_spmm(np.eye(4), np.ones(4))


# ------------------------------------------------------------ checkpoints


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_checkpoint_round_trip(tmp_path, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    w = nm_matrix((6, 10), 2, 4, np.float32)
    A = to_nm(w, 2, 4, pad=True)
    path = tmp_path / ("m" + suffix)
    io.save(path, {"w": A, "b": np.ones(3)})
    back = io.load(path)
    assert isinstance(back["w"], NMArray) and (back["w"].n, back["w"].m) == (2, 4)
    np.testing.assert_array_equal(back["w"].values, A.values)
    np.testing.assert_array_equal(back["w"].positions, A.positions)
    np.testing.assert_array_equal(io.load(path, dense=True)["w"], w)


def test_broken_checkpoint_is_named(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, **{"w.__nm_values": np.ones((1, 2), np.float32),
                      "w.__nm_positions": np.uint8([[0, 9]]),
                      "w.__nm_shape": np.int64([1, 4]), "w.__nm_pattern": np.int64([2, 4])})
    with pytest.raises(io.CheckpointError, match="N:M tensor 'w' is inconsistent"):
        io.load(path)
    np.savez(path, **{"w.__nm_values": np.ones((1, 2), np.float32)})
    with pytest.raises(io.CheckpointError, match="N:M tensor 'w' lacks part"):
        io.load(path)


def run(*args):
    return subprocess.run([sys.executable, "-m", "wavesparse", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("layout", ["dense", "nm", "csr"])
def test_prune_method_nm_loads_back_to_the_same_weights(tmp_path, layout):
    rng = np.random.default_rng(5)
    model = {"fc.weight": rng.standard_normal((16, 12)).astype(np.float32),
             "fc.bias": rng.standard_normal(16).astype(np.float32)}
    io.save(tmp_path / "in.npz", model)
    done = run("prune", tmp_path / "in.npz", "-o", tmp_path / "out.npz", "--method", "nm",
               "--nm", "1:4", "--layout", layout)
    assert done.returncode == 0, done.stderr
    assert "target 75.0%" in done.stdout
    back = io.load(tmp_path / "out.npz", dense=True)
    w = model["fc.weight"]
    np.testing.assert_array_equal(back["fc.weight"], np.where(oracle_nm_mask(w, 1, 4), w, 0))
    np.testing.assert_array_equal(back["fc.bias"], model["fc.bias"])
    if layout == "nm":
        assert isinstance(io.load(tmp_path / "out.npz")["fc.weight"], NMArray)
        shown = run("inspect", tmp_path / "out.npz")
        assert shown.returncode == 0, shown.stderr
        row = next(line for line in shown.stdout.splitlines() if line.startswith("fc.weight"))
        # 16 rows x 3 groups x 1 kept: 48 float32 values and 48 position bytes.
        assert row.split()[2:5] == ["float32", "nm", "75.00%"] and "240 B" in row


def test_prune_nm_usage_errors(tmp_path):
    io.save(tmp_path / "in.npz", {"w": np.ones((4, 8), np.float32)})
    done = run("prune", tmp_path / "in.npz", "-o", tmp_path / "o.npz", "--layout", "nm")
    assert done.returncode == 2 and "--layout nm" in done.stderr and "--method nm" in done.stderr
    done = run("prune", tmp_path / "in.npz", "-o", tmp_path / "o.npz", "--method", "nm",
               "--sparsity", "0.9")
    assert done.returncode == 2 and "--sparsity 0.9 disagrees" in done.stderr


def test_wanda_criterion_keeps_the_largest_scores_of_each_group():
    """criterion='wanda': per group of 4 inputs, the n largest |W_ij| * ||X_j||
    (ties by position), against the scores written out."""
    from wavesparse.calibration import Recorder
    rng = np.random.default_rng(11)
    w = rng.standard_normal((5, 8))
    x = rng.standard_normal((30, 8)) * np.array([5, 1, 0.1, 2, 1, 1, 0.01, 3])
    rec = Recorder(gram=False)
    rec.add("fc", x)
    _, mask = NMPruner(2, 4, criterion="wanda", stats=rec.stats()).prune_layer(w, name="fc")
    scores = np.abs(w) * np.sqrt((x ** 2).sum(axis=0))
    expected = np.ones(w.shape, bool)
    for r in range(5):
        for g in range(2):
            group = scores[r, 4 * g:4 * g + 4]
            pruned = sorted(range(4), key=lambda j: (group[j], j))[:2]   # smallest, lower first
            expected[r, [4 * g + j for j in pruned]] = False
    np.testing.assert_array_equal(mask, expected)
    with pytest.raises(ValueError, match="needs stats"):
        NMPruner(2, 4, criterion="wanda")
