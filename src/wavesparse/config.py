"""SparseTensorConfig: the settings the original design's classes share."""

from dataclasses import dataclass

from wavesparse import _validate as check

__all__ = ["SparseTensorConfig"]


def _power_of_two(value, name):
    value = check.index(value, name)
    if value < 1 or value & (value - 1):
        raise ValueError("%s must be a positive power of two, got %d" % (name, value))
    return value


@dataclass
class SparseTensorConfig:
    """Target sparsity, block size and wavefront width, validated.

    Parameters
    ----------
    target_sparsity : float
        In [0, 1).
    block_size : int
        BSR block edge; a positive power of two.
    wavefront_size : int
        The GPU's SIMD width (64 on the RX 580's GCN); a positive power of two.

    Examples
    --------
    >>> from wavesparse import SparseTensorConfig
    >>> SparseTensorConfig()
    SparseTensorConfig(target_sparsity=0.7, block_size=64, wavefront_size=64)
    >>> SparseTensorConfig(block_size=48)
    Traceback (most recent call last):
    ...
    ValueError: block_size must be a positive power of two, got 48
    """

    target_sparsity: float = 0.7
    block_size: int = 64
    wavefront_size: int = 64

    def __post_init__(self):
        self.target_sparsity = check.fraction(self.target_sparsity, "target_sparsity")
        self.block_size = _power_of_two(self.block_size, "block_size")
        self.wavefront_size = _power_of_two(self.wavefront_size, "wavefront_size")
