"""Our OpenMP threads sleep when idle instead of spinning.

GNU OpenMP reads its wait policy once, when the library loads.  Its default
keeps idle threads spinning for a while after each parallel region; on a
machine with as many threads as cores, shared with OpenBLAS's own spinning
workers or other processes, those spinners take the cores the next region
needs.  Measured on the 2-core machine under load, MiniLM on one sequence
with CSR Linears took 237 ms with the default policy, 3.6 s with
``active`` and 47-50 ms with ``passive`` (38 ms on one thread).  So, unless
the user chose a policy (``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set), the
first compiled module is loaded with ``OMP_WAIT_POLICY=passive`` and the
variable is removed again, so that OpenMP runtimes loaded later keep their
own defaults.  Where libgomp was already loaded, this changes nothing.

Examples
--------
>>> from wavesparse import _openmp
>>> _openmp.PASSIVE_SET in (True, False)
True
"""

import os

_USER_CHOICES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")

#: Whether this module chose the passive policy (False: the user chose).
PASSIVE_SET = not any(name in os.environ for name in _USER_CHOICES)

if PASSIVE_SET:
    os.environ["OMP_WAIT_POLICY"] = "passive"
    try:
        from wavesparse import _select  # noqa: F401  (loads libgomp under the policy)
    finally:
        del os.environ["OMP_WAIT_POLICY"]
