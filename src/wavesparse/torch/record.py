"""Calibration statistics from a torch model's forward passes.

:func:`record` hooks every chosen ``nn.Linear``, runs the model over the
calibration batches without gradients, and feeds each layer's input to a
:class:`wavesparse.calibration.Recorder`.  Layers fed the very same input
tensors in a forward pass, call for call (the query, key and value
projections of an attention block), are found on the first batch and share
one set of sums, as ``Recorder.add`` with a list of names does; a layer run
twice shares with no layer that reads only one of its inputs.
"""

import itertools
import weakref

import torch

from wavesparse import _validate as check
from wavesparse.calibration import Recorder
from wavesparse.calibration.stats import check_destination
from wavesparse.torch.modules import check_batches, chosen_linears, run_batch

__all__ = ["record"]


def _row_mask(batch):
    """The batch's ``attention_mask`` (True = a real token), if it has one."""
    mask = batch.get("attention_mask") if isinstance(batch, dict) else None
    return None if mask is None else torch.as_tensor(mask).detach().to(torch.bool)


def _rows(x, mask):
    """The layer input as ``(rows, in_features)``, padding rows left out when
    the input's leading axes are the attention mask's shape."""
    if mask is not None and tuple(x.shape[:-1]) == tuple(mask.shape):
        x = x[mask.to(x.device)]
    return x.reshape(-1, x.shape[-1])


class _Groups:
    """Which chosen layers take the same inputs: those whose calls in a
    forward pass read the very same tensors, in the same order.  Found on
    the first batch, checked on every other."""

    def __init__(self, names):
        self.names = names
        self.inputs = {}       # name -> the inputs of its calls (serial numbers), in order
        self._seen = {}        # id(input) -> (weakref to it, serial number)
        self._serials = itertools.count()

    def note(self, name, x):
        entry = self._seen.get(id(x))
        if entry is None or entry[0]() is not x:
            entry = (weakref.ref(x), next(self._serials))
            self._seen[id(x)] = entry
        self.inputs.setdefault(name, []).append(entry[1])

    def members(self):
        """``{leader: [members]}``, the leader being the member called first."""
        first = {}             # the inputs -> the first layer called with them
        for name in self.inputs:   # in order of their first calls
            first.setdefault(tuple(self.inputs[name]), name)
        out = {}
        for name in self.names:
            if name in self.inputs:
                out.setdefault(first[tuple(self.inputs[name])], []).append(name)
        return out

    def check(self, members):
        """A ValueError unless each group's members read its leader's inputs."""
        for leader, group in members.items():
            for name in group:
                if self.inputs.get(name) != self.inputs.get(leader):
                    raise ValueError("the inputs of %s are not the ones it shared with %s "
                                     "on the first batch" % (name, ", ".join(
                                         n for n in group if n != name)))

    def reset(self):
        self.inputs, self._seen = {}, {}


def _sums_device(device):
    """``device`` as a torch.device where float64 sums can be made, or None."""
    if device is None:
        return None
    if isinstance(device, bool) or not isinstance(device, (str, int, torch.device)):
        raise TypeError("device must be a torch.device, a str such as 'cpu' or 'cuda:0' "
                        "or a device index, got %s" % type(device).__name__)
    try:
        device = torch.device(device)
        if device.type == "meta":
            raise ValueError("a meta tensor holds no values")
        torch.zeros(1, dtype=torch.float64, device=device)
    except (RuntimeError, AssertionError, ValueError) as exc:
        raise ValueError("device %r cannot hold the float64 sums: %s"
                         % (str(device), str(exc).splitlines()[0])) from None
    return device


def _layer_input(args, kwargs):
    """The input of ``nn.Linear.forward``, given by position or as ``input=``."""
    return args[0] if args else kwargs["input"]


class _StopForward(Exception):
    """Raised by a hook once every chosen layer has its inputs of the batch."""


class _DeviceSums:
    """One input's running float64 sums, kept on a torch device."""

    def __init__(self, names, width, device, gram):
        self.names, self.width, self.device, self.gram = names, width, device, gram
        self.rows, self.sum_squares, self.product = 0, None, None

    def add(self, x, chunk_rows):
        device = x.device if self.device is None else self.device
        for start in range(0, x.shape[0], chunk_rows):
            part = x[start:start + chunk_rows].to(device=device, dtype=torch.float64)
            if not bool(torch.isfinite(part).all()):
                raise ValueError("inputs of %s hold NaN or inf" % ", ".join(self.names))
            if self.sum_squares is None:
                self.sum_squares = torch.zeros(self.width, dtype=torch.float64,
                                               device=device)
                if self.gram:
                    self.product = torch.zeros((self.width, self.width),
                                               dtype=torch.float64, device=device)
            self.sum_squares += (part * part).sum(0)
            if self.gram:
                self.product += part.T @ part
        self.rows += x.shape[0]

    def into(self, recorder, input):
        """Hand the sums to a :class:`~wavesparse.calibration.Recorder`."""
        if self.sum_squares is None:  # no rows (all padding): zero sums
            self.sum_squares = torch.zeros(self.width, dtype=torch.float64)
            self.product = torch.zeros((self.width,) * 2, dtype=torch.float64) \
                if self.gram else None
        recorder.add_sums(self.names, self.rows, self.sum_squares.cpu().numpy(),
                          None if self.product is None else self.product.cpu().numpy(),
                          input=input)


