"""The numpy MLP trainer against scikit-learn's MLPClassifier (the oracle):
same initialisation, same minibatches, same weights after training."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from wavesparse import DynamicSparsePruner  # noqa: E402
from wavesparse.quality import mlp, numpy_mlp  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return mlp.load("digits")


def test_follows_sklearn_partial_fit(digits):
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(32, 16), random_state=3, alpha=1e-4,
                        learning_rate_init=1e-3)
    order = np.random.default_rng(3).permutation(len(digits.y_train))
    for start in range(0, len(order), numpy_mlp.BATCH):
        idx = order[start:start + numpy_mlp.BATCH]
        clf.partial_fit(digits.x_train[idx], digits.y_train[idx], classes=digits.classes)
    ours = numpy_mlp.train(digits, (32, 16), 1, seed=3).params
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_), 1):
        assert ours["fc%d.weight" % i].dtype == w.dtype == np.float32
        np.testing.assert_allclose(ours["fc%d.weight" % i], w, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(ours["fc%d.bias" % i], b, rtol=1e-4, atol=1e-6)


def test_gradients_against_finite_differences():
    rng = np.random.default_rng(0)
    p = numpy_mlp.init_params([5, 4, 3], seed=0, dtype=np.float64)
    x = rng.standard_normal((7, 5))
    y = np.eye(3)[rng.integers(0, 3, 7)]
    loss, g = numpy_mlp.gradients(p, x, y, alpha=0.1)
    eps = 1e-6
    for name in p:
        for pos in [(0,) * p[name].ndim, tuple(s - 1 for s in p[name].shape)]:
            q = {n: a.copy() for n, a in p.items()}
            q[name][pos] += eps
            plus = numpy_mlp.gradients(q, x, y, alpha=0.1)[0]
            q[name][pos] -= 2 * eps
            minus = numpy_mlp.gradients(q, x, y, alpha=0.1)[0]
            assert (plus - minus) / (2 * eps) == pytest.approx(g[name][pos], abs=1e-7)


def test_sparse_training_keeps_masks_and_counts_flops(digits):
    counts = []
    dsp = DynamicSparsePruner(0.9, method="rigl", update_every=4, end_step=12, seed=1)
    r = numpy_mlp.train(digits, (32,), 2, seed=0, dsp=dsp,
                        on_update=lambda s, p, m: counts.append(
                            sum(int(a.sum()) for a in m.values())))
    n = 64 * 32 + 32 * 10
    kept = round(0.1 * n)
    assert counts == [kept] * 3  # updates at steps 4, 8, 12 of 16
    for name, mask in r.masks.items():
        assert not r.params[name][~mask].any()
        assert int(np.count_nonzero(r.params[name])) <= int(mask.sum())
    samples = len(digits.y_train)
    dense = 3 * n * samples * 2
    # 3 passes over the kept weights, plus the dense weight gradient's extra
    # (n - kept) at the 3 update steps, each a full batch of 200.
    assert r.dense_macs == dense
    assert r.macs == 3 * kept * samples * 2 + 3 * (n - kept) * numpy_mlp.BATCH
    assert r.flops_fraction == pytest.approx(r.macs / dense)


def test_sparse_init_rescaled_to_dense_variance(digits):
    dsp = DynamicSparsePruner(0.9, seed=2)
    r = numpy_mlp.train(digits, (32,), 0, seed=4, dsp=dsp)
    dense = numpy_mlp.init_params([64, 32, 10], seed=4)
    for name, mask in r.masks.items():
        expected = np.where(mask, dense[name] / np.float32(np.sqrt(dsp.densities[name])), 0)
        np.testing.assert_allclose(r.params[name], expected, rtol=1e-6)
    plain = numpy_mlp.train(digits, (32,), 0, seed=4, rescale_init=False,
                            dsp=DynamicSparsePruner(0.9, seed=2))
    for name, mask in plain.masks.items():
        np.testing.assert_array_equal(plain.params[name], np.where(mask, dense[name], 0))
