"""The ``wavesparse`` command line: prune, sensitivity, inspect, advise, bench,
devices, demo, clean.

Every failure the user can cause (a missing or broken file, a pattern that
matches nothing, a sparsity outside [0, 1), a block that does not divide a
tensor) ends with one line on stderr and exit status 2, never a traceback.
Ctrl-C (exit 130) and SIGTERM (exit 143) remove the file being written; a
reader that stops early (``| head``) ends the output quietly.

Examples
--------
>>> from wavesparse.cli import main
>>> main(["--version"])
wavesparse 0.1.0
0
"""

import argparse
import glob
import json
import os
import signal
import sys
import threading
import time

import numpy as np

import wavesparse
from wavesparse import _files, formats, io, report, shards
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


#: The most lines ``--schedule`` prints.
MAX_SCHEDULE_STEPS = 10000


def _steps(text):
    try:
        begin, end, freq = (int(p) for p in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected BEGIN:END:FREQUENCY such as 0:1000:100, "
                                         "got %r" % text)
    if freq >= 1 and end > begin and (end - begin) // freq + 1 > MAX_SCHEDULE_STEPS:
        raise argparse.ArgumentTypeError(
            "%r has %d pruning steps; at most %d are printed: raise FREQUENCY"
            % (text, (end - begin) // freq + 1, MAX_SCHEDULE_STEPS))
    return begin, end, freq


def _positive(text, least=1):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer >= %d, got %r" % (least, text))
    if value < least:
        raise argparse.ArgumentTypeError("must be at least %d, got %d" % (least, value))
    return value


def _bench_size(text):
    value = _positive(text, 16)
    if value % 16:
        raise argparse.ArgumentTypeError("must be a multiple of 16 (the BSR case's block), "
                                         "got %d" % value)
    return value


def _same_file(a, b):
    """Whether paths ``a`` and ``b`` name one file (existing or not)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _refuse_json_over(args, inputs, outputs=()):
    """``--json`` must not replace a checkpoint read or written by the command."""
    if not args.json or args.json == "-":
        return
    for path in outputs:
        if _same_file(args.json, path):
            raise UsageError("refusing to write the JSON report over the output %s" % path)
    for path in inputs:
        if _same_file(args.json, path) and not getattr(args, "force", False):
            raise UsageError("refusing to write the JSON report over the input %s%s"
                             % (path, ": pass --force" if hasattr(args, "force") else ""))


def _report_stream(args, out):
    """Where the text report goes: stderr when the JSON report takes stdout."""
    return sys.stderr if args.json == "-" else out


def _write_json(path, payload, out):
    if path == "-":
        print(json.dumps(payload, indent=2, sort_keys=True), file=out)
        return
    _files.write_json(path, payload, sort_keys=True)


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


def _pack(name, pruned, layout, block, pattern=None):
    """The pruned tensor in the chosen layout (sparse ones keep their shape)."""
    if layout == "dense":
        return pruned
    matrix = _as_matrix(pruned)
    if layout == "csr":
        packed = formats.to_csr(matrix)
    elif layout == "nm":
        from wavesparse.formats_nm import to_nm
        try:
            packed = to_nm(matrix, *pattern, pad=True)
        except ValueError as exc:
            raise UsageError("tensor %r of shape %s: %s" % (name, pruned.shape, exc))
    else:
        r, c = block
        if matrix.shape[0] % r or matrix.shape[1] % c:
            raise UsageError("block %dx%d does not divide tensor %r of shape %s (as matrix %s)"
                             % (r, c, name, pruned.shape, matrix.shape))
        packed = formats.to_bsr(matrix, (r, c))
    if matrix.shape != pruned.shape:
        packed.original_shape = pruned.shape
    if packed.dtype != pruned.dtype:
        packed.stored_dtype = pruned.dtype  # 16-bit values, held as float32 by scipy
    return packed


def _check_output(path):
    """A writable target: its suffix's package is installed, its folder exists."""
    if os.path.splitext(path)[1].lower() == ".safetensors":
        try:
            import safetensors.numpy  # noqa: F401
        except ImportError:
            raise UsageError("writing %s needs the safetensors package: "
                             "pip install 'wavesparse[io]'" % path) from None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError("cannot write %s: folder %s does not exist"
                         % (path, os.path.dirname(path) or folder))


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
    if args.layout == "nm" and not (args.method == "nm" or args.method == "sparsegpt"
                                    and args.nm is not None):
        raise UsageError("--layout nm stores N:M-pruned weights: it needs --method nm "
                         "(or sparsegpt --nm N:M)")
    _refuse_other_methods_options(args)
    if shards.is_sharded(args.input):
        return _prune_sharded(args, out)
    if args.engine != "local" or args.scheduler:
        raise UsageError("--engine dask and --scheduler apply to sharded input "
                         "(a folder of shards or its index)")
    for path in (args.input, args.output):
        if os.path.splitext(path)[1].lower() not in io.SUFFIXES:
            raise UsageError("%s: expected a .safetensors or .npz file" % path)
    same = os.path.exists(args.output) and os.path.samefile(args.input, args.output)
    if same and not args.force:
        raise UsageError("refusing to write over the input %s: pass --force" % args.input)
    _refuse_json_over(args, [args.input], [args.output])
    _check_output(args.output)
    stdout, out = out, _report_stream(args, out)
    _refuse_budget_misuse(args)
    tensors = io.load(args.input, dense=True)
    plan = _read_plan(args, tensors)
    chosen, left = _choose(tensors, args.include, args.exclude)
    if args.layout == "nm":
        wide = [n for n in chosen if tensors[n].dtype not in (np.float32, np.float64)]
        if wide:
            raise UsageError("--layout nm stores float32 or float64 values; %s holds %s "
                             "(--layout dense or csr keep its dtype)"
                             % (wide[0], tensors[wide[0]].dtype))
    start = time.perf_counter()
    if plan:
        _check_plan_covers(plan, chosen)
    plan = plan or _make_plan(args, tensors, chosen)
    pruner = registry.get(args.method).from_arguments(args)
    pruner.progress = _progress
    # The same include/exclude rule as _choose; a plan gives each tensor its sparsity.
    result, _ = pruner.prune_model(tensors, sparsity=plan.layers if plan else None)
    pruned = {n: result[n] for n in chosen}
    del result
    block = args.block or getattr(pruner, "block", (16, 16))
    written = {}
    rows = []
    stats = getattr(pruner, "stats", None)
    csr_bytes = 0  # what CSR would store, for the --layout bsr warning
    n_tensors = len(tensors)
    # Tensor by tensor, the input and the dense result are let go as soon as
    # the report has them and the packed copy is made: memory only falls.
    for name in list(tensors):
        value = tensors.pop(name)
        if name in pruned:
            dense = pruned.pop(name)
            error = report.output_error(
                value, dense, calibration=None if stats is None else stats.layer(name, value.shape))
            del value
            if args.layout == "bsr":
                csr_bytes += report.stored_bytes(formats.to_csr(_as_matrix(dense)))
            written[name] = _pack(name, dense, args.layout, block,
                                  (getattr(pruner, "n", 0), getattr(pruner, "m", 0)))
            del dense
            rows.append(dict(report.tensor_row(name, written[name]), output_error=error))
            if plan:
                rows[-1]["planned"] = plan.layers[name]
        else:
            written[name] = value
            rows.append(report.tensor_row(name, value, note=left.get(name, "")))
    metadata = dict(io.metadata(args.input))  # the input's keys ({"format": "pt"}), then ours
    metadata.update({"wavesparse.version": wavesparse.__version__,
                     "wavesparse.method": args.method,
                     "wavesparse.sparsity": str(pruner.sparsity)})
    io.save(args.output, written, metadata=metadata)
    summary = report.totals(rows)
    pruned_rows = [r for r in rows if r["name"] in set(chosen)]
    target = report.totals(pruned_rows)
    _warn_blocks_of_elements(args, pruned_rows, csr_bytes)
    print("Pruned %d of %s of %s: %s, target %.1f%%%s, layout %s%s (%.1f s)"
          % (len(chosen), report.count(n_tensors, "tensor"), args.input, _method_label(args),
             100 * pruner.sparsity, " (%s budget)" % plan.method if plan else "", args.layout,
             " %dx%d" % block if args.layout == "bsr" else "",
             time.perf_counter() - start), file=out)
    print(report.format_table(rows, summary), file=out)
    print("out err: ||W x - W' x|| / ||W x|| over %s" % (
        "random normal x" if stats is None else "the inputs recorded in %s%s" % (
            args.calibration, "" if all(stats.has_gram(n) for n in chosen)
            else " (feature by feature where a tensor has no Gram matrix)")), file=out)
    print("Pruned tensors: %.2f%% zeros; file: %s -> %s (%s)"
          % (100 * target["sparsity"], report.human_bytes(summary["dense_bytes"]),
             report.human_bytes(summary["stored_bytes"]),
             report.size_change(summary["compression"])), file=out)
    if left:
        kinds = sorted(set(left.values()))
        print("Left as they were: %s (%s)" % (report.count(len(left), "tensor"),
                                              ", ".join(kinds)), file=out)
    print("Wrote %s" % args.output, file=out)
    if args.plan_out:
        plan.save(args.plan_out)
        print("Wrote the plan to %s" % args.plan_out, file=out)
    if args.json:
        _write_json(args.json, {"input": args.input, "output": args.output,
                                "method": args.method, "options": _method_options(args),
                                "target_sparsity": pruner.sparsity, "layout": args.layout,
                                "budget": plan.to_dict() if plan else None,
                                "tensors": rows, "totals": summary,
                                "pruned_totals": target}, stdout)
    return 0


def _as_matrix(w):
    """The 2-D view a tensor is packed as: (shape[0], rest), a vector one row."""
    return w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(1, -1)


def _warn_blocks_of_elements(args, rows, csr):
    """BSR stores whole blocks: after element-wise pruning it may store more
    than CSR (``csr`` bytes) would; say so on stderr, with the method that fits."""
    if args.layout != "bsr" or args.method in ("block", "structured"):
        return
    stored = sum(r["stored_bytes"] for r in rows)
    if stored > csr:
        r, c = args.block or (16, 16)
        print("wavesparse prune: warning: --layout bsr after --method %s stores %s, "
              "more than CSR (%s): element-wise pruning leaves few blocks empty. "
              "--method block --block %dx%d prunes whole blocks, which BSR stores "
              "compactly; or use --layout csr" % (args.method, report.human_bytes(stored),
                                                 report.human_bytes(csr), r, c),
              file=sys.stderr)


def _refuse_budget_misuse(args):
    if args.plan and args.budget:
        raise UsageError("--plan and --budget exclude each other: a plan file is a budget")
    if args.scan and args.budget != "sensitivity":
        raise UsageError("--scan applies to --budget sensitivity")
    if args.plan_out and not args.budget:
        raise UsageError("--plan-out writes the plan of --budget; give --budget")


def _read_plan(args, tensors):
    """The --plan file, checked against the checkpoint; it sets the target and,
    without --include, the tensors to prune."""
    if not args.plan:
        return None
    from wavesparse.sensitivity import Plan
    plan = Plan.load(args.plan)
    try:
        plan.check({n: int(np.size(v)) for n, v in tensors.items()})
    except ValueError as exc:
        raise UsageError("%s: %s" % (args.plan, str(exc).replace("the model", args.input)))
    if not args.include:
        args.include = [glob.escape(n) for n in plan.layers]
    args.sparsity = plan.target
    return plan


def _make_plan(args, tensors, chosen):
    """The plan --budget asks for, over the chosen tensors (None without --budget)."""
    if not args.budget:
        return None
    from wavesparse.sensitivity import Sensitivity, allocate, scan
    table = None
    if args.budget == "sensitivity":
        table = (Sensitivity.load(args.scan) if args.scan
                 else scan(tensors, layers=chosen, progress=sys.stderr.isatty()))
    return allocate(args.sparsity, tensors, args.budget, table, layers=chosen)


def _check_plan_covers(plan, chosen):
    missing = [n for n in chosen if n not in plan.layers]
    if missing:
        raise UsageError("the plan gives no sparsity for %s, which --include chooses"
                         % ", ".join(map(repr, missing[:8])))


def _prune_sharded(args, out):
    """``prune`` of an index or folder of shards into a folder, streaming
    (see :mod:`wavesparse.shards`)."""
    import resource
    if args.budget or args.plan:
        raise UsageError("--budget and --plan apply to a single-file checkpoint; a sharded "
                         "one is pruned by --scope local or global")
    _refuse_json_over(args, [args.input], [args.output])
    pruner = None
    if args.method != "magnitude":
        if args.engine == "dask":
            raise UsageError("--engine dask prunes by --method magnitude (histograms that "
                             "add up across workers), not %s" % args.method)
        if args.layout == "nm":
            raise UsageError("a sharded checkpoint is written dense, csr or bsr, not "
                             "--layout nm")
        pruner = registry.get(args.method).from_arguments(args)
    if args.output.endswith(io.SUFFIXES):
        raise UsageError("%s: a sharded checkpoint is written to a folder, not one file"
                         % args.output)
    if args.scheduler and args.engine != "dask":
        raise UsageError("--scheduler applies to --engine dask")
    options = {"scope": args.scope, "include": args.include, "exclude": args.exclude,
               "layout": args.layout, "block": args.block or (16, 16), "force": args.force,
               "metadata": {"wavesparse.version": wavesparse.__version__,
                            "wavesparse.method": args.method,
                            "wavesparse.sparsity": str(args.sparsity)}}
    start = time.perf_counter()
    if args.engine == "dask":
        from wavesparse import dask_engine
        result = dask_engine.prune(args.input, args.output, args.sparsity,
                                   scheduler=args.scheduler, **options)
    else:
        result = shards.prune(args.input, args.output, args.sparsity, pruner=pruner,
                              **options)
    seconds = time.perf_counter() - start
    rows = result["rows"]
    summary = report.totals(rows)
    target = report.totals([r for r in rows if r["name"] in set(result["chosen"])])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    where = ("%d dask workers" % result["workers"] if args.engine == "dask"
             else "peak RSS %s" % report.human_bytes(peak))
    print("Pruned %d of %d tensors of %s: %s, target %.1f%%, layout %s "
          "(%.1f s, %.2f GB/s read, %s)"
          % (len(result["chosen"]), len(rows), args.input, _method_label(args),
             100 * args.sparsity,
             args.layout, seconds, result["bytes_read"] / max(seconds, 1e-9) / 1e9,
             where), file=out)
    print(report.format_table(rows, summary), file=out)
    print("Pruned tensors: %.2f%% zeros; %s -> %s" % (
        100 * target["sparsity"], report.human_bytes(result["bytes_read"]),
        report.human_bytes(result["bytes_written"])), file=out)
    print("Wrote %s" % args.output, file=out)
    if args.json:
        _write_json(args.json, {"input": args.input, "output": args.output,
                                "method": args.method, "scope": args.scope,
                                "target_sparsity": args.sparsity, "layout": args.layout,
                                "tensors": rows, "totals": summary, "pruned_totals": target,
                                "seconds": seconds, "peak_rss_bytes": peak}, out)
    return 0


def _inspect_sharded(args, out):
    """``inspect`` of an index or folder of shards, one shard in memory at a time."""
    if args.plot:
        raise UsageError("--plot draws one file; name a shard of %s" % args.file)
    ckpt = shards.open_checkpoint(args.file)
    rows = []
    for shard in ckpt.shards:
        tensors = io.load(os.path.join(ckpt.folder, shard))
        rows += [report.tensor_row(name, value) for name, value in tensors.items()]
        del tensors
    summary = report.totals(rows)
    print("%s: %d tensors in %d shards" % (args.file, len(rows), len(ckpt.shards)), file=out)
    print(report.format_table(rows, summary), file=out)
    if args.json:
        _write_json(args.json, {"file": args.file, "tensors": rows, "totals": summary}, out)
    return 0


def _method_options(args):
    """{option dest: value} of the chosen method's own command-line options."""
    return {dest: getattr(args, dest) for dest in _METHOD_OPTIONS.get(args.method, ())}


def _method_label(args):
    """The method and its own options, for the report's first line."""
    options = ", ".join("%s %s" % (dest.replace("_", "-"),
                                   "%d:%d" % value if dest == "nm" else value)
                        for dest, value in _method_options(args).items() if value is not None)
    return "%s (%s)" % (args.method, options) if options else args.method


def _refuse_other_methods_options(args):
    """An option of another method than the chosen one is a usage error."""
    own = set(_METHOD_OPTIONS.get(args.method, ()))
    for dests in _METHOD_OPTIONS.values():
        for dest in set(dests) - own:
            if getattr(args, dest) != _METHOD_DEFAULTS[dest]:
                methods = [m for m, d in _METHOD_OPTIONS.items() if dest in d]
                listed = ", ".join(methods[:-1]) + " and " + methods[-1] if len(methods) > 1 \
                    else methods[0]
                raise UsageError("--%s applies to --method %s" % (dest.replace("_", "-"), listed))


# ------------------------------------------------------------------ sensitivity

def _sparsities(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or any(not 0.0 < v < 1.0 for v in values) or values != sorted(set(values)):
        raise argparse.ArgumentTypeError("expected increasing sparsities in (0, 1) such as "
                                         "0.3,0.5,0.7, got %r" % text)
    return values


def _sensitivity(args, out):
    from wavesparse.sensitivity import scan
    if os.path.splitext(args.input)[1].lower() not in io.SUFFIXES:
        raise UsageError("%s: expected a .safetensors or .npz file" % args.input)
    if (args.score == "calibration") != (args.calibration is not None):
        raise UsageError("--score calibration and --calibration FILE go together")
    tensors = io.load(args.input, dense=True)
    chosen, _ = _choose(tensors, args.include, args.exclude)
    stats = None if args.calibration is None else _scan_stats(args.calibration, tensors,
                                                              chosen)
    start = time.perf_counter()
    table = scan(tensors, sparsities=args.sparsities, layers=chosen, stats=stats,
                 progress=sys.stderr.isatty())
    print("Scanned %d tensors of %s at %d sparsities (%.1f s)"
          % (len(chosen), args.input, len(args.sparsities), time.perf_counter() - start),
          file=out)
    print(table, file=out)
    if args.output:
        table.save(args.output)
        print("Wrote %s" % args.output, file=out)
    if args.plot:
        _pyplot()
        table.plot(args.plot)
        print("Wrote %s" % args.plot, file=out)
    return 0


def _scan_stats(path, tensors, chosen):
    """The proxy's input moments of each chosen tensor from a calibration
    statistics file: its Gram matrix, else each feature's sum of squares."""
    from wavesparse.calibration import load_stats
    stats = load_stats(path)
    moments = {}
    for name in chosen:
        layer = stats.layer(name, tensors[name].shape)
        moments[name] = ({"gram": layer.gram, "rows": layer.rows} if layer.gram is not None
                         else {"sumsq": layer.sum_squares, "rows": layer.rows})
    return moments


# ------------------------------------------------------------------ inspect

def _inspect(args, out):
    _refuse_json_over(args, [args.file])
    if shards.is_sharded(args.file):
        return _inspect_sharded(args, out)
    if args.plot:
        _pyplot()
        if _same_file(args.plot, args.file):
            raise UsageError("refusing to write the plot over the input %s" % args.file)
    stdout, out = out, _report_stream(args, out)
    tensors = io.load(args.file)
    rows = [report.tensor_row(name, value) for name, value in tensors.items()]
    summary = report.totals(rows)
    print("%s: %s" % (args.file, report.count(len(rows), "tensor")), file=out)
    print(report.format_table(rows, summary), file=out)
    if args.json:
        _write_json(args.json, {"file": args.file, "tensors": rows, "totals": summary}, stdout)
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


def _short_label(name, width=40):
    """A tick label of at most ``width`` characters that keeps the name's end."""
    return name if len(name) <= width else "..." + name[-(width - 3):]


def inspect_figure(tensors, rows):
    """The ``inspect --plot`` figure: per-tensor sparsity, and the nonzero
    pattern of the largest tensor (black = nonzero, on a fixed 0-1 scale so an
    all-dense tensor is black, not blank).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import report
    >>> from wavesparse.cli import inspect_figure
    >>> tensors = {"w": np.ones((4, 4))}
    >>> fig = inspect_figure(tensors, [report.tensor_row("w", tensors["w"])])
    >>> fig.axes[1].images[0].get_clim()
    (0.0, 1.0)
    """
    plt = _pyplot()
    matrices = [r for r in rows if len(r["shape"]) >= 2]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, max(4, 0.18 * len(matrices) + 1)))
    left.barh([_short_label(r["name"]) for r in matrices],
              [100 * r["sparsity"] for r in matrices])
    left.invert_yaxis()
    left.set_xlabel("sparsity (%)")
    left.set_xlim(0, 100)
    left.tick_params(axis="y", labelsize=6)
    largest = max(matrices or rows, key=lambda r: r["total"])
    value = io.to_dense(tensors[largest["name"]])
    value = value.reshape(value.shape[0], -1) if value.ndim > 1 else value.reshape(1, -1)
    step = max(1, max(value.shape) // 1000)
    right.imshow(value[::step, ::step] != 0, aspect="auto", cmap="Greys", vmin=0, vmax=1,
                 interpolation="nearest")
    right.set_title("nonzeros (black) of %s %s (every %d)"
                    % (_short_label(largest["name"], 60), largest["shape"], step), fontsize=8)
    fig.tight_layout()
    return fig


def _plot_inspect(path, tensors, rows):
    fig = inspect_figure(tensors, rows)
    try:
        _save_figure(fig, path)
    finally:
        _pyplot().close(fig)


def _save_figure(fig, path):
    with _files.replacing(path) as tmp:
        fig.savefig(tmp, dpi=110, format=os.path.splitext(path)[1][1:].lower() or "png")


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
                     "yes" if d.has_fp64 else "no", "yes" if d.has_fp16 else "no"])
    headers = ["#", "platform", "device", "type", "OpenCL", "driver", "CUs", "max WG",
               "local mem", "global mem", "wavefront", "fp64", "fp16"]
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


