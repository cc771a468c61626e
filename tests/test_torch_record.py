"""wavesparse.torch.record: forward hooks that write the calibration
statistics file (issue 15).  Oracle: the numpy Recorder (itself checked
against numpy sums in test_calibration) fed the inputs computed by hand."""

import numpy as np
import pytest

from wavesparse import MagnitudePruner, SparseGPTPruner
from wavesparse.calibration import Recorder, load_stats
from wavesparse.report import output_error
from _helpers import require_torch

torch = require_torch()
from wavesparse.torch import record  # noqa: E402


class Attention(torch.nn.Module):
    """q, k and v read one input; out reads another."""

    def __init__(self, width=12):
        super().__init__()
        self.q, self.k, self.v = (torch.nn.Linear(width, width) for _ in range(3))
        self.out = torch.nn.Linear(width, width)

    def forward(self, x, attention_mask=None):
        scores = self.q(x) @ self.k(x).transpose(-1, -2) / x.shape[-1] ** 0.5
        if attention_mask is not None:
            scores = scores.masked_fill(~attention_mask[:, None, :].bool(), -1e9)
        return self.out(torch.softmax(scores, -1) @ self.v(x))


def hand_inputs(net, x):
    h = torch.relu(net[0](x))
    return x, h, torch.relu(net[2](h))


def test_the_file_equals_the_recorder_fed_the_same_inputs(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.ReLU(), torch.nn.Linear(10, 8),
                              torch.nn.ReLU(), torch.nn.Linear(8, 3))
    batches = [torch.randn(5, 7, 6) for _ in range(4)]
    path = tmp_path / "stats.safetensors"
    stats = record(net, batches, path=path, metadata={"data": "randn"})
    oracle = Recorder()
    with torch.no_grad():
        for b in batches:
            for name, x in zip(("0.weight", "2.weight", "4.weight"), hand_inputs(net, b)):
                oracle.add(name, x.numpy())
    loaded = load_stats(path)
    assert list(loaded) == ["0.weight", "2.weight", "4.weight"]
    assert loaded.metadata["data"] == "randn" and loaded.metadata["batches"] == "4"
    for name, want in oracle.stats().items():
        for got in (loaded[name], stats[name]):
            assert got.rows == want.rows == 140
            np.testing.assert_allclose(got.sum_squares, want.sum_squares, rtol=1e-12)
            np.testing.assert_allclose(got.gram, want.gram, rtol=1e-12, atol=1e-12)


def test_layers_reading_one_input_share_it_and_padding_is_left_out():
    torch.manual_seed(1)
    net = Attention()
    x = torch.randn(3, 5, 12)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    stats = record(net, [{"x": x, "attention_mask": mask}], gram=False)
    keep = mask.bool()
    assert {stats[n].input for n in ("q.weight", "k.weight", "v.weight")} == \
        {"inputs of q.weight, k.weight, v.weight"}
    assert stats["out.weight"].input == "inputs of out.weight"
    assert all(stats[n].rows == int(keep.sum()) == 9 for n in stats)
    np.testing.assert_allclose(stats["k.weight"].sum_squares,
                               (x[keep].double() ** 2).sum(0).numpy(), rtol=1e-12)
    with torch.no_grad():
        attn = torch.softmax((net.q(x) @ net.k(x).transpose(-1, -2) / 12 ** 0.5)
                             .masked_fill(~keep[:, None, :], -1e9), -1) @ net.v(x)
    np.testing.assert_allclose(stats["out.weight"].sum_squares,
                               (attn[keep].double() ** 2).sum(0).numpy(), rtol=1e-6)


def test_include_exclude_and_errors():
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    assert list(record(net, [torch.randn(2, 4)], include=["1.*"])) == ["1.weight"]
    assert list(record(net, [torch.randn(2, 4)], exclude=["1.*"])) == ["0.weight"]
    with pytest.raises(ValueError, match="batches is empty"):
        record(net, [])
    with pytest.raises(ValueError, match="matches no tensor name"):
        record(net, [torch.randn(2, 4)], include=["decoder.*"])
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        record(lambda x: x, [torch.randn(2, 4)])

    class Skips(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ValueError, match="never reached unused.weight"):
        record(Skips(), [torch.randn(2, 4)])
    hooks = Skips().unused._forward_pre_hooks
    assert len(hooks) == 0


def test_hooks_are_removed_even_when_the_forward_fails():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4))
    with pytest.raises(RuntimeError):
        record(net, [torch.randn(2, 5)])
    assert len(net[0]._forward_pre_hooks) == 0


