"""The ``wavesparse`` command line: prune, inspect, bench, devices, demo.

Every failure the user can cause (a missing or broken file, a pattern that
matches nothing, a sparsity outside [0, 1), a block that does not divide a
tensor) ends with one line on stderr and exit status 2, never a traceback.

Examples
--------
>>> from wavesparse.cli import main
>>> main(["--version"])
wavesparse 0.1.0
0
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import wavesparse
from wavesparse import formats, io, report
from wavesparse._timing import median_seconds
from wavesparse.pruning import GradualPruner, MagnitudePruner, layer_choice, registry

EXIT_USAGE = 2


class UsageError(Exception):
    """A mistake in the command's input: reported as one line, exit 2.

    Examples
    --------
    >>> from wavesparse.cli import UsageError
    >>> str(UsageError("--block applies to --layout bsr"))
    '--block applies to --layout bsr'
    """


# ------------------------------------------------------------------ helpers

def _progress(done, total, label, stream=None):
    """A one-line progress bar on stderr, drawn only on a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return
    width = 30
    filled = int(width * done / max(total, 1))
    stream.write("\r[%s%s] %d/%d %-40s" % ("#" * filled, "." * (width - filled),
                                          done, total, label[:40]))
    if done == total:
        stream.write("\r" + " " * (width + 60) + "\r")
    stream.flush()


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number in [0, 1), got %r" % text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("sparsity must be in [0, 1), got %s" % text)
    return value


def _block(text):
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError("expected a block shape RxC such as 16x16, got %r"
                                         % text)
    return tuple(parts)


def _steps(text):
    try:
        begin, end, freq = (int(p) for p in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected BEGIN:END:FREQUENCY such as 0:1000:100, "
                                         "got %r" % text)
    return begin, end, freq


def _write_json(path, payload, out):
    text = json.dumps(payload, indent=2, sort_keys=True)
    if path == "-":
        print(text, file=out)
        return
    tmp = "%s.part" % path
    try:
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _choose(tensors, include, exclude):
    """(chosen names, {name: why it stays as it is}) by pruning.layer_choice."""
    try:
        choice = layer_choice(tensors, include, exclude)
    except ValueError as exc:
        raise UsageError(str(exc).replace("include pattern", "--include pattern")
                         .replace("exclude pattern", "--exclude pattern")
                         .replace("matches include", "matches --include"))
    chosen = [name for name, why in choice.items() if why is None]
    if not chosen:
        raise UsageError("no tensor to prune: every tensor is excluded, 1-D or not float")
    return chosen, {name: why for name, why in choice.items() if why is not None}


def _pack(name, pruned, layout, block):
    """The pruned tensor in the chosen layout (sparse ones keep their shape)."""
    if layout == "dense":
        return pruned
    matrix = pruned.reshape(pruned.shape[0], -1) if pruned.ndim > 1 else pruned.reshape(1, -1)
    if layout == "csr":
        packed = formats.to_csr(matrix)
    else:
        r, c = block
        if matrix.shape[0] % r or matrix.shape[1] % c:
            raise UsageError("block %dx%d does not divide tensor %r of shape %s (as matrix %s)"
                             % (r, c, name, pruned.shape, matrix.shape))
        packed = formats.to_bsr(matrix, (r, c))
    if matrix.shape != pruned.shape:
        packed.original_shape = pruned.shape
    return packed


# ------------------------------------------------------------------ prune

def _print_schedule(args, out):
    begin, end, freq = args.steps
    try:
        g = GradualPruner(0.0, args.sparsity, begin_step=begin, end_step=end, frequency=freq)
    except ValueError as exc:
        raise UsageError("--steps: %s" % exc)
    print("Gradual schedule to %.1f%% (Zhu & Gupta cubic), steps %d..%d every %d:"
          % (100 * args.sparsity, begin, end, freq), file=out)
    for step, s in g.get_schedule():
        print("  step %7d  %6.2f%%  %s" % (step, 100 * s, "#" * int(round(40 * s))), file=out)


