"""One thread pool at a time: the products' OpenMP threads and OpenBLAS's.

On a machine with few cores, OpenBLAS's worker threads keep spinning for a
while after a numpy matmul and the products' OpenMP threads do the same after
a product; when a forward pass alternates the two, each pool's spinners take
the cores the other one needs.  While a model with sparse Linears runs, the
runtime therefore holds OpenBLAS to one thread (its BLAS work there, the
attention's small matmuls, is the minor part), so that no BLAS worker spins
beside the products.  A model whose Linears are all dense keeps the
caller's BLAS threads for its Linears, but the attention's per-head matmuls
(128 x 32 x 128: too small to share) always run on one.  Measured on the
2-core machine under load: MiniLM 1 x 128 with CSR Linears took 6.7 s with
BLAS on two threads and 0.24 s held to one; the dense model 6.4 s and
0.75 s.  (Our own OpenMP threads wait passively: :mod:`wavesparse._openmp`.)
threadpoolctl does the limiting; without it these are no-ops.

Examples
--------
>>> import numpy as np
>>> from wavesparse.runtime import Linear, threads
>>> with threads.discipline([Linear(np.eye(2))]):
...     pass
"""

import contextlib

__all__ = ["discipline", "one_blas_thread", "blas_threads"]

_controller = []


def _blas_controller():
    """The threadpoolctl controller, made once (it inspects loaded libraries)."""
    if not _controller:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller.append(None)
        else:
            _controller.append(ThreadpoolController().select(user_api="blas"))
    return _controller[0]


def blas_threads():
    """The threads numpy's BLAS may use now (None without threadpoolctl).

    Examples
    --------
    >>> from wavesparse.runtime.threads import blas_threads
    >>> blas_threads() is None or blas_threads() >= 1
    True
    """
    controller = _blas_controller()
    if controller is None or not controller.lib_controllers:
        return None
    return min(c.num_threads for c in controller.lib_controllers)


@contextlib.contextmanager
def one_blas_thread():
    """Hold BLAS to one thread inside the block.

    Examples
    --------
    >>> from wavesparse.runtime import threads
    >>> with threads.one_blas_thread():
    ...     threads.blas_threads() in (None, 1)
    True
    """
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1):
        yield


@contextlib.contextmanager
def discipline(linears):
    """Hold BLAS to one thread while ``linears`` run, if any is sparse.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from wavesparse.runtime import Linear, threads
    >>> with threads.discipline([Linear(sp.csr_array(np.eye(2)))]):
    ...     inside = threads.blas_threads()
    >>> inside in (None, 1)
    True
    """
    if all(layer.layout == "dense" for layer in linears):
        yield
        return
    with one_blas_thread():
        yield
