"""OpenCL devices, the session on the chosen one, and the program cache.

How the library and the device are chosen is told in :mod:`wavesparse.opencl`.

Examples
--------
>>> from wavesparse import opencl
>>> ok, reason = opencl.available()
>>> isinstance(ok, bool) and isinstance(reason, str)
True
"""

import collections
import contextlib
import hashlib
import os
import threading
from importlib import resources

from wavesparse.opencl import _runtime
from wavesparse.errors import OpenCLUnavailable

__all__ = ["devices", "available", "session", "Session", "kernel_source",
           "get_program", "cache_stats", "set_program_cache_size", "PROGRAM_CACHE_SIZE",
           "profile", "launch"]


def devices():
    """Every OpenCL device of every platform, in the drivers' order.

    Returns
    -------
    list of Device
        Empty when no platform reports a device.

    Raises
    ------
    OpenCLUnavailable
        When the OpenCL library cannot be opened; the message names the path.

    Examples
    --------
    >>> from wavesparse import opencl
    >>> ok, _ = opencl.available()
    >>> all(d.max_work_group_size > 0 for d in opencl.devices()) if ok else True
    True
    """
    runtime = _runtime.runtime()
    found = []
    for platform in runtime.platforms():
        found.extend(platform.devices())
    return found


def _chosen_device():
    found = devices()
    if not found:
        path = _runtime.runtime().path or "libOpenCL.so.1"
        raise OpenCLUnavailable(
            "OpenCL library %s loaded, but no platform reports a device "
            "(is an ICD such as pocl-opencl-icd installed?)" % path)
    wanted = os.environ.get("WAVESPARSE_DEVICE", "").strip()
    if wanted:
        if wanted.isdigit():
            index = int(wanted)
            if index >= len(found):
                raise OpenCLUnavailable(
                    "WAVESPARSE_DEVICE=%s, but only %d device(s) exist"
                    % (wanted, len(found)))
            return found[index]
        for device in found:
            if wanted.lower() in device.name.lower():
                return device
        raise OpenCLUnavailable(
            "WAVESPARSE_DEVICE=%r matches no device name (devices: %s)"
            % (wanted, ", ".join(d.name for d in found)))
    gpus = [d for d in found if d.is_gpu]
    return gpus[0] if gpus else found[0]


def available():
    """Whether OpenCL can be used here, and why not.

    Returns
    -------
    (bool, str)
        ``(True, "<device name> on <platform>")`` or ``(False, reason)``.

    Examples
    --------
    >>> from wavesparse import opencl
    >>> ok, reason = opencl.available()
    >>> reason != ""
    True
    """
    try:
        device = _chosen_device()
    except OpenCLUnavailable as exc:
        return False, str(exc)
    return True, "%s on %s" % (device.name, device.platform.name)


class Session:
    """A device with its context and in-order queue.

    Parameters
    ----------
    device : Device
        The device to run on.

    Examples
    --------
    >>> from wavesparse import opencl
    >>> ok, _ = opencl.available()
    >>> s = opencl.session() if ok else None
    >>> s is None or s.queue.context is s.context
    True
    """

    def __init__(self, device):
        self.device = device
        self.context = _runtime.Context(device)
        self.queue = _runtime.Queue(self.context)

    def wavefront(self):
        """The SIMD width kernels are tuned for: the driver's, else 64 (GCN).

        Examples
        --------
        >>> from wavesparse import opencl
        >>> ok, _ = opencl.available()
        >>> opencl.session().wavefront() in (16, 32, 64) if ok else True
        True
        """
        return self.device.wavefront_width or 64

    def __repr__(self):
        return "<Session on %r>" % self.device.name


_sessions = {}
_sessions_lock = threading.Lock()


def session():
    """The process-wide session on the chosen device (made once per device).

    Raises
    ------
    OpenCLUnavailable
        When there is no library, no platform or no device.

    Examples
    --------
    >>> from wavesparse import opencl
    >>> ok, _ = opencl.available()
    >>> (opencl.session() is opencl.session()) if ok else True
    True
    """
    device = _chosen_device()
    with _sessions_lock:
        found = _sessions.get(device.key)
        if found is None:
            found = Session(device)
            _sessions[device.key] = found
        return found


def kernel_source(name):
    """The text of ``kernels/<name>`` as installed with the package.

    Examples
    --------
    >>> from wavesparse.opencl import kernel_source
    >>> "__kernel" in kernel_source("mask.cl")
    True
    """
    return (resources.files("wavesparse") / "kernels" / name).read_text()


#: How many built programs the cache keeps by default (least recently used
#: ones go first); ``$WAVESPARSE_PROGRAM_CACHE`` sets another number.
PROGRAM_CACHE_SIZE = 64

_programs = collections.OrderedDict()  # key -> Program, least recently used first
_building = {}  # key -> lock of a build under way
_cache_lock = threading.Lock()
_builds = 0


def _capacity_from_environment():
    text = os.environ.get("WAVESPARSE_PROGRAM_CACHE", "").strip()
    if not text:
        return PROGRAM_CACHE_SIZE
    if not text.isdigit() or int(text) < 1:
        raise ValueError("WAVESPARSE_PROGRAM_CACHE must be a positive integer, "
                         "got %r" % text)
    return int(text)