def _prune(args, out):
    if args.schedule:
        _print_schedule(args, out)
        if args.output is None:
            return 0
    if args.output is None:
        raise UsageError("prune needs -o OUTPUT (or --schedule alone)")
    if args.block and args.layout != "bsr" and args.method != "block":
        raise UsageError("--block applies to --layout bsr and --method block")
    _refuse_other_methods_options(args)
    for path in (args.input, args.output):
        if os.path.splitext(path)[1].lower() not in io.SUFFIXES:
            raise UsageError("%s: expected a .safetensors or .npz file" % path)
    same = os.path.exists(args.output) and os.path.samefile(args.input, args.output)
    if same and not args.force:
        raise UsageError("refusing to write over the input %s: pass --force" % args.input)
    tensors = io.load(args.input, dense=True)
    chosen, left = _choose(tensors, args.include, args.exclude)
    start = time.perf_counter()
    pruner = registry.get(args.method).from_arguments(args)
    pruner.progress = _progress
    result, _ = pruner.prune_model(tensors)  # the same include/exclude rule as _choose
    pruned = {n: result[n] for n in chosen}
    block = args.block or getattr(pruner, "block", (16, 16))
    written = {}
    rows = []
    stats = getattr(pruner, "stats", None)
    for name, value in tensors.items():
        if name in pruned:
            written[name] = _pack(name, pruned[name], args.layout, block)
            rows.append(report.tensor_row(
                name, written[name], original=value,
                calibration=None if stats is None else stats.layer(name, value.shape)))
        else:
            written[name] = value
            rows.append(report.tensor_row(name, value, note=left.get(name, "")))
    io.save(args.output, written, metadata={"wavesparse.version": wavesparse.__version__,
                                            "wavesparse.method": args.method,
                                            "wavesparse.sparsity": str(args.sparsity)})
    summary = report.totals(rows)
    pruned_rows = [r for r in rows if r["name"] in pruned]
    target = report.totals(pruned_rows)
    print("Pruned %d of %d tensors of %s: %s, target %.1f%%, layout %s%s (%.1f s)"
          % (len(chosen), len(tensors), args.input, _method_label(args),
             100 * args.sparsity, args.layout,
             " %dx%d" % block if args.layout == "bsr" else "",
             time.perf_counter() - start), file=out)
    print(report.format_table(rows, summary), file=out)
    print("out err: ||W x - W' x|| / ||W x|| over %s" % (
        "random normal x" if stats is None else "the inputs recorded in %s%s" % (
            args.calibration, "" if all(stats.has_gram(n) for n in chosen)
            else " (feature by feature where a tensor has no Gram matrix)")), file=out)
    print("Pruned tensors: %.2f%% zeros; file: %s -> %s (%.2fx smaller)"
          % (100 * target["sparsity"], report.human_bytes(summary["dense_bytes"]),
             report.human_bytes(summary["stored_bytes"]), summary["compression"]), file=out)
    if left:
        kinds = sorted(set(left.values()))
        print("Left as they were: %d tensors (%s)" % (len(left), ", ".join(kinds)), file=out)
    print("Wrote %s" % args.output, file=out)
    if args.json:
        _write_json(args.json, {"input": args.input, "output": args.output,
                                "method": args.method, "options": _method_options(args),
                                "target_sparsity": args.sparsity, "layout": args.layout,
                                "tensors": rows, "totals": summary,
                                "pruned_totals": target}, out)
    return 0


def _method_options(args):
    """{option dest: value} of the chosen method's own command-line options."""
    return {dest: getattr(args, dest) for dest in _METHOD_OPTIONS.get(args.method, ())}


def _method_label(args):
    """The method and its own options, for the report's first line."""
    options = ", ".join("%s %s" % (dest.replace("_", "-"), value)
                        for dest, value in _method_options(args).items() if value is not None)
    return "%s (%s)" % (args.method, options) if options else args.method


