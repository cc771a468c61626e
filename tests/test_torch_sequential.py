"""wavesparse.torch.prune_sequential: block by block, each block's statistics
from the model with the earlier blocks pruned (issue 15).  Oracle: the same
procedure written out with record() and the pruner, step by step."""

import copy
import glob

import numpy as np
import pytest

from wavesparse import SparseGPTPruner, WandaPruner
from _helpers import require_torch

torch = require_torch()
from wavesparse.torch import numbered_block, prune_sequential, record  # noqa: E402


class Block(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.up, self.down = torch.nn.Linear(width, 2 * width), torch.nn.Linear(2 * width, width)

    def forward(self, x):
        return x + self.down(torch.relu(self.up(x)))


class Stack(torch.nn.Module):
    """Numbered blocks, then a head: the shape of a transformer's names."""

    def __init__(self, width=12, depth=3):
        super().__init__()
        self.layers = torch.nn.ModuleList(Block(width) for _ in range(depth))
        self.head = torch.nn.Linear(width, 5)
        self.head_calls = 0

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        self.head_calls += 1
        return self.head(x)


def batches(seed=0, n=4):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(16, 12, generator=g) for _ in range(n)]


def by_hand(model, data, make, blocks):
    for members in blocks:
        stats = record(model, data, include=[glob.escape(n) for n in members])
        pruned, _ = make(stats).prune_model({n: model.get_parameter(n).detach()
                                             for n in members})
        with torch.no_grad():
            for n in members:
                model.get_parameter(n).copy_(pruned[n])


MAKERS = {"wanda": lambda s: WandaPruner(0.6, s), "sparsegpt": lambda s: SparseGPTPruner(0.5, s)}


@pytest.mark.parametrize("method", list(MAKERS))
def test_sequential_equals_the_procedure_written_out(method):
    make = MAKERS[method]
    torch.manual_seed(0)
    model = Stack()
    oracle = copy.deepcopy(model)
    data = batches()
    masks, blocks = prune_sequential(model, data, make)
    assert blocks == [("layers.%d" % i, ["layers.%d.up.weight" % i, "layers.%d.down.weight" % i])
                      for i in range(3)] + [("head.weight", ["head.weight"])]
    by_hand(oracle, data, make, [members for _, members in blocks])
    for name, p in oracle.named_parameters():
        assert torch.equal(model.get_parameter(name), p), name
    assert list(masks) == [n for _, members in blocks for n in members]
    for name, kept in masks.items():
        assert bool((model.get_parameter(name)[~kept] == 0).all())
        width = kept.shape[1]
        if method == "wanda":                              # per row: round(0.6 * width)
            assert kept.sum(1).tolist() == [width - round(0.6 * width)] * kept.shape[0]
        else:                                               # the layer: round(0.5 * size)
            assert int(kept.sum()) == kept.numel() - round(0.5 * kept.numel())


def test_sequential_differs_from_one_pass_after_the_first_block():
    """The second block's statistics come from the pruned first block."""
    torch.manual_seed(1)
    model = Stack()
    one_pass = copy.deepcopy(model)
    data = batches(1)
    make = lambda s: WandaPruner(0.7, s)  # noqa: E731
    prune_sequential(model, data, make)
    stats = record(one_pass, data)
    pruned, _ = make(stats).prune_model(dict(one_pass.named_parameters()))
    same = torch.equal(model.layers[0].up.weight, pruned["layers.0.up.weight"])
    later = torch.equal(model.layers[2].down.weight, pruned["layers.2.down.weight"])
    assert same and not later


def test_early_stop_runs_no_more_of_the_model_than_needed():
    torch.manual_seed(2)
    model = Stack()
    data = batches(2, n=3)
    record(model, data, include=["layers.0.*"], stop_early=True)
    assert model.head_calls == 1            # the first batch's full forward only
    model.head_calls = 0
    full = record(model, data, include=["layers.0.*"])
    assert model.head_calls == 4
    stopped = record(model, data, include=["layers.0.*"], stop_early=True)
    for name in full:
        np.testing.assert_array_equal(full[name].gram, stopped[name].gram)


