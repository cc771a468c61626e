"""Global magnitude pruning of a sharded bfloat16 checkpoint, against the peers.

Generates a sharded bfloat16 checkpoint with the tensor shapes of a
Llama-style model (Llama 3.2 1B at ``--size 2.47``: hidden 2048, MLP 8192,
grouped KV 512, vocabulary 128256, 16 layers, the head tied to the
embedding as in that checkpoint; other sizes scale the widths by the square
root of the ratio), then prunes it globally to each sparsity:

- ours: ``wavesparse prune DIR -o OUT --scope global`` (streaming);
- numpy: load every shard (safetensors.numpy), concatenate the float32
  magnitudes, ``np.partition``, threshold, save each shard;
- torch (when installed): load, ``torch.cat`` of the magnitudes, ``kthvalue``,
  threshold, save;
- ``cp -r`` of the same folder, the floor for reading and writing it once.

Each case runs in its own process and reports its wall time, CPU time
(user + system) and peak RSS (``resource.getrusage``).  The page cache is warm after the first case, so
all cases read from memory; timings on a shared machine are noisy.

Run: ``python benchmarks/bench_checkpoint.py --size 0.25 --sparsity 0.5 0.7``
"""

import argparse
import importlib.util
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import ml_dtypes
import numpy as np

BF16 = np.dtype(ml_dtypes.bfloat16)
FULL_GB = 2.47  # Llama 3.2 1B in bfloat16 (1.24B parameters, tied head)


def llama_shapes(size_gb):
    """{name: shape} of a Llama-style model of about ``size_gb`` GB in bfloat16."""
    f = math.sqrt(size_gb / FULL_GB)
    h = max(64, int(round(2048 * f / 64)) * 64)
    inter, kv = 4 * h, h // 4
    vocab = max(256, int(round(128256 * f / 64)) * 64)
    shapes = {"model.embed_tokens.weight": (vocab, h)}
    for i in range(16):
        p = "model.layers.%d." % i
        shapes.update({p + "self_attn.q_proj.weight": (h, h), p + "self_attn.k_proj.weight": (kv, h),
                       p + "self_attn.v_proj.weight": (kv, h), p + "self_attn.o_proj.weight": (h, h),
                       p + "mlp.gate_proj.weight": (inter, h), p + "mlp.up_proj.weight": (inter, h),
                       p + "mlp.down_proj.weight": (h, inter),
                       p + "input_layernorm.weight": (h,),
                       p + "post_attention_layernorm.weight": (h,)})
    shapes["model.norm.weight"] = (h,)
    return shapes