def _refuse_other_methods_options(args):
    """An option of another method than the chosen one is a usage error."""
    own = set(_METHOD_OPTIONS.get(args.method, ()))
    for dests in _METHOD_OPTIONS.values():
        for dest in set(dests) - own:
            if getattr(args, dest) != _METHOD_DEFAULTS[dest]:
                methods = [m for m, d in _METHOD_OPTIONS.items() if dest in d]
                raise UsageError("--%s applies to --method %s"
                                 % (dest.replace("_", "-"), " and ".join(methods)))


# ------------------------------------------------------------------ inspect

def _inspect(args, out):
    tensors = io.load(args.file)
    rows = [report.tensor_row(name, value) for name, value in tensors.items()]
    summary = report.totals(rows)
    print("%s: %d tensors" % (args.file, len(rows)), file=out)
    print(report.format_table(rows, summary), file=out)
    if args.json:
        _write_json(args.json, {"file": args.file, "tensors": rows, "totals": summary}, out)
    if args.plot:
        _plot_inspect(args.plot, tensors, rows)
        print("Wrote %s" % args.plot, file=out)
    return 0


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'wavesparse[plot]'")
    return plt


def _plot_inspect(path, tensors, rows):
    plt = _pyplot()
    matrices = [r for r in rows if len(r["shape"]) >= 2]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, max(4, 0.18 * len(matrices) + 1)))
    left.barh([r["name"] for r in matrices], [100 * r["sparsity"] for r in matrices])
    left.invert_yaxis()
    left.set_xlabel("sparsity (%)")
    left.set_xlim(0, 100)
    left.tick_params(axis="y", labelsize=6)
    largest = max(matrices or rows, key=lambda r: r["total"])
    value = io.to_dense(tensors[largest["name"]])
    value = value.reshape(value.shape[0], -1) if value.ndim > 1 else value.reshape(1, -1)
    step = max(1, max(value.shape) // 1000)
    right.imshow(value[::step, ::step] != 0, aspect="auto", cmap="Greys", interpolation="nearest")
    right.set_title("nonzeros of %s %s (every %d)" % (largest["name"], largest["shape"], step),
                    fontsize=8)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)


def _save_figure(fig, path):
    tmp = "%s.part%s" % (path, os.path.splitext(path)[1])
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# ------------------------------------------------------------------ bench

def _bench(args, out):
    import scipy.sparse as sp
    from wavesparse import ops
    n, s, repeat = args.size, args.sparsity, args.repeat
    rng = np.random.default_rng(0)
    w = rng.standard_normal((n, n)).astype(np.float32)
    k = int(round(s * w.size))
    pruned, _ = MagnitudePruner(s).prune_layer(w)
    A = formats.to_csr(pruned)
    X = rng.standard_normal((n, args.columns)).astype(np.float32)
    cases = [
        ("threshold of %d float32" % w.size, lambda: ops.kth_magnitude(w, k),
         "np.partition(|w|)", lambda: np.partition(np.abs(w).ravel(), k)),
        ("%dx%d at %.0f%% -> CSR" % (n, n, 100 * s), lambda: formats.to_csr(pruned),
         "scipy csr_array", lambda: sp.csr_array(pruned)),
        ("%dx%d -> BSR 16x16" % (n, n), lambda: formats.to_bsr(pruned, 16),
         "scipy bsr_array", lambda: sp.bsr_array(pruned, blocksize=(16, 16))),
        ("CSR x dense, N=%d" % args.columns, lambda: ops.spmm(A, X, backend="cpu"),
         "scipy CSR @", lambda: A @ X),
        ("CSR x dense, N=%d" % args.columns, lambda: ops.spmm(A, X, backend="cpu"),
         "dense numpy @", lambda: pruned @ X),
    ]
    rows = []
    for i, (name, ours, peer, theirs) in enumerate(cases):
        _progress(i, len(cases), name)
        t_ours, t_peer = median_seconds(ours, repeat), median_seconds(theirs, repeat)
        rows.append((name, t_ours, peer, t_peer))
    _progress(len(cases), len(cases), "done")
    print("Benchmarks, median of %d runs (ratio = peer / ours)" % repeat, file=out)
    print("%-30s %10s  %-18s %10s %8s" % ("case", "ours ms", "peer", "peer ms", "ratio"),
          file=out)
    for name, t_ours, peer, t_peer in rows:
        print("%-30s %10.2f  %-18s %10.2f %7.2fx" % (name, 1e3 * t_ours, peer, 1e3 * t_peer,
                                                      t_peer / t_ours), file=out)
    if args.plot:
        levels = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98]
        ours_t, dense_t = [], []
        for level in levels:
            p, _ = MagnitudePruner(level).prune_layer(w)
            M = formats.to_csr(p)
            ours_t.append(median_seconds(lambda: ops.spmm(M, X, backend="cpu"), repeat))
            dense_t.append(median_seconds(lambda: p @ X, repeat))
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([100 * v for v in levels], [1e3 * t for t in ours_t], "o-", label="wavesparse CSR")
        ax.plot([100 * v for v in levels], [1e3 * t for t in dense_t], "s--", label="dense numpy @")
        ax.set_xlabel("sparsity (%)")
        ax.set_ylabel("ms, %dx%d times %dx%d" % (n, n, n, args.columns))
        ax.legend()
        fig.tight_layout()
        _save_figure(fig, args.plot)
        plt.close(fig)
        print("Wrote %s" % args.plot, file=out)
    return 0