# ------------------------------------------------------------------ advise

def _advise(args, out):
    from wavesparse import advise
    layouts = args.layouts.split(",") if args.layouts else list(advise.LAYOUTS)
    unknown = sorted(set(layouts) - set(advise.LAYOUTS))
    if unknown:
        raise UsageError("--layouts: unknown %s (choose from %s)"
                         % (", ".join(unknown), ",".join(advise.LAYOUTS)))
    tensors = io.load(args.checkpoint, dense=True)
    chosen, _ = _choose(tensors, args.include, args.exclude)
    stats = None
    if args.calibration:
        from wavesparse.calibration import load_stats
        stats = load_stats(args.calibration)
        for name in chosen:  # every tensor's statistics before any work
            stats.check(name, tensors[name].shape)
    results = {}
    for i, name in enumerate(chosen):
        _progress(i, len(chosen), name)
        results[name] = advise.advise_tensor(
            tensors[name], args.sparsity, layouts=layouts, repeat=args.repeat,
            batch=args.batch,
            calibration=None if stats is None else stats.layer(name, tensors[name].shape))
    _progress(len(chosen), len(chosen), "done")
    plan = advise.make_plan(args.sparsity, results, args.max_error)
    source = ("errors over the inputs recorded in %s" % args.calibration if stats else
              "errors over random inputs, %d columns" % args.batch)
    print("Layouts of %s at sparsity %.0f%% (N:M at its pattern's), %s; products timed "
          "on this CPU, median of %d; each cell: speed vs dense / output error"
          % (args.checkpoint, 100 * args.sparsity, source, args.repeat), file=out)
    shown = [name for name in layouts if name != "dense"]
    width = max([len(n) for n in chosen] + [6])
    print("%-*s  %-11s  %s  %s" % (width, "tensor", "shape", "  ".join(
        "%-12s" % name for name in shown), "choice"), file=out)
    for name in chosen:
        cells = {r["layout"]: r for r in results[name]}
        text = ["%-12s" % ("%.2fx/%.3f" % (cells[k]["speedup"], cells[k]["error"])
                           if cells[k]["fits"] else "-") for k in shown]
        shape = "x".join(str(d) for d in tensors[name].shape)
        print("%-*s  %-11s  %s  %s" % (width, name, shape, "  ".join(text),
                                       plan["layouts"][name]), file=out)
    budget = ("output error <= %.3f" % args.max_error if args.max_error is not None
              else "output error <= %.2f x CSR's" % advise.DEFAULT_SLACK)
    print("Choice: the fastest layout with %s ('-': blocks or groups do not divide "
          "the tensor)" % budget, file=out)
    if args.plan_out:
        _write_json(args.plan_out, plan, out)
    if args.plot:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7, 5))
        for layout in layouts:
            points = [(r["speedup"], r["error"]) for rows in results.values()
                      for r in rows if r["layout"] == layout and r["fits"]]
            if points:
                ax.scatter(*zip(*points), label=layout, s=14)
        ax.axvline(1.0, color="grey", linewidth=0.8)
        ax.set_xlabel("product speed vs dense (per tensor; > 1: faster)")
        ax.set_ylabel("relative output error")
        ax.set_title("wavesparse advise: %s at %.0f%%" % (os.path.basename(args.checkpoint),
                                                         100 * args.sparsity))
        ax.legend(fontsize=7)
        fig.tight_layout()
        _save_figure(fig, args.plot)
        print("Wrote %s" % args.plot, file=out)
    return 0


