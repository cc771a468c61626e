"""Which network a checkpoint holds, and the runtime model that runs it.

Examples
--------
>>> import os, tempfile
>>> from wavesparse import io
>>> from wavesparse.runtime import load_model
>>> from wavesparse.runtime.toy import tiny_mlp
>>> path = os.path.join(tempfile.mkdtemp(), "mlp.npz")
>>> io.save(path, tiny_mlp())
>>> type(load_model(path)).__name__
'MLP'
"""

from wavesparse import io
from wavesparse.runtime.encoder import Encoder, resolve_config
from wavesparse.runtime.mlp import MLP

__all__ = ["load_model", "is_encoder"]


def is_encoder(weights):
    """Whether checkpoint tensors are a BERT-style encoder's (by their names).

    Examples
    --------
    >>> from wavesparse.runtime.model import is_encoder
    >>> is_encoder({"encoder.layer.0.output.dense.weight": None})
    True
    """
    return any(name.startswith(("encoder.layer.", "embeddings.")) for name in weights)


def load_model(path, config=None, activation="relu"):
    """An :class:`~wavesparse.runtime.Encoder` or :class:`~wavesparse.runtime.MLP`
    over a checkpoint file.

    Parameters
    ----------
    path : str
        ``.safetensors`` or ``.npz``; dense, CSR and BSR tensors as
        :func:`wavesparse.io.load` reads them.
    config : dict or str, optional
        An encoder's config (default: ``config.json`` beside the file).
    activation : str
        An MLP's hidden activation.

    Raises
    ------
    wavesparse.io.CheckpointError
        For an unreadable file, a missing tensor
        (:class:`~wavesparse.runtime.MissingTensorError`) or config.

    Examples
    --------
    >>> from wavesparse.runtime import load_model
    >>> try:
    ...     load_model("/nonexistent.npz")
    ... except Exception as exc:
    ...     print(type(exc).__name__)
    CheckpointError
    """
    weights = io.load(path)
    if is_encoder(weights):
        config = resolve_config(path, config)
        return Encoder(weights, config, source=str(path))
    return MLP.from_weights(weights, activation, source=str(path))
