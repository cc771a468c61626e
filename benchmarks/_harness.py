"""What every benchmark shares: timing by median, and the printed table.

Each benchmark times ours and the peers in one run, on the same inputs, and
prints the ratio peer / ours (above 1: ours is faster).
"""

import argparse

from wavesparse._timing import median_seconds  # noqa: F401 (re-exported)


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