# ------------------------------------------------------------------ parser

def _budget_methods():
    from wavesparse.sensitivity import METHODS
    return list(METHODS)


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
    p.add_argument("input", help="checkpoint to read (.safetensors or .npz), or a folder "
                   "of shards or its model.safetensors.index.json")
    p.add_argument("-o", "--output", help="checkpoint to write (.safetensors or .npz; a "
                   "folder for sharded input)")
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
    p.add_argument("--layout", choices=["dense", "csr", "bsr", "nm"], default="dense",
                   help="how pruned tensors are stored (see wavesparse.io); nm: the "
                        "compact N:M storage of --method nm")
    p.add_argument("--block", type=_block, metavar="RxC",
                   help="block shape: of the BSR layout (default 16x16), and of "
                        "--method block (default 64x64)")
    p.add_argument("--schedule", action="store_true",
                   help="print the gradual schedule that reaches --sparsity")
    p.add_argument("--steps", type=_steps, default=(0, 1000, 100), metavar="B:E:F",
                   help="schedule steps begin:end:frequency (default 0:1000:100)")
    p.add_argument("--json", metavar="FILE",
                   help="also write the report as JSON ('-': the JSON alone on stdout, the "
                        "table on stderr); never over the output, over the input only with "
                        "--force")
    p.add_argument("--force", action="store_true",
                   help="allow writing the output or the JSON report over the input file")
    budget = p.add_argument_group(
        "per-tensor budgets", "give each tensor its own sparsity, averaging --sparsity over "
        "the chosen tensors exactly (see wavesparse.sensitivity)")
    budget.add_argument("--budget", choices=_budget_methods(),
                        help="how to share --sparsity among tensors: uniform; global (one "
                             "magnitude threshold); erk (Erdos-Renyi-Kernel); sensitivity "
                             "(least predicted loss on a --scan, else on the proxy scan); owl "
                             "(outlier-weighted, within +-8%% of the target)")
    budget.add_argument("--scan", metavar="JSON",
                        help="the sensitivity table of --budget sensitivity (wavesparse "
                             "sensitivity -o)")
    budget.add_argument("--plan-out", metavar="JSON", help="write the --budget plan to a file")
    budget.add_argument("--plan", metavar="JSON",
                        help="prune by a plan file {target, method, layers: {name: sparsity}}; "
                             "its target replaces --sparsity and, without --include, its "
                             "tensors are the ones pruned")
    p.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="sharded input: prune in this process, or on dask.distributed "
                        "workers (extra 'distributed')")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --engine dask: the scheduler (default: a LocalCluster of "
                        "two workers on this machine)")
    p.set_defaults(run=_prune)

    p = sub.add_parser("sensitivity", help="prune one tensor at a time and score it",
                       description="Prune each chosen tensor alone at several sparsities and "
                                   "report how much its output changes (the proxy score: "
                                   "relative output error on standard normal inputs, which "
                                   "needs no model).")
    p.add_argument("input", help="checkpoint to read (.safetensors or .npz)")
    p.add_argument("--score", choices=["proxy", "calibration"], default="proxy",
                   help="what is scored: -||Wx - W'x|| / ||Wx|| over x standard normal "
                        "(proxy) or over the inputs recorded in --calibration FILE")
    p.add_argument("--calibration", metavar="FILE",
                   help="calibration statistics (wavesparse.calibration) for --score "
                        "calibration")
    p.add_argument("--sparsities", type=_sparsities, default=[0.3, 0.5, 0.7, 0.8, 0.9, 0.95],
                   metavar="S,S,...", help="default 0.3,0.5,0.7,0.8,0.9,0.95")
    p.add_argument("-o", "--output", metavar="JSON", help="write the table (for --scan)")
    p.add_argument("--plot", metavar="PNG", help="draw one curve per tensor (needs matplotlib)")
    p.add_argument("--include", action="append", metavar="GLOB",
                   help="scan only tensors whose name matches (repeatable)")
    p.add_argument("--exclude", action="append", metavar="GLOB",
                   help="never scan tensors whose name matches (repeatable)")
    p.set_defaults(run=_sensitivity)

    p = sub.add_parser("inspect", help="report the tensors of a checkpoint, dense or sparse")
    p.add_argument("file")
    p.add_argument("--json", metavar="FILE",
                   help="also write the report as JSON ('-': the JSON alone on stdout, the "
                        "table on stderr); never over FILE")
    p.add_argument("--plot", metavar="PNG", help="draw per-tensor sparsity and the pattern of "
                                                "the largest tensor (needs matplotlib)")
    p.set_defaults(run=_inspect)

    p = sub.add_parser("bench", help="time threshold, conversion and products vs peers")
    p.add_argument("--size", type=_bench_size, default=2048,
                   help="matrix edge, a multiple of 16 (default 2048)")
    p.add_argument("--sparsity", type=_fraction, default=0.9)
    p.add_argument("--columns", type=_positive, default=64,
                   help="columns of the dense operand (default 64)")
    p.add_argument("--repeat", type=_positive, default=5, help="runs per case (default 5)")
    p.add_argument("--plot", metavar="PNG", help="plot product time against sparsity")
    p.set_defaults(run=_bench)

    p = sub.add_parser("advise", help="time and measure each sparse layout per tensor, "
                                      "and write the plan of the fastest within an "
                                      "error budget")
    p.add_argument("checkpoint", help="checkpoint to read (.safetensors or .npz)")
    p.add_argument("--calibration", metavar="FILE",
                   help="calibration statistics (wavesparse.calibration): the output "
                        "errors are over the recorded inputs; random inputs without it")
    p.add_argument("--sparsity", type=_fraction, default=0.5,
                   help="the sparsity every layout is pruned to (default 0.5)")
    p.add_argument("--max-error", type=float, metavar="E",
                   help="the output-error budget (default 1.25 x the CSR error of "
                        "each tensor)")
    p.add_argument("--layouts", metavar="L1,L2",
                   help="the layouts compared (default all: dense,csr,bsr8,bsr16,"
                        "bsr32,bsr64,2:4,1:4,structured)")
    p.add_argument("--batch", type=_positive, default=128,
                   help="columns of the random inputs (default 128)")
    p.add_argument("--repeat", type=_positive, default=5, help="timed runs per product")
    p.add_argument("--include", action="append", metavar="GLOB")
    p.add_argument("--exclude", action="append", metavar="GLOB")
    p.add_argument("--plan-out", metavar="FILE", help="write the plan (JSON) here ('-': stdout)")
    p.add_argument("--plot", metavar="PNG", help="error against speed, every tensor and layout")
    p.set_defaults(run=_advise)

    p = sub.add_parser("devices", help="list OpenCL platforms and devices (or why there are none)")
    p.set_defaults(run=_devices)

    p = sub.add_parser("demo", help="the seven demos on built-in data (pruning, products, "
                                    "training), in a few seconds")
    p.set_defaults(run=lambda args, out: __import__("wavesparse.demo").demo.run(out))

    p = sub.add_parser("clean", help="remove temporary files that killed wavesparse "
                                     "processes left in a folder",
                       description="Remove the temporary files (.wavesparse-<host>-<pid>-"
                                   "<random>.tmp*) that a wavesparse process killed by "
                                   "SIGKILL left in DIR. Only files of this machine whose "
                                   "process no longer runs are removed; writing a checkpoint "
                                   "does the same in its folder.")
    p.add_argument("dir", metavar="DIR", help="folder to clean")
    p.set_defaults(run=_clean)

    # wavesparse run: the runtime's own command (wavesparse.runtime.command).
    from wavesparse.runtime import command as run_command
    p = sub.add_parser("run", help="run a pruned checkpoint (encoder or MLP): throughput, latency")
    run_command.add_arguments(p)
    p.set_defaults(run=run_command.run)

    # wavesparse calibrate: input statistics by running the checkpoint
    # (wavesparse.runtime.calibrate), for prune --calibration.
    from wavesparse.runtime import calibrate as calibrate_command
    p = sub.add_parser("calibrate",
                       help="record the inputs' statistics of an encoder or MLP checkpoint "
                            "for --method wanda|sparsegpt",
                       description="Run an encoder checkpoint on lines of text (or an MLP "
                                   "on the rows of a .npy array) and write the statistics "
                                   "file that prune --calibration reads: per Linear weight, "
                                   "the rows seen, the sums of squares of its inputs and "
                                   "their Gram matrix, in float64.")
    calibrate_command.add_arguments(p)
    p.set_defaults(run=calibrate_command.run)
    return parser


