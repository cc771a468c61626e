"""A numpy MLP trainer that gives the dense gradient of every weight.

Sparse training from scratch (RigL) grows weights by the gradient of weights
that are zero, which scikit-learn does not expose; this trainer does.  It is
the same network and the same arithmetic as scikit-learn's
``MLPClassifier(activation="relu", solver="adam")`` trained by minibatch
``partial_fit``: Glorot-uniform initialisation drawn from
``RandomState(seed)`` in scikit-learn's order, ReLU hidden layers, softmax
and log-loss, L2 penalty ``alpha`` added to the weight gradients and divided
by the batch size, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), all in the
data's float dtype.  Run dense, it follows scikit-learn's weights to
rounding (tests/test_numpy_mlp.py).

With a :class:`wavesparse.DynamicSparsePruner` :func:`train` trains sparse:
masks from ``init_masks`` at step 0 (the kept weights scaled up to the
dense initialisation's variance), gradients of inactive weights withheld
from Adam, masks applied after every step, ``update`` on its steps (with
this step's dense gradient), and the Adam moments of grown weights reset.
It counts training multiply-adds the way the RigL paper does: one per active
weight per sample per pass, three passes per step, and the dense weight
gradient at update steps.

Names: ``fc1.weight`` (inputs x units, as scikit-learn's ``coefs_``),
``fc1.bias``, ``fc2.weight``, ...

Examples
--------
>>> import numpy as np
>>> from wavesparse.quality import numpy_mlp
>>> net = numpy_mlp.init_params([4, 3, 2], seed=0, dtype=np.float32)
>>> sorted(net), net["fc1.weight"].shape
(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight'], (4, 3))
"""

import numpy as np

__all__ = ["init_params", "forward", "gradients", "Adam", "train", "accuracy",
           "TrainResult", "BATCH"]

#: Minibatch size (scikit-learn's ``batch_size="auto"``: min(200, n)).
BATCH = 200


def _weights(n):
    return ["fc%d.weight" % i for i in range(1, n + 1)]


def init_params(sizes, seed, dtype=np.float32):
    """Glorot-uniform weights and biases, drawn as scikit-learn draws them.

    Parameters
    ----------
    sizes : list of int
        Units per layer, inputs first, classes last.
    seed : int
        ``RandomState(seed)`` (scikit-learn's ``random_state``).
    dtype : numpy dtype

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.quality import numpy_mlp
    >>> p = numpy_mlp.init_params([6, 4], seed=1)
    >>> bool(np.abs(p["fc1.weight"]).max() <= np.sqrt(6 / 10))
    True
    """
    rng = np.random.RandomState(seed)
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), 1):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        params["fc%d.weight" % i] = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)
        params["fc%d.bias" % i] = rng.uniform(-bound, bound, fan_out).astype(dtype)
    return params