def test_sparsegpt_from_recorded_stats_beats_magnitude_on_the_recorded_inputs():
    """The whole path: torch model -> statistics -> SparseGPT on its state dict;
    the output error over the inputs that were recorded is lower than
    magnitude pruning's at the same sparsity."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.Linear(64, 16))
    basis = torch.randn(8, 32)
    batches = [torch.randn(64, 8) @ basis for _ in range(4)]    # inputs span 8 of 32 dims
    stats = record(net, batches)
    weights = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    ours, _ = SparseGPTPruner(0.6, stats).prune_model(weights)
    magnitude, _ = MagnitudePruner(0.6).prune_model(weights)
    errors = {name: [output_error(weights[name], pruned[name], calibration=stats[name])
                     for pruned in (ours, magnitude)] for name in ("0.weight", "2.weight")}
    assert all(ours < 0.7 * magnitude for ours, magnitude in errors.values()), errors


def test_sums_on_a_chosen_device_from_a_bfloat16_model():
    """A bf16 model's inputs summed in float64 (on the CPU, named explicitly)
    equal the numpy Recorder fed the same inputs widened to float32; a group
    whose inputs are all padding gets zero sums."""
    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.ReLU(),
                              torch.nn.Linear(10, 3)).to(torch.bfloat16)
    batches = [torch.randn(8, 6).to(torch.bfloat16) for _ in range(3)]
    stats = record(net, batches, device="cpu")
    oracle = Recorder()
    with torch.no_grad():
        for b in batches:
            oracle.add("0.weight", b.float().numpy())
            oracle.add("2.weight", torch.relu(net[0](b)).float().numpy())
    for name, want in oracle.stats().items():
        np.testing.assert_allclose(stats[name].gram, want.gram, rtol=1e-12, atol=1e-12)
    padded = {"x": torch.randn(2, 5, 12), "attention_mask": torch.zeros(2, 5, dtype=torch.long)}
    empty = record(Attention(), [padded])
    assert empty["q.weight"].rows == 0 and not empty["q.weight"].gram.any()


def test_chunk_rows_and_device_are_checked_before_anything_runs():
    """A negative chunk_rows used to record zero sums over the batch's rows
    (range() with a negative step is empty); a device this machine lacks
    failed inside a hook with torch's own error."""
    net = torch.nn.Sequential(torch.nn.Linear(4, 3))
    data = [torch.randn(5, 4)]
    for bad in (-1, 0):
        with pytest.raises(ValueError, match="chunk_rows"):
            record(net, data, chunk_rows=bad)
    with pytest.raises(TypeError, match="chunk_rows"):
        record(net, data, chunk_rows=2.5)
    for bad in ("meta", "no-such-device", "cuda:99"):
        with pytest.raises(ValueError, match="device"):
            record(net, data, device=bad)
    with pytest.raises(TypeError, match="device"):
        record(net, data, device=["cpu"])
    stats = record(net, data, chunk_rows=2, device=torch.device("cpu"))
    x = data[0].double().numpy()
    np.testing.assert_allclose(stats["0.weight"].gram, x.T @ x, rtol=1e-12)


class ByKeyword(torch.nn.Module):
    """Calls its Linear as ``layer(input=x)``."""

    def __init__(self):
        super().__init__()
        self.first, self.second = torch.nn.Linear(4, 6), torch.nn.Linear(6, 2)

    def forward(self, x):
        return self.second(input=torch.relu(self.first(input=x)))


def test_a_linear_called_with_its_input_as_a_keyword():
    """``layer(input=x)`` gave the pre-hook no positional argument: an
    IndexError from inside the forward pass."""
    torch.manual_seed(5)
    net = ByKeyword()
    data = [torch.randn(7, 4) for _ in range(2)]
    stats = record(net, data)
    with torch.no_grad():
        inputs = {"first.weight": torch.cat(data),
                  "second.weight": torch.relu(net.first(torch.cat(data)))}
    for name, x in inputs.items():
        x = x.double().numpy()
        assert stats[name].rows == 14
        np.testing.assert_allclose(stats[name].gram, x.T @ x, rtol=1e-10)


class CountingNet(torch.nn.Module):
    """One Linear; counts its forward passes."""

    def __init__(self):
        super().__init__()
        self.l, self.calls = torch.nn.Linear(4, 2), 0

    def forward(self, x):
        self.calls += 1
        return self.l(x)