# ------------------------------------------------------------------ clean

def _clean(args, out):
    if not os.path.isdir(args.dir):
        raise UsageError("%s is not a folder" % args.dir)
    removed = _files.remove_stale(args.dir)
    for path in removed:
        print("removed %s" % path, file=out)
    print("%s: %s removed" % (args.dir, report.count(len(removed), "stale temporary file")),
          file=out)
    return 0


# ------------------------------------------------------------------ running

class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is so that the file being written is
    removed as after Ctrl-C.

    Examples
    --------
    >>> from wavesparse.cli import Terminated
    >>> issubclass(Terminated, KeyboardInterrupt)
    True
    """


def _terminate(signum, frame):
    raise Terminated()


class _PipeSafe:
    """A text stream whose reader may go away (``| head``): the first
    BrokenPipeError sends the rest of the output, and the interpreter's final
    flush, to os.devnull, so the command finishes its work quietly."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            self._to_devnull()
        return len(text)

    def flush(self):
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def isatty(self):
        return self.stream.isatty()

    def _to_devnull(self):
        devnull = open(os.devnull, "w")
        try:
            os.dup2(devnull.fileno(), self.stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass  # a stream without a descriptor (tests' StringIO): drop the text
        self.stream = devnull


def _message(exc):
    """One line for an exception, never empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv=None, out=None):
    """Runs the command line; returns the exit status.

    Examples
    --------
    >>> from wavesparse.cli import main
    >>> main(["prune", "missing.npz", "-o", "out.npz"])
    2
    """
    out = _PipeSafe(out or sys.stdout)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "command", None):
        parser.print_help(out)
        return 0
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.run(args, out)
    except (UsageError, io.CheckpointError, ValueError, MemoryError, OSError) as exc:
        print("wavesparse %s: error: %s" % (args.command, _message(exc)), file=sys.stderr)
        return EXIT_USAGE
    except Terminated:
        print("wavesparse %s: terminated; no partial file was left" % args.command,
              file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("wavesparse %s: interrupted; no partial file was left" % args.command,
              file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
