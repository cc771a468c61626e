"""wavesparse.torch.SparseTraining: the torch adapter of DynamicSparsePruner
(issue 16).  Oracles: the masks' counts from the ERK formula, numpy's sorts
for RigL's drop and grow sets, and the optimizer's own state captured right
after its step."""

import numpy as np
import pytest

from wavesparse import DynamicSparsePruner
from wavesparse.pruning import erk
from _helpers import require_torch

torch = require_torch()
from wavesparse.torch import SparseTraining  # noqa: E402


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, 16), torch.nn.ReLU(),
                               torch.nn.Linear(16, 3))


def data(seed=0, n=128):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 20, generator=g), torch.randint(0, 3, (n,), generator=g)


class CapturingAdam(torch.optim.Adam):
    """Adam that keeps a copy of its state and weights right after each step."""

    def step(self, closure=None):
        loss = super().step(closure)
        self.after = {id(p): ({k: v.clone() for k, v in self.state[p].items()
                               if torch.is_tensor(v) and v.shape == p.shape},
                              p.detach().clone())
                      for g in self.param_groups for p in g["params"]}
        return loss


def train(net, sparse, opt, steps, x, y, each=None):
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        grads = {n: p.grad.detach().clone() for n, p in sparse.params.items()}
        sparse.step()
        if each is not None:
            each(grads)


def test_masked_weights_stay_exactly_zero_and_counts_exact_through_50_steps():
    net = mlp()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.1)
    dsp = DynamicSparsePruner(0.9, method="rigl", update_every=10, end_step=40, seed=0)
    sparse = SparseTraining(net, dsp, opt)
    shapes = {n: tuple(p.shape) for n, p in sparse.params.items()}
    want = erk.kept_counts(shapes, 0.9, "erk")
    assert sum(want.values()) == round(0.1 * sum(np.prod(s) for s in shapes.values()))
    x, y = data()
    biases = [net[0].bias.detach().clone()]

    def check(_):
        for n, p in sparse.params.items():
            mask = sparse.masks[n]
            assert int(mask.sum()) == want[n]
            assert bool((p.detach()[~mask] == 0).all()), n

    train(net, sparse, opt, 50, x, y, check)
    assert [h["step"] for h in sparse.history] == [10, 20, 30, 40]
    assert sum(sum(h["grown"].values()) for h in sparse.history) > 0
    assert not torch.equal(net[0].bias, biases[0])          # biases train dense


def test_grown_weights_start_at_zero_with_their_adam_state_reset():
    net = mlp(1)
    opt = CapturingAdam(net.parameters(), lr=1e-2)
    dsp = DynamicSparsePruner(0.8, method="rigl", update_every=5, end_step=100,
                              decay="constant", drop_fraction=0.3)
    sparse = SparseTraining(net, dsp, opt)
    x, y = data(1)
    train(net, sparse, opt, 4, x, y)
    before = {n: m.clone() for n, m in sparse.masks.items()}
    train(net, sparse, opt, 1, x, y)                         # step 5: an update
    checked = 0
    for n, p in sparse.params.items():
        grown = sparse.masks[n] & ~before[n]
        kept = sparse.masks[n] & before[n]
        dropped = before[n] & ~sparse.masks[n]
        assert int(dropped.sum()) == int(grown.sum())
        assert 0 < int(grown.sum()) <= int(np.floor(0.3 * int(before[n].sum())))
        state, weight_after_step = opt.after[id(p)]
        assert set(state) == {"exp_avg", "exp_avg_sq"}
        for key, value in opt.state[p].items():
            if key in state:
                assert bool((value[grown] == 0).all()), (n, key)
                assert bool((value[dropped] == 0).all()), (n, key)
                assert torch.equal(value[kept], state[key][kept]), (n, key)
                checked += int(grown.sum())
        assert bool((p.detach()[grown] == 0).all())
        assert torch.equal(p.detach()[kept], weight_after_step[kept])
    assert checked > 0


def test_rigl_drops_smallest_weights_and_grows_largest_gradients():
    """The update at step 3 against numpy sorts of the weights right after the
    optimizer step and of the dense gradients of that step."""
    net = mlp(2)
    opt = CapturingAdam(net.parameters(), lr=1e-2)
    dsp = DynamicSparsePruner(0.7, method="rigl", update_every=3, end_step=10,
                              decay="constant", drop_fraction=0.25)
    sparse = SparseTraining(net, dsp, opt)
    x, y = data(2)
    train(net, sparse, opt, 2, x, y)
    before = {n: m.clone().numpy() for n, m in sparse.masks.items()}
    seen = {}
    train(net, sparse, opt, 1, x, y, each=seen.update)
    for n, p in sparse.params.items():
        old = before[n].ravel()
        w = np.abs(opt.after[id(p)][1].numpy().ravel())
        g = np.abs(seen[n].numpy().ravel())
        k = int(np.floor(0.25 * old.sum()))
        active = np.flatnonzero(old)
        dropped = active[np.argsort(w[active], kind="stable")[:k]]
        after_drop = old.copy()
        after_drop[dropped] = False
        candidates = np.flatnonzero(~after_drop)
        grown = candidates[np.argsort(-g[candidates], kind="stable")[:k]]
        want = after_drop.copy()
        want[grown] = True
        assert np.array_equal(sparse.masks[n].numpy().ravel(), want), n