def test_what_saving_would_refuse_is_refused_before_the_model_runs(tmp_path):
    """A wrong path, metadata or gram was found by Recorder.save after every
    batch had run (hours of a large model's calibration lost); metadata of
    non-str values was kept in memory as it was."""
    net = CountingNet()
    data = [torch.randn(3, 4)]
    cases = [(ValueError, "path must name a .safetensors", {"path": tmp_path / "s.npz"}),
             (ValueError, "does not exist", {"path": tmp_path / "no" / "s.safetensors"}),
             (TypeError, "path must be", {"path": 3}),
             (TypeError, "metadata must be a dict of str to str", {"metadata": {"a": 1}}),
             (TypeError, "metadata must be a dict of str to str", {"metadata": {"a": None}}),
             (TypeError, "gram must be", {"gram": "no"})]
    for error, message, kwargs in cases:
        with pytest.raises(error, match=message):
            record(net, data, **kwargs)
    assert net.calls == 0
    stats = record(net, data, path=tmp_path / "s.safetensors", metadata={"a": "b"})
    assert net.calls == 2 and load_stats(tmp_path / "s.safetensors").metadata["a"] == "b"
    x = data[0].double().numpy()
    np.testing.assert_allclose(stats["l.weight"].gram, x.T @ x, rtol=1e-12)


def test_an_attention_mask_given_as_numpy_or_a_list():
    """A dict batch's attention_mask that is not a tensor was an
    AttributeError (.detach); padding rows are left out as for a tensor."""
    class Masked(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l = torch.nn.Linear(4, 4)

        def forward(self, x, attention_mask=None):
            return self.l(x)

    torch.manual_seed(6)
    x = torch.randn(2, 3, 4)
    mask = [[1, 1, 0], [1, 0, 0]]
    real = x.double().numpy()[np.array(mask, bool)]
    for given in (mask, np.array(mask)):
        stats = record(Masked(), [{"x": x, "attention_mask": given}])
        assert stats["l.weight"].rows == 3
        np.testing.assert_allclose(stats["l.weight"].gram, real.T @ real, rtol=1e-12)


class Siamese(torch.nn.Module):
    """``proj`` runs twice; ``gate`` reads the input of one of its calls."""

    def __init__(self, gate_first):
        super().__init__()
        self.gate, self.proj = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)
        self.gate_first = gate_first

    def forward(self, x):
        h = torch.tanh(x)
        if self.gate_first:
            return self.proj(x) + self.proj(torch.relu(self.gate(x)))
        return self.proj(h) + self.gate(h) + self.proj(x)


@pytest.mark.parametrize("gate_first", [True, False])
def test_a_linear_run_twice_shares_no_sums_with_a_layer_reading_one_of_its_inputs(gate_first):
    """Sharing was decided call by call: with gate reading proj's first input,
    the record either failed (the input of proj.weight is not the one it
    shared) or gave gate proj's two inputs, 20 rows for its 10.  Oracle: each
    layer's inputs computed by hand."""
    torch.manual_seed(7)
    net = Siamese(gate_first)
    data = [torch.randn(5, 4) for _ in range(2)]
    stats = record(net, data)
    want = {"gate.weight": [], "proj.weight": []}
    with torch.no_grad():
        for x in data:
            h = torch.tanh(x)
            if gate_first:
                want["gate.weight"].append(x)
                want["proj.weight"] += [x, torch.relu(net.gate(x))]
            else:
                want["gate.weight"].append(h)
                want["proj.weight"] += [h, x]
    for name, inputs in want.items():
        x = torch.cat(inputs).double().numpy()
        assert stats[name].rows == x.shape[0]
        np.testing.assert_allclose(stats[name].gram, x.T @ x, rtol=1e-10)


def test_an_input_shared_on_the_first_batch_only_is_an_error():
    class Sometimes(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.calls = torch.nn.Linear(4, 2), torch.nn.Linear(4, 2), 0

        def forward(self, x):
            self.calls += 1
            return self.a(x) + self.b(x if self.calls <= 2 else x.clone())

    with pytest.raises(ValueError, match="b.weight are not the ones it shared with a.weight"):
        record(Sometimes(), [torch.randn(3, 4) for _ in range(2)])


def test_one_dict_batch_given_as_batches_is_a_type_error():
    """A dict given as batches was iterated by its keys: the model ran on
    the string 'x' (a TypeError from deep inside: cannot create weak
    reference to 'str' object)."""
    from wavesparse.torch import prune_sequential
    net = Attention()
    batch = {"x": torch.randn(2, 3, 12), "attention_mask": torch.ones(2, 3)}
    with pytest.raises(TypeError, match=r"batches must be an iterable of batches .*got dict"):
        record(net, batch)
    with pytest.raises(TypeError, match=r"batches must be an iterable of batches .*got dict"):
        prune_sequential(net, batch, lambda stats: SparseGPTPruner(0.5, stats))
    with pytest.raises(TypeError, match=r"batches must be an iterable of batches .*got int"):
        record(net, 3)
    x = batch["x"].double().reshape(-1, 12).numpy()
    np.testing.assert_allclose(record(net, [batch])["q.weight"].gram, x.T @ x, rtol=1e-12)
