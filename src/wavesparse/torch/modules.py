"""Which parameters of a torch model the adapters work on.

A model's prunable weights are the ``weight`` of its ``nn.Linear`` and
convolution layers (``nn.Conv1d/2d/3d`` and their transposes), named as in
``model.state_dict()``; the include/exclude globs of the pruner then choose
among them (:func:`wavesparse.pruning.select_layers`).
"""

import numpy as np
import torch
from torch import nn

from wavesparse.pruning.choice import select_layers

__all__ = ["masked_weights", "chosen_linears", "LINEAR", "CONVOLUTIONS", "shape_stand_ins",
           "to_numpy", "run_batch", "check_batches"]

#: Layers whose ``weight`` is a matrix ``(out_features, in_features)``.
LINEAR = (nn.Linear,)
#: Layers whose ``weight`` is a convolution kernel.
CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d,
                nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _module(model, name):
    if not isinstance(model, nn.Module):
        raise TypeError("%s must be a torch.nn.Module, got %s" % (name, type(model).__name__))
    return model


def masked_weights(model, kinds=LINEAR + CONVOLUTIONS):
    """The weights of ``model``'s layers of the given kinds, by their
    state-dict names, in the model's order.

    Parameters
    ----------
    model : torch.nn.Module
    kinds : tuple of type
        Layer classes whose ``weight`` is returned (default: Linear and
        convolutions).  A weight shared by two layers is returned once.

    Returns
    -------
    dict of str to torch.nn.Parameter

    Examples
    --------
    >>> import torch
    >>> from wavesparse.torch import masked_weights
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(),
    ...                           torch.nn.Linear(16, 3))
    >>> {n: tuple(p.shape) for n, p in masked_weights(net).items()}
    {'0.weight': (4, 1, 3, 3), '2.weight': (3, 16)}
    """
    _module(model, "model")
    out, seen = {}, set()
    for prefix, layer in model.named_modules():
        weight = getattr(layer, "weight", None)
        if isinstance(layer, kinds) and isinstance(weight, nn.Parameter) \
                and id(weight) not in seen:
            seen.add(id(weight))
            out[prefix + ".weight" if prefix else "weight"] = weight
    return out


def chosen_linears(model, include=None, exclude=None):
    """The ``nn.Linear`` layers whose weights the globs choose, by weight
    name, in the model's order; a ValueError when none is chosen.

    Examples
    --------
    >>> import torch
    >>> from wavesparse.torch.modules import chosen_linears
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    >>> list(chosen_linears(net, exclude=["0.*"]))
    ['1.weight']
    """
    layers = {}
    for prefix, layer in _module(model, "model").named_modules():
        if isinstance(layer, LINEAR):
            layers.setdefault(prefix + ".weight" if prefix else "weight", layer)
    names = select_layers(shape_stand_ins({n: m.weight for n, m in layers.items()}),
                          include, exclude)
    if not names:
        raise ValueError("model has no nn.Linear weight chosen by include=%r, exclude=%r"
                         % (include, exclude))
    return {n: layers[n] for n in names}


def shape_stand_ins(tensors):
    """Zero-strided numpy arrays with each tensor's shape, for the
    include/exclude rule (which looks at names, shapes and float dtypes only)
    without copying a tensor.

    Examples
    --------
    >>> import torch
    >>> from wavesparse.torch.modules import shape_stand_ins
    >>> a = shape_stand_ins({"w": torch.zeros(3, 4, dtype=torch.bfloat16)})["w"]
    >>> a.shape, a.dtype, a.strides
    ((3, 4), dtype('float32'), (0, 0))
    """
    return {n: np.broadcast_to(np.float32(0), tuple(t.shape)) for n, t in tensors.items()}


def to_numpy(tensor, copy=True):
    """The tensor as float32 numpy (float64 stays float64), from any device
    and any float dtype.

    Parameters
    ----------
    tensor : torch.Tensor
    copy : bool
        Always a copy (default); with False a float32 or float64 CPU
        tensor is given as a view of its memory, for reading only.

    Examples
    --------
    >>> import torch
    >>> from wavesparse.torch.modules import to_numpy
    >>> to_numpy(torch.tensor([1.5, -2.0], dtype=torch.bfloat16))
    array([ 1.5, -2. ], dtype=float32)
    """
    source = tensor.detach()
    if source.dtype != torch.float64:
        source = source.to(torch.float32)
    out = source.cpu().numpy()
    shares = source.device.type == "cpu" and source.data_ptr() == tensor.data_ptr()
    return out.copy() if copy and shares else out


def check_batches(batches):
    """A TypeError unless ``batches`` can be iterated as batches: a dict (or
    a str) would give its keys, and is one batch to wrap in a list.

    Examples
    --------
    >>> from wavesparse.torch.modules import check_batches
    >>> check_batches({"input_ids": None})
    Traceback (most recent call last):
    ...
    TypeError: batches must be an iterable of batches (one batch goes in a list: [batch]), got dict
    """
    if isinstance(batches, (dict, str, bytes)) or not hasattr(batches, "__iter__"):
        raise TypeError("batches must be an iterable of batches (one batch goes in a "
                        "list: [batch]), got %s" % type(batches).__name__)


def run_batch(model, batch):
    """``model(**batch)`` for a dict, ``model(*batch)`` for a tuple or list,
    else ``model(batch)``: how the adapters feed calibration batches.

    Examples
    --------
    >>> import torch
    >>> from wavesparse.torch.modules import run_batch
    >>> run_batch(torch.nn.Bilinear(2, 3, 1), (torch.ones(1, 2), torch.ones(1, 3))).shape
    torch.Size([1, 1])
    """
    if isinstance(batch, dict):
        return model(**batch)
    if isinstance(batch, (tuple, list)):
        return model(*batch)
    return model(batch)