_capacity = None


def set_program_cache_size(size):
    """Keep at most ``size`` built programs; returns the previous bound.

    The cache is an LRU: a program used again moves to the back, and the
    least recently used one is released when a new build would pass the
    bound.  Kernels made from a released program keep it alive while they
    live.  The default is :data:`PROGRAM_CACHE_SIZE` (64), or
    ``$WAVESPARSE_PROGRAM_CACHE``.

    Examples
    --------
    >>> from wavesparse import opencl
    >>> previous = opencl.set_program_cache_size(8)
    >>> opencl.cache_stats()["capacity"]
    8
    >>> _ = opencl.set_program_cache_size(previous)
    """
    global _capacity
    from wavesparse import _validate as check
    size = check.index(size, "size")
    if size < 1:
        raise ValueError("size must be at least 1, got %d" % size)
    with _cache_lock:
        previous = _current_capacity()
        _capacity = size
        _evict()
    return previous


def _current_capacity():
    global _capacity
    if _capacity is None:
        _capacity = _capacity_from_environment()
    return _capacity


def _evict():
    """Drop least recently used programs past the bound (lock held)."""
    while len(_programs) > _current_capacity():
        _programs.popitem(last=False)


def get_program(session, source, options=""):
    """The program built from ``source`` with ``options`` on the session's device.

    Built once for each (device, source, options) while it stays in the
    bounded LRU cache (see :func:`set_program_cache_size`); concurrent callers
    with the same key wait for the one build.

    Parameters
    ----------
    session : Session
    source : str
        OpenCL C source text, or the name of a file in ``kernels/``
        (``"mask.cl"``).
    options : str
        Build options, such as ``"-DREAL=float"``.

    Examples
    --------
    >>> from wavesparse import opencl
    >>> ok, _ = opencl.available()
    >>> s = opencl.session() if ok else None
    >>> p = opencl.get_program(s, "mask.cl", "-DREAL=float") if ok else None
    >>> (p is opencl.get_program(s, "mask.cl", "-DREAL=float")) if ok else True
    True
    """
    global _builds
    if source.endswith(".cl") and "\n" not in source:
        source = kernel_source(source)
    digest = hashlib.sha256(source.encode()).hexdigest()
    key = (session.device.key, digest, options)
    with _cache_lock:
        found = _programs.get(key)
        if found is not None:
            _programs.move_to_end(key)
            return found
        lock = _building.setdefault(key, threading.Lock())
    with lock:
        with _cache_lock:
            found = _programs.get(key)
        if found is None:
            try:
                found = _runtime.Program(session.context, source, options)
            finally:
                with _cache_lock:
                    _building.pop(key, None)
            with _cache_lock:
                _programs[key] = found
                _builds += 1
                _evict()
        return found


def cache_stats():
    """How many programs the cache holds, its bound, and the builds run so far.

    Examples
    --------
    >>> from wavesparse.opencl import cache_stats
    >>> sorted(cache_stats())
    ['builds', 'capacity', 'programs']
    """
    with _cache_lock:
        return {"programs": len(_programs), "capacity": _current_capacity(),
                "builds": _builds}


_profiles = threading.local()


@contextlib.contextmanager
def profile():
    """Collect the device time of the kernels wavesparse launches inside.

    Yields a list that receives, for each kernel, ``(name, seconds)`` from
    the queue's event profiling (start to end on the device, no transfers).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import opencl, ops
    >>> ok, _ = opencl.available()
    >>> with opencl.profile() as kernels:
    ...     _ = ops.apply_threshold(np.ones(1000), 0.5, backend="opencl" if ok else "cpu")
    >>> [name for name, seconds in kernels] == (["apply_threshold"] if ok else [])
    True
    """
    stack = getattr(_profiles, "stack", None)
    if stack is None:
        stack = _profiles.stack = []
    events = []
    record = []
    stack.append(events)
    try:
        yield record
    finally:
        stack.pop()
        record.extend((name, event.seconds) for name, event in events)


def launch(session, kernel, global_size, local_size=None):
    """Enqueue ``kernel`` on the session's queue (recorded by :func:`profile`).

    Examples
    --------
    >>> import numpy as np
    >>> from wavesparse import opencl
    >>> from wavesparse.opencl import _runtime
    >>> ok, _ = opencl.available()
    >>> if ok:
    ...     s = opencl.session()
    ...     k = _runtime.Kernel(opencl.get_program(s, "mask.cl", "-DREAL=float"), "apply_threshold")
    ...     buf = _runtime.Buffer(s.context, 4)
    ...     for i, arg in enumerate([buf, np.float32(0), buf, buf, np.uint32(0)]):
    ...         k.set_arg(i, arg)
    ...     with opencl.profile() as kernels:
    ...         _ = opencl.launch(s, k, (64,), (64,))
    ...     print([name for name, _ in kernels])
    ... else:
    ...     print(["apply_threshold"])
    ['apply_threshold']
    """
    event = kernel.enqueue(session.queue, global_size, local_size)
    stack = getattr(_profiles, "stack", None)
    if stack:
        stack[-1].append((kernel.name, event))
    return event
