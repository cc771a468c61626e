"""The run-time OpenCL layer: loader, error names, objects, program cache."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from wavesparse import OpenCLError, OpenCLMemoryError, OpenCLUnavailable, opencl
from wavesparse.opencl import _runtime as _opencl

HEADER = Path(__file__).resolve().parents[1] / "include" / "wavesparse" / "cl_types.h"


def test_error_table_covers_every_declared_code():
    declared = dict((int(v), n) for n, v in
                    re.findall(r"X\((CL_\w+),\s*(-?\d+)\)", HEADER.read_text()))
    assert len(declared) == 60  # 0..-19, -30..-68, -1001
    assert sorted(_opencl.error_codes()) == sorted(declared)
    for code, name in declared.items():
        assert _opencl.error_name(code) == name
    assert _opencl.error_name(-11) == "CL_BUILD_PROGRAM_FAILURE"
    assert _opencl.error_name(12345) is None


def test_bogus_library_is_unavailable_and_cpu_still_works(monkeypatch):
    bogus = "/nonexistent/dir/libOpenCL-missing.so.9"
    monkeypatch.setenv("WAVESPARSE_OPENCL_LIBRARY", bogus)
    ok, reason = opencl.available()
    assert not ok and bogus in reason
    with pytest.raises(OpenCLUnavailable, match=re.escape(bogus)):
        opencl.devices()
    from wavesparse import ops
    assert ops.kth_magnitude(np.float32([3, 1, 2]), 0) == (1.0, 1)


def test_library_without_opencl_entry_points(monkeypatch):
    import ctypes.util
    libm = ctypes.util.find_library("m")
    monkeypatch.setenv("WAVESPARSE_OPENCL_LIBRARY", libm)
    ok, reason = opencl.available()
    assert not ok and "clGetPlatformIDs" in reason


def test_device_properties(cl_session):
    d = cl_session.device
    assert d.name and d.vendor and d.version.startswith("OpenCL")
    assert d.compute_units >= 1 and d.max_work_group_size >= 1
    assert d.local_mem_bytes > 0 and d.global_mem_bytes > 0
    info = d.info()
    assert info["name"] == d.name and info["platform"] == d.platform.name
    assert d.wavefront_width is None or d.wavefront_width in (16, 32, 64)


BROKEN = "__kernel void broken(__global float *x) { x[0] = ; }\n"


def test_syntax_error_raises_with_build_log(cl_session):
    with pytest.raises(OpenCLError) as info:
        _opencl.Program(cl_session.context, BROKEN, "")
    err = info.value
    assert err.name == "CL_BUILD_PROGRAM_FAILURE" and err.code == -11
    assert err.log and "error" in err.log.lower()
    assert err.log.strip()[:20] in str(err)


def test_failed_build_holds_no_program(cl_session, hooks):
    before = hooks.live_objects()["programs"]
    program = _opencl.Program(cl_session.context, "__kernel void k() {}", "")
    assert hooks.live_objects()["programs"] == before + 1
    del program
    with pytest.raises(OpenCLError):
        _opencl.Program(cl_session.context, BROKEN, "")
    assert hooks.live_objects()["programs"] == before


def test_unknown_kernel_name(cl_session):
    program = opencl.get_program(cl_session, "mask.cl", "-DREAL=float")
    with pytest.raises(OpenCLError, match="CL_INVALID_KERNEL_NAME"):
        _opencl.Kernel(program, "no_such_kernel")


@pytest.mark.parametrize("nbytes", [1, 3, 4096, 1_000_003])
def test_buffer_round_trip_bytes(cl_session, nbytes):
    data = np.random.default_rng(nbytes).integers(0, 256, nbytes, dtype=np.uint8)
    buf = _opencl.Buffer(cl_session.context, nbytes)
    buf.write(cl_session.queue, data)
    back = np.zeros(nbytes, np.uint8)
    buf.read(cl_session.queue, back)
    assert back.tobytes() == data.tobytes()


def test_buffer_checks(cl_session):
    with pytest.raises(ValueError, match="nbytes must be positive"):
        _opencl.Buffer(cl_session.context, 0)
    buf = _opencl.Buffer(cl_session.context, 16)
    with pytest.raises(ValueError, match="do not fit"):
        buf.write(cl_session.queue, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        buf.write(cl_session.queue, np.zeros((2, 4), np.float32)[:, ::2])
    with pytest.raises(ValueError, match="flags must be"):
        _opencl.Buffer(cl_session.context, 16, "x")


def test_kernel_arguments_and_events(cl_session):
    program = opencl.get_program(cl_session, "mask.cl", "-DREAL=float")
    kernel = _opencl.Kernel(program, "apply_threshold")
    with pytest.raises(TypeError, match="numpy scalar"):
        kernel.set_arg(1, 0.5)
    w = np.float32([0.5, -2, 3, 0.1])
    src = _opencl.Buffer(cl_session.context, w.nbytes)
    src.write(cl_session.queue, w)
    out = _opencl.Buffer(cl_session.context, w.nbytes)
    mask = _opencl.Buffer(cl_session.context, w.size)
    for i, arg in enumerate([src, np.float32(1.0), out, mask, np.uint32(4)]):
        kernel.set_arg(i, arg)
    event = kernel.enqueue(cl_session.queue, (64,), (64,))
    profiled = event.seconds  # the queue has profiling on: the times are readable
    assert profiled >= 0.0
    result = np.empty(4, np.float32)
    out.read(cl_session.queue, result)
    np.testing.assert_array_equal(result, [0, -2, 3, 0])
    with pytest.raises(ValueError, match="global_size must have 1 to 3"):
        kernel.enqueue(cl_session.queue, (), None)


def test_program_cache_is_shared_between_threads(cl_session):
    options = "-DREAL=float -DWS_CACHE_TEST=%d" % os.getpid()
    before = opencl.cache_stats()["builds"]
    results = []
    barrier = threading.Barrier(4)

    def build():
        barrier.wait()
        results.append(opencl.get_program(cl_session, "mask.cl", options))

    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(p is results[0] for p in results)
    assert opencl.cache_stats()["builds"] == before + 1


def test_injected_failures_hold_no_device_memory(cl_session, hooks):
    before = hooks.live_objects()
    hooks.inject_failure("buffer", -4)
    with pytest.raises(OpenCLMemoryError, match="CL_MEM_OBJECT_ALLOCATION_FAILURE"):
        _opencl.Buffer(cl_session.context, 1024)
    hooks.inject_failure("build", -11)
    with pytest.raises(OpenCLError, match="CL_BUILD_PROGRAM_FAILURE"):
        _opencl.Program(cl_session.context, "__kernel void k() {}", "")
    assert hooks.live_objects() == before
    # Each hook fails one call only.
    buffer = _opencl.Buffer(cl_session.context, 1024)
    assert hooks.live_objects()["buffer_bytes"] == before["buffer_bytes"] + 1024
    del buffer
    assert hooks.live_objects() == before


def test_fault_hook_checks_its_arguments(hooks):
    with pytest.raises(ValueError, match="'buffer' or 'build'"):
        hooks.inject_failure("kernel", -4)
    with pytest.raises(ValueError, match="nonzero"):
        hooks.inject_failure("buffer", 0)


def test_runtime_shows_no_test_hooks():
    # The probes are reached from wavesparse._testing only.
    public = {name for name in dir(_opencl) if not name.startswith("__")}
    assert not public & {"live_objects", "_inject_failure", "inject_failure"}


DROP_ORDERS = r"""
import itertools, gc
import numpy as np
from wavesparse import opencl
from wavesparse import _testing
from wavesparse.opencl import _runtime as _opencl
device = opencl.session().device
for order in itertools.permutations(["context", "queue", "program", "kernel", "buffer"]):
    objs = {}
    objs["context"] = _opencl.Context(device)
    objs["queue"] = _opencl.Queue(objs["context"])
    objs["program"] = _opencl.Program(objs["context"], opencl.kernel_source("mask.cl"), "-DREAL=float")
    objs["kernel"] = _opencl.Kernel(objs["program"], "apply_threshold")
    objs["buffer"] = _opencl.Buffer(objs["context"], 64)
    objs["kernel"].set_arg(0, objs["buffer"])
    objs["buffer"].write(objs["queue"], np.zeros(16, np.float32))
    for name in order:
        del objs[name]
        gc.collect()
