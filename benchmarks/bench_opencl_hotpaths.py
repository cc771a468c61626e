"""The hot paths on OpenCL (whatever device is present) against our CPU path
and numpy/scipy: kernel time from event profiling, time with transfers, and
the kernels' effective bandwidth (bytes they must move / kernel time).

python benchmarks/bench_opencl_hotpaths.py [--quick]
"""

import numpy as np
import scipy.sparse as sp

from _harness import median_seconds, parser
from wavesparse import formats, opencl, ops
from wavesparse.opencl import DeviceArray


def kernel_seconds(fn, repeat):
    """The median over runs of the summed device time of fn's kernels."""
    totals = []
    for _ in range(repeat):
        with opencl.profile() as kernels:
            fn()
        totals.append(sum(seconds for _, seconds in kernels))
    return float(np.median(totals))


def main():
    args = parser(__doc__).parse_args()
    ok, reason = opencl.available()
    if not ok:
        print("no OpenCL device: %s" % reason)
        return
    print("device: %s" % reason)
    n = 1_000_000 if args.quick else 10_000_000
    side = 1024 if args.quick else 4096
    rng = np.random.default_rng(0)
    w = rng.standard_normal(n).astype(np.float32)
    k = int(0.9 * n)
    m = rng.standard_normal((side, side)).astype(np.float32)
    m[rng.random(m.shape) < 0.9] = 0
    nnz = np.count_nonzero(m)
    dw, dm = DeviceArray(w), DeviceArray(m)
    cases = [
        # name, device-resident call, call with transfers, our CPU, peer name, peer, bytes
        ("k-th |w|, %dM f32" % (n // 10**6), lambda: dw.rank_magnitude(k),
         lambda: ops.kth_magnitude(w, k, backend="opencl"),
         lambda: ops.kth_magnitude(w, k, backend="cpu"), "np.partition",
         lambda: np.partition(np.abs(w), k), 3 * 4 * n),
        ("|w| >= t mask, %dM f32" % (n // 10**6), lambda: dw.threshold(1.0),
         lambda: ops.apply_threshold(w, 1.0, backend="opencl"),
         lambda: ops.apply_threshold(w, 1.0, backend="cpu"), "numpy where",
         lambda: (np.where(np.abs(w) >= 1.0, w, 0), np.abs(w) >= 1.0), 9 * n),
        ("%d^2 90%% -> CSR" % side, lambda: dm.to_csr(),
         lambda: formats.to_csr(m, backend="opencl"),
         lambda: formats.to_csr(m, backend="cpu"), "scipy csr_array",
         lambda: sp.csr_array(m), 2 * 4 * m.size + 8 * nnz),
        ("%d^2 -> BSR 16x16" % side, lambda: dm.to_bsr(16),
         lambda: formats.to_bsr(m, 16, backend="opencl"),
         lambda: formats.to_bsr(m, 16, backend="cpu"), "scipy bsr_array",
         lambda: sp.bsr_array(m, blocksize=(16, 16)), 3 * 4 * m.size),
    ]
    head = "%-24s %10s %8s %12s %10s %-16s %10s %9s %9s" % (
        "case", "kernel ms", "GB/s", "w/ xfer ms", "cpu ms", "peer", "peer ms",
        "cpu/xfer", "peer/xfer")
    print(head)
    print("-" * len(head))
    for name, resident, full, cpu, peer_name, peer, nbytes in cases:
        t_kernel = kernel_seconds(resident, args.repeat)
        t_full = median_seconds(full, args.repeat)
        t_cpu = median_seconds(cpu, args.repeat)
        t_peer = median_seconds(peer, args.repeat)
        print("%-24s %10.2f %8.1f %12.2f %10.2f %-16s %10.2f %8.2fx %8.2fx" % (
            name, 1e3 * t_kernel, nbytes / t_kernel / 1e9, 1e3 * t_full, 1e3 * t_cpu,
            peer_name, 1e3 * t_peer, t_cpu / t_full, t_peer / t_full))


if __name__ == "__main__":
    main()