def forward(params, x):
    """Activations of every layer, the input first, class probabilities last.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.quality import numpy_mlp
    >>> p = numpy_mlp.init_params([3, 5, 2], seed=0)
    >>> out = numpy_mlp.forward(p, np.ones((4, 3), np.float32))[-1]
    >>> out.shape, bool(np.allclose(out.sum(axis=1), 1))
    ((4, 2), True)
    """
    names = _weights(len(params) // 2)
    acts = [x]
    for i, name in enumerate(names):
        z = acts[-1] @ params[name] + params[name.replace("weight", "bias")]
        if i < len(names) - 1:
            np.maximum(z, 0, out=z)
        else:
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
        acts.append(z)
    return acts


def gradients(params, x, onehot, alpha=1e-4):
    """``(loss, grads)``: mean log-loss plus the L2 term, and the gradient of
    every parameter (dense, for weights that are zero too).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.quality import numpy_mlp
    >>> p = numpy_mlp.init_params([3, 2], seed=0, dtype=np.float64)
    >>> x, y = np.ones((2, 3)), np.eye(2)
    >>> loss, g = numpy_mlp.gradients(p, x, y, alpha=0.0)
    >>> e = 1e-6; q = dict(p, **{"fc1.weight": p["fc1.weight"] + e * np.eye(3, 2)})
    >>> diff = (numpy_mlp.gradients(q, x, y, alpha=0.0)[0] - loss) / e
    >>> bool(abs(diff - (g["fc1.weight"][0, 0] + g["fc1.weight"][1, 1])) < 1e-5)
    True
    """
    n = x.shape[0]
    names = _weights(len(params) // 2)
    acts = forward(params, x)
    prob = np.clip(acts[-1], np.finfo(acts[-1].dtype).eps, 1 - np.finfo(acts[-1].dtype).eps)
    loss = -float(np.sum(onehot * np.log(prob))) / n
    loss += 0.5 * alpha * sum(float(np.dot(params[w].ravel(), params[w].ravel()))
                              for w in names) / n
    delta = acts[-1] - onehot
    grads = {}
    for i in range(len(names) - 1, -1, -1):
        w = names[i]
        grads[w] = (acts[i].T @ delta + alpha * params[w]) / n
        grads[w.replace("weight", "bias")] = delta.sum(axis=0) / n
        if i:
            delta = delta @ params[w].T
            delta[acts[i] == 0] = 0
    return loss, grads


class Adam:
    """Adam as scikit-learn's MLP runs it, with a per-weight reset.

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.quality.numpy_mlp import Adam
    >>> p = {"w": np.ones(2)}
    >>> opt = Adam(p)
    >>> opt.step(p, {"w": np.array([1.0, -1.0])})
    >>> np.round(p["w"], 6).tolist()
    [0.999, 1.001]
    """

    def __init__(self, params, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.lr, self.beta_1, self.beta_2, self.epsilon = lr, beta_1, beta_2, epsilon
        self.t = 0
        self.m = {n: np.zeros_like(p) for n, p in params.items()}
        self.v = {n: np.zeros_like(p) for n, p in params.items()}

    def step(self, params, grads):
        """Update ``params`` in place from ``grads``."""
        self.t += 1
        lr = self.lr * np.sqrt(1 - self.beta_2 ** self.t) / (1 - self.beta_1 ** self.t)
        for n, g in grads.items():
            self.m[n] = self.beta_1 * self.m[n] + (1 - self.beta_1) * g
            self.v[n] = self.beta_2 * self.v[n] + (1 - self.beta_2) * g ** 2
            params[n] += -lr * self.m[n] / (np.sqrt(self.v[n]) + self.epsilon)

    def reset(self, name, where):
        """Zero the moments of ``params[name]`` where ``where`` is True."""
        self.m[name][where] = 0
        self.v[name][where] = 0


def accuracy(params, x, y):
    """Fraction of ``x`` classified as ``y`` (labels 0..k-1).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse.quality import numpy_mlp
    >>> p = {"fc1.weight": np.eye(2), "fc1.bias": np.zeros(2)}
    >>> numpy_mlp.accuracy(p, np.eye(2), np.array([0, 0]))
    0.5
    """
    return float(np.mean(forward(params, x)[-1].argmax(axis=1) == y))


class TrainResult:
    """What :func:`train` returns: the parameters, the masks (None when
    dense), and training multiply-adds, the sparse run's and a dense run's."""

    def __init__(self, params, masks, macs, dense_macs, steps):
        self.params, self.masks = params, masks
        self.macs, self.dense_macs, self.steps = macs, dense_macs, steps

    @property
    def flops_fraction(self):
        """Training multiply-adds as a fraction of dense training's."""
        return self.macs / self.dense_macs


def train(data, hidden, epochs, seed, dsp=None, batch=BATCH, alpha=1e-4, lr=1e-3,
          order_seed=None, on_update=None, on_step=None, rescale_init=True):
    """Train on ``data`` (a :class:`wavesparse.quality.mlp.Dataset`), dense or
    with a :class:`wavesparse.DynamicSparsePruner`.

    Parameters
    ----------
    hidden : tuple of int
        Hidden layer sizes.
    epochs : int
    seed : int
        Initialisation seed (scikit-learn's ``random_state``).
    dsp : DynamicSparsePruner, optional
        Sparse training; its ``init_masks`` is called here.  A pruner with
        ``update_every`` past the last step is static sparse training.
    rescale_init : bool
        With ``dsp``, scale each masked layer's initial weights by
        ``1 / sqrt(density)``, so that a unit's input has the variance the
        dense initialisation gives it (Evci et al. 2019; Liu et al. 2019).
    order_seed : int, optional
        Seeds the epoch shuffles (``numpy.random.default_rng``); ``seed`` by
        default.
    on_update : callable, optional
        ``on_update(step, params, masks)`` after each mask update.
    on_step : callable, optional
        ``on_step(step, params, masks)`` after each optimizer step; it may
        return new masks ({name: bool array}, True = kept), which then apply
        from this step on (gradual or one-shot pruning during training).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from wavesparse import DynamicSparsePruner
    >>> from wavesparse.quality import mlp, numpy_mlp
    >>> data = mlp.load("digits")
    >>> dsp = DynamicSparsePruner(0.9, update_every=5, end_step=10)
    >>> r = numpy_mlp.train(data, (32,), 1, seed=0, dsp=dsp)
    >>> r.steps, round(r.flops_fraction, 3) < 0.2
    (8, True)
    """
    x, y = data.x_train, data.y_train
    onehot = (y[:, None] == data.classes[None, :]).astype(x.dtype)
    params = init_params([x.shape[1], *hidden, len(data.classes)], seed, x.dtype)
    names = _weights(len(hidden) + 1)
    n_dense = sum(params[w].size for w in names)
    masks = None
    if dsp is not None:
        masks = dsp.init_masks(params)
        params = dsp.apply(params)
        if rescale_init:
            for n, d in dsp.densities.items():
                if d > 0:
                    params[n] *= params[n].dtype.type(1.0 / np.sqrt(d))
    opt = Adam(params, lr=lr)
    rng = np.random.default_rng(seed if order_seed is None else order_seed)
    macs = dense_macs = 0
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            _, grads = gradients(params, x[idx], onehot[idx], alpha)
            active = n_dense if masks is None else sum(int(m.sum()) for m in masks.values())
            macs += 3 * active * len(idx)
            dense_macs += 3 * n_dense * len(idx)
            if dsp is not None and dsp.should_update(step):
                if dsp.method == "rigl":
                    macs += (n_dense - active) * len(idx)
                masks, changed = dsp.update(step, params, grads)
                params = dsp.apply(params)
                for n, c in changed.items():
                    opt.reset(n, c)
                if on_update is not None:
                    on_update(step, params, masks)
            if masks is not None:
                grads = {n: g * masks[n] if n in masks else g for n, g in grads.items()}
            opt.step(params, grads)
            if on_step is not None:
                masks = on_step(step, params, masks) or masks
            if masks is not None:
                params = {n: np.where(masks[n], p, p.dtype.type(0)) if n in masks else p
                          for n, p in params.items()}
            step += 1
    return TrainResult(params, masks, macs, dense_macs, step)