live = _testing.live_objects()
assert live["buffers"] == 0 and live["kernels"] == 0 and live["programs"] == 0, live
print("dropped in", 120, "orders")
"""


def test_drop_in_every_order_does_not_crash(cl_session, hooks):
    done = subprocess.run([sys.executable, "-c", DROP_ORDERS],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "dropped in 120 orders" in done.stdout


def test_wavesparse_device_picks_by_name_and_index(monkeypatch, cl_session):
    name = cl_session.device.name
    monkeypatch.setenv("WAVESPARSE_DEVICE", name[:6])
    assert opencl.available() == (True, "%s on %s" % (name, cl_session.device.platform.name))
    monkeypatch.setenv("WAVESPARSE_DEVICE", "0")
    assert opencl.available()[0]
    monkeypatch.setenv("WAVESPARSE_DEVICE", "99")
    ok, reason = opencl.available()
    assert not ok and "WAVESPARSE_DEVICE=99" in reason
    monkeypatch.setenv("WAVESPARSE_DEVICE", "no-such-device-name")
    assert "matches no device" in opencl.available()[1]


def test_program_cache_is_a_bounded_lru(cl_session):
    """100 block shapes used to keep 100 programs: the cache is bounded and
    drops the least recently used one first (issue 14, item 3)."""
    previous = opencl.set_program_cache_size(3)
    try:
        tag = "-DREAL=float -DWS_LRU_TEST=%d" % os.getpid()
        options = ["%s -DWS_LRU_%d" % (tag, i) for i in range(5)]
        first = [opencl.get_program(cl_session, "mask.cl", o) for o in options[:3]]
        assert opencl.cache_stats()["programs"] == 3
        assert opencl.get_program(cl_session, "mask.cl", options[0]) is first[0]  # now most recent
        opencl.get_program(cl_session, "mask.cl", options[3])  # evicts options[1]
        stats = opencl.cache_stats()
        assert (stats["programs"], stats["capacity"]) == (3, 3)
        builds = stats["builds"]
        assert opencl.get_program(cl_session, "mask.cl", options[0]) is first[0]
        assert opencl.get_program(cl_session, "mask.cl", options[2]) is first[2]
        assert opencl.cache_stats()["builds"] == builds  # both were kept
        assert opencl.get_program(cl_session, "mask.cl", options[1]) is not first[1]
        assert opencl.cache_stats()["builds"] == builds + 1  # it had been dropped
        for o in options:
            opencl.get_program(cl_session, "mask.cl", o)
        assert opencl.cache_stats()["programs"] == 3
    finally:
        opencl.set_program_cache_size(previous)
    with pytest.raises(ValueError, match="size must be at least 1"):
        opencl.set_program_cache_size(0)
    with pytest.raises(TypeError, match="size must be an integer"):
        opencl.set_program_cache_size(2.5)


def test_program_cache_bound_from_the_environment(tmp_path):
    import subprocess
    import sys
    code = "from wavesparse import opencl; print(opencl.cache_stats()['capacity'])"
    env = dict(os.environ, WAVESPARSE_PROGRAM_CACHE="5")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "5", out.stderr
    env["WAVESPARSE_PROGRAM_CACHE"] = "zero"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "WAVESPARSE_PROGRAM_CACHE must be a positive integer, got 'zero'" in out.stderr
