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

from wavesparse import calibration, formats, io, opencl, ops, pruning
from wavesparse.compat import SparseOperations, SparseTensorConfig
from wavesparse.errors import OpenCLError, OpenCLMemoryError, OpenCLUnavailable
from wavesparse.layers import SparseLinear, create_sparse_layer
from wavesparse.pruning import (BlockPruner, GradualPruner, MagnitudePruner, Pruner,
                                SparseGPTPruner, StructuredPruner, WandaPruner)

__version__ = "0.1.0"

__all__ = [
    "SparseTensorConfig", "SparseOperations", "MagnitudePruner",
    "StructuredPruner", "GradualPruner", "BlockPruner", "WandaPruner", "SparseGPTPruner",
    "Pruner",
    "create_sparse_layer", "SparseLinear",
    "calibration", "formats", "io", "ops", "opencl", "pruning",
    "OpenCLError", "OpenCLMemoryError", "OpenCLUnavailable",
    "__version__",
]