# ------------------------------------------------------------------ devices

def _devices(args, out):
    from wavesparse import opencl
    from wavesparse.errors import OpenCLUnavailable
    try:
        found = opencl.devices()
    except OpenCLUnavailable as exc:
        print("No OpenCL: %s" % exc, file=out)
        print("The CPU backend (C with %d OpenMP thread(s)) is used." % _cpu_threads(), file=out)
        return 0
    if not found:
        print("No OpenCL device: %s" % opencl.available()[1], file=out)
        return 0
    rows = []
    for i, d in enumerate(found):
        rows.append([str(i), d.platform.name, d.board_name or d.name, d.type, d.version,
                     d.driver_version, str(d.compute_units), str(d.max_work_group_size),
                     report.human_bytes(d.local_mem_bytes),
                     report.human_bytes(d.global_mem_bytes),
                     str(d.wavefront_width) if d.wavefront_width else "n/a",
                     "yes" if d.has_fp64 else "no"])
    headers = ["#", "platform", "device", "type", "OpenCL", "driver", "CUs", "max WG",
               "local mem", "global mem", "wavefront", "fp64"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)
    print("\nChosen device: %s" % opencl.available()[1], file=out)
    return 0


def _cpu_threads():
    from wavesparse import _select
    return _select.max_threads()


# ------------------------------------------------------------------ parser

