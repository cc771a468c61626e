"""Tensors of other libraries: read without a copy, given back as their kind
(issue 14, item 24).  torch is not needed: a small array-API-like class stands
in for it, and the torch test runs where torch is installed."""

import numpy as np
import pytest

from wavesparse import MagnitudePruner
from wavesparse._interop import as_numpy
from _helpers import require_torch


class FakeNamespace:
    """The one call of an array-API namespace the pruners use."""

    @staticmethod
    def asarray(array):
        return FakeTensor(np.asarray(array))


class FakeTensor:
    """A DLPack exporter with a namespace, like cupy or a jax array; it also
    counts detach() calls, as a torch Parameter would need one."""

    detached = 0

    def __init__(self, data):
        self._data = data

    def __dlpack__(self, **kwargs):
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __array_namespace__(self, api_version=None):
        return FakeNamespace

    def detach(self):
        FakeTensor.detached += 1
        return self

    def numpy(self):
        return self._data


class ArrayOnly:
    """Only ``__array__``: results come back as numpy (nothing else to build)."""

    def __init__(self, data):
        self._data = data

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)


def test_fake_tensors_come_back_as_their_kind():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 8)).astype(np.float32)
    bias = FakeTensor(np.ones(8, np.float32))
    model = {"fc.weight": FakeTensor(w), "fc.bias": bias}
    pruned, masks = MagnitudePruner(0.5).prune_model(model)
    expected, expected_mask = MagnitudePruner(0.5).prune_layer(w)  # the numpy oracle
    assert isinstance(pruned["fc.weight"], FakeTensor)
    assert isinstance(masks["fc.weight"], FakeTensor)
    np.testing.assert_array_equal(pruned["fc.weight"].numpy(), expected)
    np.testing.assert_array_equal(masks["fc.weight"].numpy(), expected_mask)
    assert pruned["fc.bias"] is bias  # left alone: the caller's own object
    layer, mask = MagnitudePruner(0.5).prune_layer(FakeTensor(w))
    assert isinstance(layer, FakeTensor) and isinstance(mask, FakeTensor)
    np.testing.assert_array_equal(layer.numpy(), expected)
    assert FakeTensor.detached >= 2


def test_read_without_a_copy():
    w = np.arange(6.0).reshape(2, 3)
    array, back = as_numpy(FakeTensor(w), "w")
    assert np.shares_memory(array, w)
    array, back = as_numpy(w, "w")
    assert array is w and back(w) is w


def test_array_only_objects_give_numpy():
    w = np.float32([[3, 1], [2, 4]])
    pruned, mask = MagnitudePruner(0.5).prune_layer(ArrayOnly(w))
    assert type(pruned) is np.ndarray
    np.testing.assert_array_equal(pruned, [[3, 0], [0, 4]])


def test_unreadable_object_names_the_tensor():
    class Broken:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("on another device")

    with pytest.raises(TypeError, match=r"weights\['w'\] \(a Broken\) cannot be read as an "
                                        r"array: __array__: on another device"):
        MagnitudePruner(0.5).prune_model({"w": Broken()})


def test_torch_state_dict_and_parameters():
    torch = require_torch()
    torch.manual_seed(0)
    net = torch.nn.Linear(16, 8)
    state = net.state_dict()
    pruned, masks = MagnitudePruner(0.5).prune_model(state)
    assert isinstance(pruned["weight"], torch.Tensor) and isinstance(masks["weight"], torch.Tensor)
    assert pruned["bias"] is state["bias"]
    expected, _ = MagnitudePruner(0.5).prune_layer(state["weight"].numpy())
    np.testing.assert_array_equal(pruned["weight"].numpy(), expected)
    weight, mask = MagnitudePruner(0.5).prune_layer(net.weight)  # an nn.Parameter
    assert isinstance(weight, torch.Tensor) and mask.dtype == torch.bool
    np.testing.assert_array_equal(weight.numpy(), expected)
