"""SparseGPT on one layer: ours against the same algorithm written plainly in numpy.

The peer follows the paper's pseudocode as a direct numpy translation would:
float32 weights, H^-1 by np.linalg.inv and its Cholesky factor, each block's
mask by sorting its saliencies, then column by column a rank-1 update of the
rest of the block, and the block's errors to the later columns as one
product.  Ours factorises once (Cholesky of the flipped H, a triangular
inverse), eliminates columns in sub-blocks of 16 so the rank-1 updates touch
a small, contiguous slab (columns of W stored as rows), and reaches the rest
of the block by products.  Both prune 50% per layer with blocks of 128.

Peak memory is measured by tracemalloc (numpy reports its buffers to it) in a
separate, untimed run.

python benchmarks/bench_sparsegpt.py [--quick] [--repeat N]
"""

import time
import tracemalloc

import numpy as np

from _harness import blas_info, median_seconds, parser, print_table
from wavesparse.pruning.sparsegpt import sparsegpt


def plain_sparsegpt(w, gram, sparsity, block=128, damp=0.01):
    """The peer: the algorithm as plainly written in numpy."""
    w = w.astype(np.float32).copy()
    rows, n = w.shape
    h = gram + damp * np.mean(np.diag(gram)) * np.eye(n)
    u = np.linalg.cholesky(np.linalg.inv(h)).T.astype(np.float32)
    mask = np.zeros(w.shape, bool)  # True = pruned
    for i in range(0, n, block):
        end = min(i + block, n)
        w1 = w[:, i:end].copy()
        u1 = u[i:end, i:end]
        saliency = w1 ** 2 / np.diag(u1)[None, :] ** 2
        threshold = np.sort(saliency.ravel())[int(saliency.size * sparsity)]
        m1 = saliency < threshold
        err = np.zeros_like(w1)
        for j in range(end - i):
            e = np.where(m1[:, j], w1[:, j], 0) / u1[j, j]
            w1[:, j:] -= np.outer(e, u1[j, j:])
            err[:, j] = e
        w1[m1] = 0
        w[:, i:end] = w1
        mask[:, i:end] = m1
        w[:, end:] -= err @ u[i:end, end:]
    return w, ~mask


def cpu_seconds(fn):
    """Processor time of one run (all threads): less sensitive than wall time
    to other programs sharing the machine."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def peak_mib(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main():
    p = parser(__doc__)
    p.set_defaults(repeat=3)
    args = p.parse_args()
    n = 1024 if args.quick else 4096
    rng = np.random.default_rng(0)
    w = rng.standard_normal((n, n)).astype(np.float32)
    x = rng.standard_normal((2 * n, n)).astype(np.float32)
    start = time.perf_counter()
    gram = (x.T @ x).astype(np.float64)  # the statistics' float64 Gram matrix
    print("Gram of %d x %d inputs: %.1f s; BLAS: %s" % (2 * n, n, time.perf_counter() - start,
                                                        blas_info()))
    ours_w, ours_mask = sparsegpt(w, gram, 0.5)
    peer_w, peer_mask = plain_sparsegpt(w, gram, 0.5)
    xs = x[:512].astype(np.float64)
    for label, p_w in (("ours", ours_w), ("peer", peer_w)):
        err = np.linalg.norm(xs @ (w - p_w).T) / np.linalg.norm(xs @ w.T)
        print("%s: %.4f%% pruned, output error on 512 calibration rows %.4f"
              % (label, 100 * (p_w == 0).mean(), err))
    print("masks agree on %.4f%% of weights" % (100 * (ours_mask == peer_mask).mean()))
    t_ours = median_seconds(lambda: sparsegpt(w, gram, 0.5), args.repeat)
    t_peer = median_seconds(lambda: plain_sparsegpt(w, gram, 0.5), args.repeat)
    print_table("SparseGPT, %dx%d float32 layer, 50%%, blocks of 128 (median of %d; "
                "ratio = peer / ours)" % (n, n, args.repeat),
                [{"case": "sparsegpt %dx%d" % (n, n), "ours": t_ours,
                  "peer": "plain numpy", "peer_s": t_peer}])
    print("processor time of one run (all threads): ours %.1f s, peer %.1f s"
          % (cpu_seconds(lambda: sparsegpt(w, gram, 0.5)),
             cpu_seconds(lambda: plain_sparsegpt(w, gram, 0.5))))
    mib = lambda b: b / 2**20
    print("\nmemory: the inputs, weights %.0f MiB float32 and Gram %.0f MiB float64; peak "
          "of what each allocates on top (tracemalloc): ours %.0f MiB, peer %.0f MiB"
          % (mib(w.nbytes), mib(gram.nbytes), peak_mib(lambda: sparsegpt(w, gram, 0.5)),
             peak_mib(lambda: plain_sparsegpt(w, gram, 0.5))))


if __name__ == "__main__":
    main()
