"""Timing by median, shared by the benchmarks, ``wavesparse bench`` and the demo."""

import statistics
import time


def median_seconds(fn, repeat=7, warmup=1, settle=0.1):
    """The median wall time of ``fn()`` over ``repeat`` runs, after warm-up.

    It first sleeps ``settle`` seconds: the thread pools of the previous case
    (OpenBLAS, another OpenMP runtime) spin for a while after their work and
    would slow this one.
    """
    time.sleep(settle)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
