"""wavesparse: prune neural-network weights and run the sparse networks fast.

The CPU path (C with OpenMP, wrapped by Cython) is always there; the OpenCL
path loads the OpenCL library at run time and says why when it cannot.

Examples
--------
>>> import numpy as np
>>> import wavesparse
>>> A = wavesparse.formats.to_csr(np.eye(3, dtype=np.float32))
>>> A.nnz
3
"""

from wavesparse import _openmp  # noqa: F401  (first: OpenMP's wait policy, see there)
from wavesparse import calibration, formats, io, opencl, ops, pruning, sensitivity
from wavesparse.compat import SparseOperations, SparseTensorConfig
from wavesparse.errors import OpenCLError, OpenCLMemoryError, OpenCLUnavailable
from wavesparse.layers import SparseLinear, create_sparse_layer
from wavesparse.compat_gpu import GPUSparseOperations
from wavesparse.pruning import (BlockPruner, DynamicSparsePruner, GradualPruner,
                                MagnitudePruner, NMPruner, Pruner, SparseGPTPruner,
                                StructuredPruner, WandaPruner)

__version__ = "0.1.0"

__all__ = [
    "SparseTensorConfig", "SparseOperations", "GPUSparseOperations", "MagnitudePruner",
    "StructuredPruner", "GradualPruner", "BlockPruner", "NMPruner", "WandaPruner",
    "SparseGPTPruner", "DynamicSparsePruner", "Pruner",
    "create_sparse_layer", "SparseLinear",
    "calibration", "formats", "io", "ops", "opencl", "pruning", "sensitivity",
    "OpenCLError", "OpenCLMemoryError", "OpenCLUnavailable",
    "__version__",
]
