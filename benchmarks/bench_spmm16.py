"""Products with float16/bfloat16 sparse weights: ours beside our float32
products and beside what a user holding 16-bit weights would write.

4096x4096 weights at 90% sparsity: CSR (magnitude-pruned) and BSR 16x16 /
32x32 (90% of the blocks pruned), times a float32 X of N = 256 and N = 1
columns.  For each layout and value dtype:

  ours       ops.spmm(A, X): 16-bit values widened on load, float32 sums
  vs f32     our 16-bit time over our float32 time (below 1: 16-bit faster)
  after mm   ours right after a numpy matmul (OpenBLAS's workers spinning)
  numpy      W16.astype(float32) @ X, dense (the widening counted: the
             user keeps 16-bit weights to halve their memory; on the f32
             rows, W @ X as it is)
  scipy      A16.astype(float32) @ X on scipy's CSR/BSR (likewise)

All cases of one layout and N are timed in turn, round after round
(``interleaved_ms``), so that on a shared machine they see the same load.
Ratios are the peer's time over ours (above 1: ours is faster).  With
--opencl the device products are timed too (weights uploaded once); on PoCL
that says nothing about a GPU.

python benchmarks/bench_spmm16.py [--repeat N] [--quick] [--opencl]
"""

import ml_dtypes
import numpy as np

from _harness import blas_info, interleaved_ms, parser
from wavesparse import formats, ops
from wavesparse._dispatch import sparse_parts
from wavesparse.pruning import BlockPruner, MagnitudePruner

DTYPES = [("f32", np.dtype(np.float32)), ("f16", np.dtype(np.float16)),
          ("bf16", np.dtype(ml_dtypes.bfloat16))]


def weights(size, rng):
    """{layout: (float32 sparse array, its dense float32 matrix)}."""
    w = rng.standard_normal((size, size)).astype(np.float32)
    csr, _ = MagnitudePruner(0.9).prune_layer(w)
    out = {"csr": (formats.to_csr(csr), csr)}
    for b in (16, 32):
        _, keep = BlockPruner(0.9, block=b, norm="l2").prune_layer(w)
        dense = np.where(keep, w, 0).astype(np.float32)
        out["bsr%d" % b] = (formats.to_bsr(dense, b), dense)
    return out


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--opencl", action="store_true", help="also time the OpenCL backend")
    args = p.parse_args()
    size = 1024 if args.quick else 4096
    print("numpy BLAS:", blas_info())
    rng = np.random.default_rng(0)
    big = rng.standard_normal((384, 384)).astype(np.float32)
    cases = weights(size, rng)
    head = ("%-6s %-5s %4s %9s %7s %9s %9s %8s %9s %8s %9s %8s%s"
            % ("layout", "dtype", "N", "ours ms", "vs f32", "after mm", "numpy ms", "ratio",
               "after mm", "ratio", "scipy ms", "ratio", "   opencl ms" if args.opencl else ""))
    print("\n%dx%d at 90%%, ms, median of %d interleaved rounds" % (size, size, args.repeat))
    print(head)
    print("-" * len(head))
    for layout, (A32, dense32) in cases.items():
        for n in (256, 1):
            X = rng.standard_normal((size, n) if n > 1 else size).astype(np.float32)
            X2 = X.reshape(size, n)
            timed = {}
            for name, dtype in DTYPES:
                A = A32 if name == "f32" else formats.to_half(A32, dtype)
                W = dense32.astype(dtype)
                ref = W.astype(np.float64) @ X.astype(np.float64)
                assert np.allclose(ops.spmm(A, X, backend="cpu"), ref, rtol=1e-4, atol=1e-3)
                timed[name, "ours"] = (lambda A=A: ops.spmm(A, X, backend="cpu"), None)
                timed[name, "ours after"] = (timed[name, "ours"][0], lambda: big @ big)
                timed[name, "numpy"] = (lambda W=W: W.astype(np.float32, copy=False) @ X, None)
                timed[name, "numpy after"] = (timed[name, "numpy"][0], lambda: big @ big)
                timed[name, "scipy"] = (lambda A=A: A.astype(np.float32, copy=False) @ X, None)
                if args.opencl:
                    from wavesparse.opencl.ops import DeviceMatrix
                    device = DeviceMatrix(sparse_parts(A, half=True))
                    assert np.allclose(device.matmul(X2).reshape(ref.shape), ref,
                                       rtol=1e-4, atol=1e-3)
                    timed[name, "opencl"] = (lambda d=device: d.matmul(X2), None)
            t = interleaved_ms(timed, args.repeat)
            for name, _ in DTYPES:
                ours, after = t[name, "ours"], t[name, "ours after"]
                line = ("%-6s %-5s %4d %9.2f %6.2fx %9.2f %9.2f %7.2fx %9.2f %7.2fx %9.2f %7.2fx"
                        % (layout, name, n, ours, ours / t["f32", "ours"], after,
                           t[name, "numpy"], t[name, "numpy"] / ours, t[name, "numpy after"],
                           t[name, "numpy after"] / after, t[name, "scipy"],
                           t[name, "scipy"] / ours))
                if args.opencl:
                    line += " %11.2f" % t[name, "opencl"]
                print(line, flush=True)

if __name__ == "__main__":
    main()