def test_blocks_by_layer_and_errors():
    torch.manual_seed(3)
    model = Stack(depth=2)
    _, blocks = prune_sequential(model, iter(batches(3)), lambda s: WandaPruner(0.5, s),
                                 block_of=lambda n: n, exclude=["head.*"])
    assert [key for key, _ in blocks] == ["layers.0.up.weight", "layers.0.down.weight",
                                          "layers.1.up.weight", "layers.1.down.weight"]
    assert numbered_block("encoder.layer.10.attention.self.query.weight") == "encoder.layer.10"
    with pytest.raises(TypeError, match="make_pruner must be a callable"):
        prune_sequential(model, batches(), WandaPruner)
    with pytest.raises(TypeError, match="make_pruner must be a callable"):
        prune_sequential(model, batches(), "wanda")
    with pytest.raises(ValueError, match="batches is empty"):
        prune_sequential(model, [], lambda s: WandaPruner(0.5, s))


def test_a_bfloat16_model_is_pruned_in_its_dtype():
    """prune_sequential gave the pruners bfloat16 tensors, which numpy cannot
    read (TypeError: unsupported ScalarType BFloat16).  Oracle: the procedure
    written out on a copy, each block's weights widened to float32 numpy,
    pruned, and rounded back to bfloat16."""
    torch.manual_seed(2)
    net = Stack(depth=2).to(torch.bfloat16)
    data = [b.to(torch.bfloat16) for b in batches()]
    twin = copy.deepcopy(net)
    masks, blocks = prune_sequential(net, data, MAKERS["wanda"])
    for _, members in blocks:
        stats = record(twin, data, include=[glob.escape(n) for n in members])
        pruned, _ = MAKERS["wanda"](stats).prune_model(
            {n: twin.get_parameter(n).detach().float().numpy() for n in members})
        with torch.no_grad():
            for n in members:
                twin.get_parameter(n).copy_(torch.from_numpy(pruned[n]).to(torch.bfloat16))
    for name, kept in masks.items():
        got = net.get_parameter(name)
        assert got.dtype == torch.bfloat16
        assert torch.equal(got, twin.get_parameter(name))
        assert torch.equal(kept, got != 0)
        assert abs(float(kept.float().mean()) - 0.4) < 0.02


def test_make_pruner_must_give_a_pruner():
    with pytest.raises(TypeError, match=r"make_pruner\(stats\) must give .*got int"):
        prune_sequential(Stack(depth=1), batches(n=1), lambda stats: 3)


def test_block_of_and_progress_must_be_callable():
    for name in ("block_of", "progress"):
        with pytest.raises(TypeError, match="%s must be callable, got int" % name):
            prune_sequential(Stack(depth=1), batches(n=1), MAKERS["wanda"], **{name: 3})


def test_a_pruner_whose_globs_leave_out_part_of_a_block():
    """make_pruner giving a pruner that excludes one weight of a block was a
    KeyError on that weight; it is left as it was, without a mask.  Oracle:
    Wanda's count per output row in the up weights, down untouched."""
    torch.manual_seed(3)
    net = Stack(depth=2)
    down = {i: net.layers[i].down.weight.detach().clone() for i in range(2)}
    def make(stats):   # a block without a down weight gets no exclude (it would match nothing)
        return WandaPruner(0.6, stats, exclude=[n for n in stats if "down" in n] or None)

    masks, _ = prune_sequential(net, batches(), make)
    assert sorted(masks) == ["head.weight", "layers.0.up.weight", "layers.1.up.weight"]
    for i in range(2):
        assert torch.equal(net.layers[i].down.weight, down[i])
        # Wanda compares weights within each output row: 24 rows of 12.
        assert int((net.layers[i].up.weight == 0).sum()) == 24 * round(0.6 * 12)
