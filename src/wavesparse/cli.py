"""The ``wavesparse`` command line.

Examples
--------
>>> from wavesparse.cli import main
>>> main(["--version"])
wavesparse 0.1.0
0
"""

import argparse
import sys

import wavesparse


def _bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def _table(headers, rows):
    """Rows of strings as an aligned text table."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def _devices(args, out):
    from wavesparse import opencl
    from wavesparse.errors import OpenCLUnavailable
    try:
        found = opencl.devices()
    except OpenCLUnavailable as exc:
        print("No OpenCL: %s" % exc, file=out)
        print("The CPU backend (C with %d OpenMP thread(s)) is used."
              % _cpu_threads(), file=out)
        return 0
    if not found:
        ok, reason = opencl.available()
        print("No OpenCL device: %s" % reason, file=out)
        return 0
    rows = []
    for i, d in enumerate(found):
        rows.append([
            str(i), d.platform.name, d.board_name or d.name, d.type,
            d.version, d.driver_version, str(d.compute_units),
            str(d.max_work_group_size), _bytes(d.local_mem_bytes),
            _bytes(d.global_mem_bytes),
            str(d.wavefront_width) if d.wavefront_width else "n/a",
            "yes" if d.has_fp64 else "no",
        ])
    print(_table(["#", "platform", "device", "type", "OpenCL", "driver",
                  "CUs", "max WG", "local mem", "global mem", "wavefront",
                  "fp64"], rows), file=out)
    ok, reason = opencl.available()
    print("\nChosen device: %s" % reason, file=out)
    return 0


def _cpu_threads():
    from wavesparse import _select
    return _select.max_threads()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="wavesparse",
        description="Prune neural-network weights and run sparse networks "
                    "fast on the CPU and OpenCL GPUs.")
    parser.add_argument("--version", action="version",
                        version="wavesparse %s" % wavesparse.__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    devices = sub.add_parser(
        "devices", help="list OpenCL platforms and devices (or why there are none)")
    devices.set_defaults(run=_devices)
    return parser


def main(argv=None, out=None):
    """Runs the command line; returns the exit status."""
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code == 0 and argv and "--version" in argv:
            return 0
        raise
    if not getattr(args, "command", None):
        parser.print_help(out)
        return 0
    return args.run(args, out)