def test_set_with_a_seed_is_reproducible_and_resumes_from_its_state():
    def run(steps, state=None):
        net = mlp(3)
        opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        dsp = DynamicSparsePruner(0.9, method="set", update_every=4, end_step=40, seed=7)
        sparse = SparseTraining(net, dsp, opt)
        if state is not None:
            net.load_state_dict(state[0])
            opt.load_state_dict(state[1])
            sparse.load_state_dict(state[2])
        x, y = data(3)
        train(net, sparse, opt, steps, x, y)
        return net, opt, sparse

    a = run(20)[2].masks
    b = run(20)[2].masks
    assert all(torch.equal(a[n], b[n]) for n in a)
    net, opt, sparse = run(10)
    resumed = run(10, (net.state_dict(), opt.state_dict(), sparse.state_dict()))[2]
    assert resumed.step_count == 20
    assert all(torch.equal(a[n], resumed.masks[n]) for n in a)


def test_convolutions_and_excluded_layers():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(8 * 6 * 6, 10), torch.nn.Linear(10, 4))
    opt = torch.optim.Adam(net.parameters())
    dsp = DynamicSparsePruner(0.8, exclude=["4.*"], update_every=2, end_step=6)
    sparse = SparseTraining(net, dsp, opt)
    assert list(sparse.masks) == ["0.weight", "3.weight"]
    want = erk.kept_counts({"0.weight": (8, 1, 3, 3), "3.weight": (10, 288)}, 0.8, "erk")
    assert {n: int(m.sum()) for n, m in sparse.masks.items()} == want
    x = torch.randn(16, 1, 8, 8)
    y = torch.randint(0, 4, (16,))
    for _ in range(6):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        sparse.step()
    assert int((net[4].weight == 0).sum()) == 0                 # excluded: dense
    assert int((net[0].weight != 0).sum()) <= want["0.weight"]


def test_bad_arguments_name_what_is_wrong():
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="pruner must be a wavesparse.DynamicSparsePruner"):
        SparseTraining(net, object(), opt)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        SparseTraining(net, DynamicSparsePruner(0.5), None)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        SparseTraining("net", DynamicSparsePruner(0.5), opt)
    partial = torch.optim.SGD(net[0].parameters(), lr=0.1)
    with pytest.raises(ValueError, match="optimizer does not hold the masked weights 2.weight"):
        SparseTraining(net, DynamicSparsePruner(0.5), partial)
    with pytest.raises(ValueError, match="matches no tensor name"):
        SparseTraining(net, DynamicSparsePruner(0.5, include=["decoder.*"]), opt)
    sparse = SparseTraining(net, DynamicSparsePruner(0.5, update_every=1, end_step=5), opt)
    with pytest.raises(ValueError, match="0.weight has no gradient at a RigL update step"):
        sparse.step()
    with pytest.raises(ValueError, match="state's mask '0.weight' has shape"):
        state = sparse.state_dict()
        state["masks"]["0.weight"] = state["masks"]["0.weight"][:2]
        sparse.load_state_dict(state)


def test_load_state_dict_refuses_a_wrong_state_and_changes_nothing():
    """A state missing a key was a KeyError, numpy masks an AttributeError,
    a negative step count was taken as it was, and 2.7 became step 2."""
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sparse = SparseTraining(net, DynamicSparsePruner(0.5, seed=3), opt)
    other = mlp()
    good = SparseTraining(other, DynamicSparsePruner(0.5, seed=4),
                          torch.optim.SGD(other.parameters(), lr=0.1)).state_dict()
    before = {n: m.clone() for n, m in sparse.masks.items()}
    cases = [(ValueError, "lacks rng", {k: v for k, v in good.items() if k != "rng"}),
             (ValueError, r"step_count.*>= 0", dict(good, step_count=-3)),
             (TypeError, "step_count.*integer", dict(good, step_count=2.7)),
             (TypeError, r"masks.*ndarray",
              dict(good, masks={n: m.numpy() for n, m in good["masks"].items()})),
             (TypeError, "state must be the dict", [good])]
    for error, message, state in cases:
        with pytest.raises(error, match=message):
            sparse.load_state_dict(state)
        assert sparse.step_count == 0
        assert all(torch.equal(before[n], sparse.masks[n]) for n in before)
    sparse.load_state_dict(good)
    assert all(torch.equal(good["masks"][n], sparse.masks[n]) for n in before)


def test_a_closure_s_gradients_are_masked_and_feed_rigl():
    """With step(closure), the optimizer made the gradients inside its step,
    after the masking: the momentum of inactive weights grew, and a RigL
    update step without an earlier backward() failed (no gradient).
    Oracle: momentum zero off the mask; RigL's grown weights are the largest
    |dense gradient| among the inactive ones, computed here by hand."""
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    dsp = DynamicSparsePruner(0.8, method="rigl", update_every=3, end_step=100,
                              drop_fraction=0.2, decay="constant")
    sparse = SparseTraining(net, dsp, opt)
    x, y = data()

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        return loss

    for _ in range(2):
        sparse.step(closure)
        for n, p in sparse.params.items():
            assert not opt.state[p]["momentum_buffer"][~sparse.masks[n]].any()
    before = {n: m.clone() for n, m in sparse.masks.items()}
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    dense = {n: p.grad.clone() for n, p in sparse.params.items()}
    sparse.step(closure)
    for n, old in before.items():
        new = sparse.masks[n]
        grown, idle = new & ~old, ~new & ~old
        assert 0 < int(grown.sum()) <= int(np.floor(0.2 * int(old.sum())))
        # RigL grows the largest |dense gradient|: no weight left inactive
        # has a larger one than a weight grown.
        assert float(dense[n].abs()[grown].min()) >= float(dense[n].abs()[idle].max())
