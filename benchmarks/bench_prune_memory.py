"""Peak memory of ``wavesparse prune`` on one large tensor, in multiples of it.

python benchmarks/bench_prune_memory.py [--mib 256] [--layout dense] [--suffix .safetensors]

Each run is a fresh process started from this small one (which imports no
numpy); its peak resident memory comes from ``wait4``.  The peak of the same
command on a 4 KiB checkpoint (interpreter, numpy, scipy, wavesparse) is
subtracted, and what is left is divided by the tensor's bytes.  The peer is
the plain numpy way, in the same conditions: load, ``np.partition`` of
``|w|`` for the threshold, ``np.where``, save.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap

# This process stays small (no numpy here): a child's peak resident memory
# counts the image it was forked from.
MAKE = textwrap.dedent("""
    import sys, numpy as np
    from wavesparse import io
    big, small, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    w = np.random.default_rng(0).standard_normal((rows, 4096), dtype=np.float32)
    io.save(big, {"w": w, "b": np.ones(rows, np.float32)})
    io.save(small, {"w": w[:16, :64].copy(), "b": np.ones(16, np.float32)})
""")

PEER = textwrap.dedent("""
    import sys, numpy as np
    from wavesparse import io
    src, dst = sys.argv[1], sys.argv[2]
    tensors = io.load(src)
    for name, w in tensors.items():
        if w.ndim >= 2:
            k = int(round(0.5 * w.size))
            t = np.partition(np.abs(w).ravel(), k)[k]
            tensors[name] = np.where(np.abs(w) >= t, w, 0).astype(w.dtype)
    io.save(dst, tensors)
""")


def peak_mib(command):
    """Peak resident memory (MiB) of one child process running ``command``."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    err = child.stderr.read().decode()
    child.stderr.close()
    if child.returncode:
        raise SystemExit("%s failed: %s" % (" ".join(command), err))
    return usage.ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mib", type=int, default=256, help="size of the large tensor (MiB)")
    p.add_argument("--layout", default="dense", choices=["dense", "csr", "bsr"])
    p.add_argument("--suffix", default=".safetensors", choices=[".safetensors", ".npz"])
    args = p.parse_args()
    rows = args.mib * (1 << 20) // 4 // 4096
    folder = tempfile.mkdtemp()
    big = os.path.join(folder, "big" + args.suffix)
    small = os.path.join(folder, "small" + args.suffix)
    subprocess.run([sys.executable, "-c", MAKE, big, small, str(rows)], check=True)
    tensor_mib = rows * 4096 * 4 / (1 << 20)
    cli = [sys.executable, "-m", "wavesparse", "prune", "--sparsity", "0.5",
           "--layout", args.layout]
    base = peak_mib(cli + [small, "-o", os.path.join(folder, "o" + args.suffix)])
    ours = peak_mib(cli + [big, "-o", os.path.join(folder, "o" + args.suffix)])
    peer_out = os.path.join(folder, "p" + args.suffix)
    peer_base = peak_mib([sys.executable, "-c", PEER, small, peer_out])
    peer = peak_mib([sys.executable, "-c", PEER, big, peer_out])
    print("Peak memory of pruning one %.0f MiB float32 tensor (%dx4096) to 50%%, %s -> %s"
          % (tensor_mib, rows, args.suffix, args.layout))
    print("%-34s %10s %10s %14s" % ("command", "peak MiB", "base MiB", "x the tensor"))
    for name, peak, floor in (("wavesparse prune", ours, base),
                              ("numpy partition + where (peer)", peer, peer_base)):
        print("%-34s %10.0f %10.0f %13.2fx" % (name, peak, floor, (peak - floor) / tensor_mib))
    print("ratio peer / ours (above the base): %.2fx" % ((peer - peer_base) / (ours - base)))
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    os.rmdir(folder)


if __name__ == "__main__":
    main()