def record(model, batches, include=None, exclude=None, path=None, gram=True,
           metadata=None, chunk_rows=4096, stop_early=False, device=None):
    """Record the input statistics of ``model``'s Linear layers.

    Parameters
    ----------
    model : torch.nn.Module
        Run as ``model(batch)``, ``model(*batch)`` for a tuple or list, or
        ``model(**batch)`` for a dict; put in ``eval()`` mode by the caller.
    batches : iterable
        The calibration batches.  A dict batch with an ``attention_mask``
        has its padding rows left out of every layer input whose leading
        axes have the mask's shape.
    include, exclude : list of str, optional
        Glob patterns on the weights' state-dict names (``"encoder.*"``);
        by default every ``nn.Linear`` weight.
    path : str or os.PathLike, optional
        Where to save the statistics file (written to a temporary name and
        renamed); a ``.safetensors`` name in an existing folder, checked
        before the model runs.
    gram : bool
        Also record the Gram matrices X^T X (SparseGPT needs them).
    metadata : dict of str to str, optional
        Stored in the file (where the calibration data came from).
    chunk_rows : int
        Rows converted to float64 at a time (at least 1).
    stop_early : bool
        Stop each forward pass once every chosen layer has had as many
        inputs as on the first batch: the rest of the model is not run (what
        :func:`~wavesparse.torch.prune_sequential` does for a block early in
        a deep model).  The model's output is never used here, so nothing
        else changes.
    device : torch.device or str, optional
        Where the float64 sums are kept and computed: by default on each
        input's own device (a GPU model's Gram matrices are made on the GPU,
        2 * rows * n_in**2 flops a batch); ``"cpu"`` keeps them in host
        memory (n_in**2 float64 per distinct input), for a model whose
        statistics would not fit beside it.  A device this machine lacks
        (or ``"meta"``) is a ValueError before anything runs.

    Returns
    -------
    wavesparse.calibration.CalibrationStats
        Keyed by the weights' names (``"encoder.0.weight"``), as the pruners
        and ``wavesparse prune --calibration`` expect them.

    Notes
    -----
    The first batch runs twice: once to find which layers share an input,
    once recorded.  Inputs are summed in float64 whatever the model's dtype,
    and the sums reach the CPU once, at the end, through
    :meth:`wavesparse.calibration.Recorder.add_sums`.  A layer that is not
    reached by the forward pass is an error naming it; so is a shared input
    that changes from batch to batch.

    Examples
    --------
    >>> import torch
    >>> from wavesparse.torch import record
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> stats = record(net, [torch.randn(16, 4) for _ in range(3)])
    >>> sorted(stats), stats["2.weight"].rows, stats["0.weight"].gram.shape
    (['0.weight', '2.weight'], 48, (4, 4))
    """
    check_batches(batches)
    chunk_rows = check.index(chunk_rows, "chunk_rows")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1, got %d" % chunk_rows)
    device = _sums_device(device)
    check_destination(path, metadata)
    recorder = Recorder(gram=gram)
    layers = chosen_linears(model, include, exclude)
    names = list(layers)
    by_module = {layer: name for name, layer in layers.items()}
    groups = _Groups(names)
    state = {"mode": "find", "mask": None, "members": None}
    calls = dict.fromkeys(names, 0)

    def hook(layer, args, kwargs):
        name = by_module[layer]
        x = _layer_input(args, kwargs)
        groups.note(name, x)
        calls[name] += 1
        if state["mode"] == "find":
            return
        if name in state["members"]:
            sums[name].add(_rows(x.detach(), state["mask"]), chunk_rows)
        if stop_early and calls == state["calls"]:
            raise _StopForward

    handles = [layer.register_forward_pre_hook(hook, with_kwargs=True)
               for layer in by_module]
    count = 0
    try:
        with torch.no_grad():
            for batch in batches:
                if count == 0:
                    run_batch(model, batch)
                    missing = [n for n in names if n not in groups.inputs]
                    if missing:
                        raise ValueError("the forward pass never reached %s; leave "
                                         "them out with exclude" % ", ".join(missing))
                    state.update(mode="record", members=groups.members(),
                                 calls=dict(calls))
                    sums = {leader: _DeviceSums(members, layers[leader].in_features,
                                                device, gram)
                            for leader, members in state["members"].items()}
                groups.reset()
                calls.update(dict.fromkeys(names, 0))
                state["mask"] = _row_mask(batch)
                try:
                    run_batch(model, batch)
                except _StopForward:
                    pass
                groups.check(state["members"])
                count += 1
    finally:
        for handle in handles:
            handle.remove()
    if count == 0:
        raise ValueError("batches is empty: record needs at least one batch")
    info = {"source": "wavesparse.torch.record", "batches": str(count)}
    info.update(metadata or {})
    for leader, members in state["members"].items():
        sums[leader].into(recorder, "inputs of %s" % ", ".join(members))
    if path is not None:
        recorder.save(path, metadata=info)
    return recorder.stats(metadata=info)
