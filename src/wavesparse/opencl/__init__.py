"""OpenCL: devices, sessions, kernels and device-resident arrays.

The OpenCL library is opened at run time (``libOpenCL.so.1``, or the path in
``$WAVESPARSE_OPENCL_LIBRARY``); nothing here is needed for the CPU path.
``$WAVESPARSE_DEVICE`` picks the device: an index into :func:`devices` or a
part of a device's name.  Without it the first GPU is taken, else the first
device.

The modules, by role:

- ``_runtime`` (compiled): the OpenCL objects (Platform, Device, Context,
  Queue, Program, Kernel, Buffer, Event), each call's status checked;
- :mod:`~wavesparse.opencl.session`: the chosen device, its session, the
  program cache, kernel launches and profiling;
- :mod:`~wavesparse.opencl.calls`: build options, work sizes and uploads
  every kernel call shares;
- :mod:`~wavesparse.opencl.ops`: thresholds, radix selection, CSR/BSR
  products (behind :mod:`wavesparse.ops`);
- :mod:`~wavesparse.opencl.formats`: dense to CSR/BSR (behind
  :mod:`wavesparse.formats`);
- :mod:`~wavesparse.opencl.device_array`: :class:`DeviceArray`;
- :mod:`~wavesparse.opencl.nm`: the N:M product;

Examples
--------
>>> from wavesparse import opencl
>>> ok, reason = opencl.available()
>>> isinstance(ok, bool) and isinstance(reason, str)
True
"""

from wavesparse.opencl.session import (PROGRAM_CACHE_SIZE, Session, available, cache_stats,
                                       devices, get_program, kernel_source, launch, profile,
                                       session, set_program_cache_size)
from wavesparse.opencl.device_array import DeviceArray

__all__ = ["devices", "available", "session", "Session", "kernel_source",
           "get_program", "cache_stats", "set_program_cache_size", "PROGRAM_CACHE_SIZE",
           "profile", "launch", "DeviceArray"]