class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported on one line of stderr."""

    def error(self, message):
        self.exit(EXIT_USAGE, "%s: error: %s (see %s --help)\n"
                  % (self.prog, message, self.prog))


#: The options each registered method adds: {method: [dest, ...]}, and their defaults.
_METHOD_OPTIONS = {}
_METHOD_DEFAULTS = {}


class _MethodGroup:
    """The argument group of one method; an option that an earlier method
    declared already (``--calibration`` of wanda and sparsegpt) is shared."""

    def __init__(self, parser, method):
        self.parser, self.method = parser, method
        self.group = parser.add_argument_group("options of --method %s" % method)
        self.dests = []

    def add_argument(self, *flags, **kwargs):
        existing = {o: a for a in self.parser._actions for o in a.option_strings}
        if flags[0] in existing:
            self.dests.append(existing[flags[0]].dest)
            return existing[flags[0]]
        action = self.group.add_argument(*flags, **kwargs)
        self.dests.append(action.dest)
        _METHOD_DEFAULTS[action.dest] = action.default
        return action


def _add_method_options(parser):
    """One argument group per registered pruner, holding its own options."""
    for name in registry.names():
        group = _MethodGroup(parser, name)
        registry.get(name).add_arguments(group)
        _METHOD_OPTIONS[name] = group.dests


def build_parser():
    """The argument parser of every command.

    Examples
    --------
    >>> from wavesparse.cli import build_parser
    >>> build_parser().parse_args(["prune", "in.npz", "-o", "out.npz"]).sparsity
    0.5
    """
    parser = _Parser(
        prog="wavesparse",
        description="Prune neural-network weights and run sparse networks fast on the "
                    "CPU and OpenCL GPUs.")
    parser.add_argument("--version", action="version",
                        version="wavesparse %s" % wavesparse.__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("prune", help="prune a checkpoint (.safetensors or .npz)",
                       description="Prune a checkpoint and report what it did. By default "
                                   "every floating tensor of rank >= 2 is pruned; 1-D tensors "
                                   "(biases, norms) and non-float tensors stay as they are.")
    p.add_argument("input", help="checkpoint to read (.safetensors or .npz)")
    p.add_argument("-o", "--output", help="checkpoint to write (.safetensors or .npz)")
    p.add_argument("--sparsity", type=_fraction, default=0.5,
                   help="fraction of weights (or channels) to remove, in [0, 1); default 0.5")
    p.add_argument("--method", choices=registry.names(), default="magnitude",
                   help="; ".join("%s: %s" % (name, registry.get(name).summary)
                                  for name in registry.names()))
    _add_method_options(p)
    p.add_argument("--include", action="append", metavar="GLOB",
                   help="prune only tensors whose name matches (repeatable)")
    p.add_argument("--exclude", action="append", metavar="GLOB",
                   help="never prune tensors whose name matches (repeatable)")
    p.add_argument("--layout", choices=["dense", "csr", "bsr"], default="dense",
                   help="how pruned tensors are stored (see wavesparse.io)")
    p.add_argument("--block", type=_block, metavar="RxC",
                   help="block shape: of the BSR layout (default 16x16), and of "
                        "--method block (default 64x64)")
    p.add_argument("--schedule", action="store_true",
                   help="print the gradual schedule that reaches --sparsity")
    p.add_argument("--steps", type=_steps, default=(0, 1000, 100), metavar="B:E:F",
                   help="schedule steps begin:end:frequency (default 0:1000:100)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON ('-': stdout)")
    p.add_argument("--force", action="store_true", help="allow writing over the input file")
    p.set_defaults(run=_prune)

    p = sub.add_parser("inspect", help="report the tensors of a checkpoint, dense or sparse")
    p.add_argument("file")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON ('-': stdout)")
    p.add_argument("--plot", metavar="PNG", help="draw per-tensor sparsity and the pattern of "
                                                "the largest tensor (needs matplotlib)")
    p.set_defaults(run=_inspect)

    p = sub.add_parser("bench", help="time threshold, conversion and products vs peers")
    p.add_argument("--size", type=int, default=2048, help="matrix edge (default 2048)")
    p.add_argument("--sparsity", type=_fraction, default=0.9)
    p.add_argument("--columns", type=int, default=64, help="columns of the dense operand")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--plot", metavar="PNG", help="plot product time against sparsity")
    p.set_defaults(run=_bench)

    p = sub.add_parser("devices", help="list OpenCL platforms and devices (or why there are none)")
    p.set_defaults(run=_devices)

    p = sub.add_parser("demo", help="the five demos on built-in data, in under a minute")
    p.set_defaults(run=lambda args, out: __import__("wavesparse.demo").demo.run(out))
    return parser


def main(argv=None, out=None):
    """Runs the command line; returns the exit status.

    Examples
    --------
    >>> from wavesparse.cli import main
    >>> main(["prune", "missing.npz", "-o", "out.npz"])
    2
    """
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "command", None):
        parser.print_help(out)
        return 0
    try:
        return args.run(args, out)
    except (UsageError, io.CheckpointError, ValueError, MemoryError) as exc:
        print("wavesparse %s: error: %s" % (args.command, exc), file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print("wavesparse %s: error: %s" % (args.command, exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("wavesparse %s: interrupted; no partial file was left" % args.command,
              file=sys.stderr)
        return 130
