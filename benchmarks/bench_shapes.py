"""Products at MiniLM's real shapes against dense BLAS, in one run.

384x384, 1536x384 and 384x1536 weights at 90% (CSR, magnitude) and 90% of
32x32 blocks (BSR), times 1, 128 and 4096 token columns: ours
(``ops.spmm`` on a C-ordered (in, tokens) operand, the runtime's layout)
against ``W @ X`` with numpy's BLAS; then the same product right after a
numpy matmul (OpenBLAS's workers still spinning), and through
``SparseLinear`` on token-major input (``layer(x)``, x of shape (tokens, in))
against ``x @ W.T``.  Ratio = BLAS time / ours (above 1: ours is faster).

python benchmarks/bench_shapes.py [--repeat N] [--quick]
"""

import numpy as np

from wavesparse import formats
from wavesparse.layers import SparseLinear
from wavesparse.ops import spmm
from wavesparse.pruning import BlockPruner, MagnitudePruner

from _harness import blas_info, median_ms as timed, parser

SHAPES = [(384, 384), (1536, 384), (384, 1536)]


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    print(blas_info())
    rng = np.random.default_rng(0)
    big = rng.standard_normal((384, 384)).astype(np.float32)
    columns = [1, 128] if args.quick else [1, 128, 4096]
    print("%-11s %-9s %6s %10s %10s %8s %12s %8s %14s %8s" % (
        "shape", "layout", "n", "ours ms", "BLAS ms", "ratio", "after matmul", "ratio",
        "SparseLinear", "ratio"))
    for shape in SHAPES:
        w = rng.standard_normal(shape).astype(np.float32)
        csr, _ = MagnitudePruner(0.9).prune_layer(w)
        _, keep = BlockPruner(0.9, block=32, norm="l2").prune_layer(w)
        for layout, A, dense in (("CSR 90%", formats.to_csr(csr), csr),
                                 ("BSR32 90%", formats.to_bsr(np.where(keep, w, 0), 32),
                                  np.where(keep, w, 0).astype(np.float32))):
            layer = SparseLinear(A, backend="cpu")
            for n in columns:
                x = rng.standard_normal((shape[1], n)).astype(np.float32)
                tokens = np.ascontiguousarray(x.T)
                repeat = args.repeat if n < 4096 else max(3, args.repeat // 3)
                ours = timed(lambda: spmm(A, x, backend="cpu"), repeat)
                blas = timed(lambda: dense @ x, repeat)
                ours_after = timed(lambda: spmm(A, x, backend="cpu"), repeat, lambda: big @ big)
                blas_after = timed(lambda: dense @ x, repeat, lambda: big @ big)
                lin = timed(lambda: layer(tokens), repeat)
                lin_blas = timed(lambda: tokens @ dense.T, repeat)
                print("%-11s %-9s %6d %10.3f %10.3f %7.2fx %12.3f %7.2fx %14.3f %7.2fx" % (
                    "%dx%d" % shape, layout, n, ours, blas, blas / ours, ours_after,
                    blas_after / ours_after, lin, lin_blas / lin), flush=True)


if __name__ == "__main__":
    main()
