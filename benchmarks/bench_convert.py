"""Dense to CSR and to BSR: ours against scipy.sparse's constructors.

python benchmarks/bench_convert.py [--quick]
"""

import numpy as np
import scipy.sparse as sp

from _harness import median_seconds, parser, print_table
from wavesparse import formats


def main():
    args = parser(__doc__).parse_args()
    n = 1024 if args.quick else 4096
    rng = np.random.default_rng(0)
    dense = rng.standard_normal((n, n)).astype(np.float32)
    dense[rng.random(dense.shape) < 0.9] = 0
    blocky = (rng.standard_normal((n, n)) * np.kron(rng.random((n // 16, n // 16)) < 0.1,
                                                   np.ones((16, 16)))).astype(np.float32)
    rows = [{"case": "%dx%d f32 90%% -> CSR" % (n, n),
             "ours": median_seconds(lambda: formats.to_csr(dense), args.repeat),
             "peer": "scipy csr_array(dense)",
             "peer_s": median_seconds(lambda: sp.csr_array(dense), args.repeat)},
            {"case": "%dx%d f32 90%% -> CSR, |w|>=0.5" % (n, n),
             "ours": median_seconds(lambda: formats.to_csr(dense, threshold=0.5), args.repeat),
             "peer": "np.where + csr_array",
             "peer_s": median_seconds(lambda: sp.csr_array(
                 np.where(np.abs(dense) >= 0.5, dense, 0)), args.repeat)}]
    for name, m in (("90% elementwise", dense), ("90% of 16x16 blocks", blocky)):
        rows.append({"case": "%dx%d %s -> BSR 16" % (n, n, name),
                     "ours": median_seconds(lambda: formats.to_bsr(m, 16), args.repeat),
                     "peer": "scipy bsr_array(dense)",
                     "peer_s": median_seconds(lambda: sp.bsr_array(m, blocksize=(16, 16)),
                                              args.repeat)})
    print_table("Dense to sparse (median of %d)" % args.repeat, rows)


if __name__ == "__main__":
    main()
