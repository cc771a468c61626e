"""Exact threshold selection: ours (radix select) against np.partition.

python benchmarks/bench_select.py [--quick]
"""

import numpy as np

from _harness import median_seconds, parser, print_table
from wavesparse import ops


def main():
    args = parser(__doc__).parse_args()
    n = 1_000_000 if args.quick else 10_000_000
    rng = np.random.default_rng(0)
    w = rng.standard_normal(n).astype(np.float32)
    k = int(0.9 * n)
    assert ops.kth_magnitude(w, k)[0] == np.partition(np.abs(w), k)[k]
    ours = median_seconds(lambda: ops.kth_magnitude(w, k), args.repeat)
    rows = [
        {"case": "%dM float32, k = 90%%" % (n // 10**6), "ours": ours,
         "peer": "np.partition(|w|)", "peer_s": median_seconds(
             lambda: np.partition(np.abs(w), k), args.repeat)},
        {"case": "%dM float32, k = 90%%" % (n // 10**6), "ours": ours,
         "peer": "one np.abs pass", "peer_s": median_seconds(lambda: np.abs(w), args.repeat)},
    ]
    w64 = w.astype(np.float64)
    rows.append({"case": "%dM float64, k = 90%%" % (n // 10**6),
                 "ours": median_seconds(lambda: ops.kth_magnitude(w64, k), args.repeat),
                 "peer": "np.partition(|w|)", "peer_s": median_seconds(
                     lambda: np.partition(np.abs(w64), k), args.repeat)})
    layers = [(rng.standard_normal(n // 10) * s).astype(np.float32)
              for s in np.linspace(0.1, 2.0, 10)]
    kg = int(0.9 * n)
    assert ops.kth_magnitude(layers, kg)[0] == np.partition(
        np.abs(np.concatenate(layers)), kg)[kg]
    ours_global = median_seconds(lambda: ops.kth_magnitude(layers, kg), args.repeat)
    rows.append({"case": "global, 10 x %dk float32" % (n // 10 // 1000), "ours": ours_global,
                 "peer": "concatenate+partition", "peer_s": median_seconds(
                     lambda: np.partition(np.abs(np.concatenate(layers)), kg), args.repeat)})
    try:
        import torch
        flat = torch.from_numpy(np.concatenate(layers))
        kk = n - kg
        rows.append({"case": "global, 10 x %dk float32" % (n // 10 // 1000),
                     "ours": ours_global, "peer": "torch.topk (cat'd)",
                     "peer_s": median_seconds(lambda: torch.topk(
                         torch.cat([torch.from_numpy(a) for a in layers]).abs(), kk,
                         largest=True, sorted=False), args.repeat)})
        del flat
    except ImportError:
        print("torch not installed: no torch.topk row")
    print_table("Threshold selection (median of %d)" % args.repeat, rows)


if __name__ == "__main__":
    main()
