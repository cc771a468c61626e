"""What every benchmark shares: timing by median, and the printed table.

Each benchmark times ours and the peers in one run, on the same inputs, and
prints the ratio peer / ours (above 1: ours is faster).
"""

import argparse
import statistics
import time

from wavesparse._timing import median_seconds  # noqa: F401 (re-exported)


def median_ms(fn, repeat, before=None):
    """The median milliseconds of ``fn()`` over ``repeat`` runs after one
    warm-up, each run right after ``before()`` when given (a numpy matmul:
    OpenBLAS's workers still spinning, as in a real network)."""
    fn()
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def interleaved_ms(cases, repeat):
    """{name: median ms} of ``cases`` ({name: (fn, before or None)}), timed in
    turn, one call of each per round after one warm-up round: on a shared,
    noisy machine every case then sees the same load, so their ratios hold
    better than those of cases timed one after the other."""
    times = {name: [] for name in cases}
    for round_ in range(repeat + 1):
        for name, (fn, before) in cases.items():
            if before is not None:
                before()
            start = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def print_table(title, rows):
    """rows: dicts with case, ours (s), peer name, peer (s)."""
    print("\n" + title)
    header = "%-34s %12s %-22s %12s %9s" % ("case", "ours ms", "peer", "peer ms", "ratio")
    print(header)
    print("-" * len(header))
    for r in rows:
        print("%-34s %12.2f %-22s %12.2f %8.2fx" % (
            r["case"], r["ours"] * 1e3, r["peer"], r["peer_s"] * 1e3,
            r["peer_s"] / r["ours"]))


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--repeat", type=int, default=7, help="timed runs per case")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    return p


def blas_info():
    """Which BLAS numpy runs, and how many threads (threadpoolctl if present)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join("%s %s (%s threads, %s)" % (i.get("internal_api"), i.get("version"),
                                                 i.get("num_threads"), i.get("architecture"))
                     for i in threadpool_info())