def generate(folder, size_gb, n_shards=4, seed=0):
    """Writes the checkpoint in ``n_shards`` shards of about equal size."""
    from wavesparse import shards
    shapes = llama_shapes(size_gb)
    total = sum(2 * math.prod(s) for s in shapes.values())
    rng = np.random.default_rng(seed)
    groups, current, filled = [], [], 0
    for name, shape in shapes.items():
        current.append((name, shape))
        filled += 2 * math.prod(shape)
        if filled >= total * (len(groups) + 1) / n_shards and len(groups) < n_shards - 1:
            groups.append(current)
            current = []
    groups.append(current)

    def tensors(group):
        for name, shape in group:
            yield name, (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(BF16)

    weight_map, written = {}, 0
    os.makedirs(folder, exist_ok=True)
    for i, group in enumerate(groups):
        shard = "model-%05d-of-%05d.safetensors" % (i + 1, len(groups))
        written += shards.write_shard(os.path.join(folder, shard), tensors(group),
                                      [n for n, _ in group])
        weight_map.update(dict.fromkeys([n for n, _ in group], shard))
    shards._write_index(os.path.join(folder, shards.INDEX_NAME), weight_map, written)
    return written


def chosen(name, array):
    return array.ndim >= 2


def peer_numpy(src, dst, sparsity):
    from safetensors.numpy import load_file, save_file
    index = json.load(open(os.path.join(src, "model.safetensors.index.json")))
    files = sorted(set(index["weight_map"].values()))
    loaded = {f: load_file(os.path.join(src, f)) for f in files}
    flat = np.concatenate([np.abs(a.astype(np.float32)).ravel()
                           for part in loaded.values() for n, a in part.items() if chosen(n, a)])
    k = int(round(sparsity * flat.size))
    t = np.partition(flat, k - 1)[k - 1]
    del flat
    os.makedirs(dst, exist_ok=True)
    for f, part in loaded.items():
        out = {n: (np.where(np.abs(a.astype(np.float32)) > t, a, BF16.type(0)) if chosen(n, a) else a)
               for n, a in part.items()}
        save_file(out, os.path.join(dst, f))
    shutil.copy(os.path.join(src, "model.safetensors.index.json"), dst)


def peer_torch(src, dst, sparsity):
    import torch
    from safetensors.torch import load_file, save_file
    index = json.load(open(os.path.join(src, "model.safetensors.index.json")))
    files = sorted(set(index["weight_map"].values()))
    loaded = {f: load_file(os.path.join(src, f)) for f in files}
    flat = torch.cat([a.abs().flatten().float() for part in loaded.values()
                      for a in part.values() if a.dim() >= 2])
    k = int(round(sparsity * flat.numel()))
    t = flat.kthvalue(k).values
    del flat
    os.makedirs(dst, exist_ok=True)
    for f, part in loaded.items():
        out = {n: (torch.where(a.abs().float() > t, a, torch.zeros((), dtype=a.dtype))
                   if a.dim() >= 2 else a) for n, a in part.items()}
        save_file(out, os.path.join(dst, f))
    shutil.copy(os.path.join(src, "model.safetensors.index.json"), dst)


def run_case(case, src, dst, sparsity):
    """Runs one case in this process; prints its seconds and peak RSS as JSON."""
    start = time.perf_counter()
    if case == "generate":
        print(json.dumps({"bytes": generate(dst, sparsity)}))
        return
    if case == "ours":
        from wavesparse.cli import main
        with open(os.devnull, "w") as null:
            status = main(["prune", src, "-o", dst, "--scope", "global",
                           "--sparsity", str(sparsity)], out=null)
        assert status == 0
    elif case == "numpy":
        peer_numpy(src, dst, sparsity)
    elif case == "torch":
        peer_torch(src, dst, sparsity)
    elif case == "cp":
        subprocess.run(["cp", "-r", src, dst], check=True)
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    print(json.dumps({"seconds": seconds, "cpu": cpu,
                      "peak_rss": max(own.ru_maxrss, children.ru_maxrss) * 1024}))


def measure(case, src, dst, sparsity):
    """One case in a fresh process (Linux keeps a peak RSS across exec, so the
    parent stays small: it never holds the model)."""
    os.sync()  # the last case's dirty pages written back: no case waits on another's
    done = subprocess.run([sys.executable, __file__, "--case", case, "--src", src, "--dst", dst,
                           "--sparsity", str(sparsity)], capture_output=True, text=True)
    if case != "generate":
        shutil.rmtree(dst, ignore_errors=True)
    if done.returncode:
        return None, done.stderr.strip().splitlines()[-1]
    return json.loads(done.stdout.strip().splitlines()[-1]), None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=float, default=0.25, help="checkpoint size in GB (default 0.25)")
    p.add_argument("--sparsity", type=float, nargs="+", default=[0.5, 0.7])
    p.add_argument("--peers", action=argparse.BooleanOptionalAction, default=True,
                   help="also time the numpy (and torch) peers")
    p.add_argument("--dir", help="where to write the checkpoint (default: a temporary folder)")
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--src", help=argparse.SUPPRESS)
    p.add_argument("--dst", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.case:
        return run_case(args.case, args.src, args.dst, args.sparsity[0])
    work = tempfile.mkdtemp(dir=args.dir)
    try:
        src = os.path.join(work, "model")
        start = time.perf_counter()
        generated, error = measure("generate", src, src, args.size)
        if generated is None:
            sys.exit("generating the checkpoint failed: %s" % error)
        nbytes = generated["bytes"]
        print("checkpoint: %.3f GB bfloat16, %d tensors, 4 shards (generated in %.1f s)"
              % (nbytes / 1e9, len(llama_shapes(args.size)), time.perf_counter() - start))
        # find_spec, not import: torch in this process would raise the
        # children's peak RSS, which starts from the parent's at fork.
        peers = ["numpy", "torch"] if importlib.util.find_spec("torch") else ["numpy"]
        if len(peers) == 1:
            print("torch is not installed: its peer is skipped")
        header = "%-8s %-7s %9s %8s %8s %12s" % ("sparsity", "case", "seconds", "GB/s",
                                                 "CPU s", "peak RSS")
        print(header + "\n" + "-" * len(header))
        result, _ = measure("cp", src, os.path.join(work, "copy"), 0.5)
        print("%-8s %-7s %9.2f %8.2f %8.2f %8.0f MiB" % (
            "-", "cp -r", result["seconds"], nbytes / 1e9 / result["seconds"],
            result["cpu"], result["peak_rss"] / 2**20))
        for sparsity in args.sparsity:
            for case in ["ours"] + (peers if args.peers else []):
                result, error = measure(case, src, os.path.join(work, "out"), sparsity)
                if result is None:
                    print("%-8s %-7s failed: %s" % (sparsity, case, error))
                    continue
                print("%-8s %-7s %9.2f %8.2f %8.2f %8.0f MiB" % (
                    sparsity, case, result["seconds"], nbytes / 1e9 / result["seconds"],
                    result["cpu"], result["peak_rss"] / 2**20))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
