"""Sparse x dense: ours (CPU CSR and BSR, OpenCL) against scipy, torch.sparse
and dense BLAS, 4096x4096 weights.

CSR rows use magnitude-pruned weights (unstructured sparsity); BSR rows use
block-pruned weights at the same sparsity (whole 16x16 or 32x32 blocks zero).
Ratios are the peer's time over ours (above 1: ours is faster).

python benchmarks/bench_spmm.py [--quick] [--opencl]
"""

import numpy as np

from _harness import blas_info, median_seconds, parser
from wavesparse import MagnitudePruner, SparseLinear, create_sparse_layer, formats, ops


def main():
    p = parser(__doc__)
    p.add_argument("--opencl", action="store_true", help="also time the OpenCL backend")
    args = p.parse_args()
    size = 1024 if args.quick else 4096
    sparsities = [0.9] if args.quick else [0.7, 0.9, 0.95]
    widths = [1, 32] if args.quick else [1, 32, 256]
    try:
        import warnings
        import torch
        torch.set_num_threads(2)
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    except ImportError:
        torch = None
        print("torch not installed: no torch.sparse column")
    print("numpy BLAS:", blas_info())
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((size, size)).astype(np.float32)
    head = ("%-5s %-4s %9s %9s %9s %9s %9s %9s %9s | %8s %8s %9s"
            % ("sp.", "N", "csr", "bsr16", "bsr32", "opencl", "scipy", "torch", "dense",
               "csr/dns", "bsr32/dns", "csr/best"))
    print("\nms, median of %d; ratios = other / ours" % args.repeat)
    print(head)
    print("-" * len(head))
    for s in sparsities:
        pruned, _ = MagnitudePruner(s).prune_layer(weights)
        A = formats.to_csr(pruned)
        bsr = {b: create_sparse_layer(weights, s, format="bsr", block_size=b).weight
               for b in (16, 32)}
        scipy_A = A.copy()
        torch_A = torch.from_numpy(pruned).to_sparse_csr() if torch else None
        # Weights uploaded once; each product moves X up and Y down.
        device_A = SparseLinear(A, backend="opencl") if args.opencl else None
        for n in widths:
            X = rng.standard_normal((size, n) if n > 1 else size).astype(np.float32)
            ref = pruned.astype(np.float64) @ X.astype(np.float64)
            got = ops.spmm(A, X, backend="cpu")
            assert np.allclose(got, ref, rtol=1e-4, atol=1e-3)
            t = {"csr": median_seconds(lambda: ops.spmm(A, X, backend="cpu"), args.repeat)}
            for b, W in bsr.items():
                t["bsr%d" % b] = median_seconds(lambda: ops.spmm(W, X, backend="cpu"), args.repeat)
            if args.opencl:
                assert np.allclose(device_A @ X, ref, rtol=1e-4, atol=1e-3)
                t["opencl"] = median_seconds(lambda: device_A @ X, args.repeat)
            else:
                t["opencl"] = float("nan")
            t["scipy"] = median_seconds(lambda: scipy_A @ X, args.repeat)
            if torch is not None:
                TX = torch.from_numpy(X if n > 1 else X[:, None])
                t["torch"] = median_seconds(lambda: torch_A @ TX, args.repeat)
            else:
                t["torch"] = float("nan")
            t["dense"] = median_seconds(lambda: pruned @ X, args.repeat)
            best = np.nanmin([t["scipy"], t["torch"], t["dense"]])
            print("%-5s %-4d %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f | %7.2fx %8.2fx %8.2fx"
                  % ("%d%%" % round(s * 100), n, *(1e3 * t[k] for k in
                     ("csr", "bsr16", "bsr32", "opencl", "scipy", "torch", "dense")),
                     t["dense"] / t["csr"], t["dense"] / t["bsr32"], best / t["csr"]))


if __name__ == "__main__":
    main()
