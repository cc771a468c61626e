# cython: language_level=3
"""OpenCL objects over the run-time loader (C in clrt.c).

Each object holds a reference to the objects it was made from (a Kernel to
its Program, a Program to its Context, ...), so Python always drops a child
before its parent, and each releases its own OpenCL handle exactly once.  The
function table of a loaded library lives for the whole process.

The objects count themselves, and a buffer allocation or a build can be made
to fail, in a plain C struct (RuntimeProbes, _runtime.pxd) that this module
keeps and never shows to Python: the test-only extension wavesparse._testing
reads and sets it through runtime_probes().
"""
cimport cython
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from libc.stdint cimport uintptr_t

from wavesparse.opencl._clrt cimport *

import os
import threading

from wavesparse.errors import OpenCLError, OpenCLMemoryError, OpenCLUnavailable


cdef RuntimeProbes _probes  # a C global: zero until a test sets a hook


cdef RuntimeProbes *runtime_probes() noexcept nogil:
    return &_probes


def error_name(int code):
    """The name of an OpenCL status code, or ``None`` for an unknown one."""
    cdef const char *name = ws_cl_error_name(code)
    return None if name == NULL else name.decode()


def error_codes():
    """Every status code the name table holds."""
    return [ws_cl_error_code_at(i) for i in range(ws_cl_error_count())]


cdef object _error(cl_int status, str what, str log=None):
    name = error_name(status) or "unknown status %d" % status
    message = "%s failed: %s" % (what, name)
    if log:
        message += "\n--- build log ---\n" + log.rstrip()
    cls = OpenCLMemoryError if status in (
        CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_HOST_MEMORY) else OpenCLError
    return cls(status, name, message, log)


cdef inline int _check(cl_int status, str what) except -1:
    if status != CL_SUCCESS:
        raise _error(status, what)
    return 0


cdef class Runtime:
    """One OpenCL library opened with dlopen and its table of entry points."""
    cdef ws_cl_api *api
    cdef readonly str path

    def __cinit__(self, str path):
        cdef char message[1024]
        self.path = path
        # Never freed: every object made through it may outlive this Runtime.
        self.api = <ws_cl_api *>malloc(sizeof(ws_cl_api))
        if self.api == NULL:
            raise MemoryError("no memory for the OpenCL function table")
        encoded = path.encode()
        if ws_cl_load(self.api, encoded, message, sizeof(message)) != CL_SUCCESS:
            free(self.api)
            self.api = NULL
            raise OpenCLUnavailable(message.decode(errors="replace"))

    def platforms(self):
        """The platforms the library's ICD loader reports, in its order."""
        cdef cl_uint count = 0
        cdef cl_int status = self.api.clGetPlatformIDs(0, NULL, &count)
        if status == -1001 or count == 0:  # CL_PLATFORM_NOT_FOUND_KHR
            return []
        _check(status, "clGetPlatformIDs")
        cdef cl_platform_id *ids = <cl_platform_id *>malloc(
            count * sizeof(cl_platform_id))
        if ids == NULL:
            raise MemoryError("no memory for %d platform ids" % count)
        try:
            _check(self.api.clGetPlatformIDs(count, ids, NULL),
                   "clGetPlatformIDs")
            return [_make_platform(self, ids[i]) for i in range(count)]
        finally:
            free(ids)


cdef str _platform_string(Runtime rt, cl_platform_id pid, cl_platform_info what):
    cdef char text[1024]
    _check(ws_cl_platform_string(rt.api, pid, what, text, sizeof(text)),
           "clGetPlatformInfo")
    return text.decode(errors="replace").strip()


cdef Platform _make_platform(Runtime rt, cl_platform_id pid):
    cdef Platform p = Platform.__new__(Platform)
    p.runtime = rt
    p.pid = pid
    p.name = _platform_string(rt, pid, CL_PLATFORM_NAME)
    p.vendor = _platform_string(rt, pid, CL_PLATFORM_VENDOR)
    p.version = _platform_string(rt, pid, CL_PLATFORM_VERSION)
    p.profile = _platform_string(rt, pid, CL_PLATFORM_PROFILE)
    return p


cdef class Platform:
    """An OpenCL platform: ``name``, ``vendor``, ``version``, ``profile``."""
    cdef readonly Runtime runtime
    cdef cl_platform_id pid
    cdef readonly str name, vendor, version, profile

    def __init__(self):
        raise TypeError("Platform objects come from Runtime.platforms()")

    def devices(self):
        """The platform's devices of every type, in the driver's order."""
        cdef cl_uint count = 0
        cdef cl_int status = self.runtime.api.clGetDeviceIDs(
            self.pid, CL_DEVICE_TYPE_ALL, 0, NULL, &count)
        if status == CL_DEVICE_NOT_FOUND or count == 0:
            return []
        _check(status, "clGetDeviceIDs")
        cdef cl_device_id *ids = <cl_device_id *>malloc(
            count * sizeof(cl_device_id))
        if ids == NULL:
            raise MemoryError("no memory for %d device ids" % count)
        try:
            _check(self.runtime.api.clGetDeviceIDs(
                self.pid, CL_DEVICE_TYPE_ALL, count, ids, NULL),
                "clGetDeviceIDs")
            return [_make_device(self, ids[i]) for i in range(count)]
        finally:
            free(ids)

    def __repr__(self):
        return "<Platform %r %s>" % (self.name, self.version)


cdef Device _make_device(Platform platform, cl_device_id did):
    cdef ws_cl_device_props props
    _check(ws_cl_device_props_get(platform.runtime.api, did, &props),
           "clGetDeviceInfo")
    cdef Device d = Device.__new__(Device)
    d.platform = platform
    d.did = did
    kinds = []
    if props.type & CL_DEVICE_TYPE_GPU:
        kinds.append("GPU")
    if props.type & CL_DEVICE_TYPE_CPU:
        kinds.append("CPU")
    if props.type & CL_DEVICE_TYPE_ACCELERATOR:
        kinds.append("accelerator")
    d.name = props.name.decode(errors="replace").strip()
    d.vendor = props.vendor.decode(errors="replace").strip()
    d.board_name = props.board_name.decode(errors="replace").strip()
    d.type = "/".join(kinds) or "other"
    d.driver_version = props.driver_version.decode(errors="replace").strip()
    d.version = props.device_version.decode(errors="replace").strip()
    d.opencl_c_version = props.opencl_c_version.decode(errors="replace").strip()
    d.compute_units = props.compute_units
    d.max_clock_mhz = props.max_clock_mhz
    d.max_work_group_size = props.max_work_group_size
    d.local_mem_bytes = props.local_mem_bytes
    d.global_mem_bytes = props.global_mem_bytes
    d.max_alloc_bytes = props.max_alloc_bytes
    d.has_fp64 = props.double_fp_config != 0
    d.has_fp16 = props.has_fp16 != 0
    d.wavefront_width = props.wavefront_width or None
    return d


cdef class Device:
    """An OpenCL device and the properties wavesparse tunes its kernels by.

    ``wavefront_width`` is the AMD wavefront (64 on GCN) or the NVIDIA warp
    where the driver reports it, else ``None``.  ``has_fp16`` says whether
    the device lists ``cl_khr_fp16``, which arithmetic in ``half`` would
    need; the products do not: they read float16 weights through core
    OpenCL C 1.2's ``vload_half`` (and bfloat16 as shifted ``ushort``) and
    sum in float on every device.
    """
    cdef readonly Platform platform
    cdef cl_device_id did
    cdef readonly str name, vendor, board_name, type, driver_version, version
    cdef readonly str opencl_c_version
    cdef readonly unsigned int compute_units, max_clock_mhz
    cdef readonly size_t max_work_group_size
    cdef readonly unsigned long long local_mem_bytes, global_mem_bytes
    cdef readonly unsigned long long max_alloc_bytes
    cdef readonly bint has_fp64, has_fp16
    cdef readonly object wavefront_width

    def __init__(self):
        raise TypeError("Device objects come from Platform.devices()")

    @property
    def is_gpu(self):
        return "GPU" in self.type

    @property
    def key(self):
        """A value that tells this device apart within the process."""
        return (self.platform.runtime.path, <uintptr_t>self.did)

    def info(self):
        """The device's properties as a dict (what ``wavesparse devices`` shows)."""
        return {
            "platform": self.platform.name, "name": self.name,
            "board_name": self.board_name, "vendor": self.vendor,
            "type": self.type, "driver_version": self.driver_version,
            "version": self.version, "opencl_c_version": self.opencl_c_version,
            "compute_units": self.compute_units,
            "max_clock_mhz": self.max_clock_mhz,
            "max_work_group_size": self.max_work_group_size,
            "local_mem_bytes": self.local_mem_bytes,
            "global_mem_bytes": self.global_mem_bytes,
            "max_alloc_bytes": self.max_alloc_bytes,
            "has_fp64": self.has_fp64,
            "has_fp16": self.has_fp16,
            "wavefront_width": self.wavefront_width,
        }

    def __repr__(self):
        return "<Device %r (%s) on %r>" % (self.name, self.type,
                                           self.platform.name)


@cython.no_gc_clear
cdef class Context:
    """An OpenCL context over one device."""
    cdef readonly Device device
    cdef const ws_cl_api *api
    cdef cl_context ctx

    def __cinit__(self, Device device):
        cdef cl_int status = CL_SUCCESS
        cdef cl_context_properties props[3]
        self.device = device
        self.api = device.platform.runtime.api
        props[0] = CL_CONTEXT_PLATFORM
        props[1] = <cl_context_properties>device.platform.pid
        props[2] = 0
        with nogil:
            self.ctx = self.api.clCreateContext(props, 1, &device.did, NULL,
                                                NULL, &status)
        if status != CL_SUCCESS:
            self.ctx = NULL
            raise _error(status, "clCreateContext")

    def __dealloc__(self):
        if self.ctx != NULL:
            self.api.clReleaseContext(self.ctx)
            self.ctx = NULL


@cython.no_gc_clear
cdef class Queue:
    """An in-order command queue with profiling on."""
    cdef readonly Context context
    cdef cl_command_queue queue

    def __cinit__(self, Context context):
        cdef cl_int status = CL_SUCCESS
        self.context = context
        self.queue = context.api.clCreateCommandQueue(
            context.ctx, context.device.did, CL_QUEUE_PROFILING_ENABLE, &status)
        if status != CL_SUCCESS:
            self.queue = NULL
            raise _error(status, "clCreateCommandQueue")

    def finish(self):
        """Waits until every command queued so far has finished."""
        cdef cl_int status
        with nogil:
            status = self.context.api.clFinish(self.queue)
        _check(status, "clFinish")

    def __dealloc__(self):
        if self.queue != NULL:
            self.context.api.clFinish(self.queue)
            self.context.api.clReleaseCommandQueue(self.queue)
            self.queue = NULL


@cython.no_gc_clear
cdef class Program:
    """A program built from source for the context's device.

    A failed build raises :class:`OpenCLError` whose message and ``log`` hold
    the compiler's build log.
    """
    cdef readonly Context context
    cdef cl_program program
    cdef readonly str options

    def __cinit__(self, Context context, str source, str options=""):
        cdef cl_int status
        cdef size_t log_length = 0
        cdef bytes src = source.encode()
        cdef bytes opts = options.encode()
        cdef const char *psrc = src
        cdef const char *popts = opts
        cdef size_t nsrc = len(src)
        cdef char *log = NULL
        self.context = context
        self.options = options
        if _probes.fail_next_build != 0:
            status = _probes.fail_next_build
            _probes.fail_next_build = 0
            self.program = NULL
            raise _error(status, "clBuildProgram (injected)", "injected failure")
        with nogil:
            status = ws_cl_build_program(context.api, context.ctx,
                                         context.device.did, psrc, nsrc,
                                         popts, &self.program)
        if self.program != NULL:
            _probes.programs += 1
        if status == CL_SUCCESS:
            return
        text = None
        if self.program != NULL:
            ws_cl_build_log(context.api, self.program, context.device.did,
                            NULL, 0, &log_length)
            log = <char *>malloc(log_length + 1)
            if log != NULL:
                memset(log, 0, log_length + 1)
                ws_cl_build_log(context.api, self.program, context.device.did,
                                log, log_length + 1, &log_length)
                text = log.decode(errors="replace")
                free(log)
        raise _error(status, "clBuildProgram(options=%r)" % options, text)

    def __dealloc__(self):
        if self.program != NULL:
            self.context.api.clReleaseProgram(self.program)
            self.program = NULL
            _probes.programs -= 1


@cython.no_gc_clear
cdef class Buffer:
    """Device memory of ``nbytes`` bytes; ``flags`` is "rw", "r" or "w"."""
    cdef readonly Context context
    cdef cl_mem mem
    cdef readonly size_t nbytes

    def __cinit__(self, Context context, size_t nbytes, str flags="rw"):
        cdef cl_int status = CL_SUCCESS
        cdef cl_mem_flags f
        self.context = context
        self.nbytes = nbytes
        if flags == "rw":
            f = CL_MEM_READ_WRITE
        elif flags == "r":
            f = CL_MEM_READ_ONLY
        elif flags == "w":
            f = CL_MEM_WRITE_ONLY
        else:
            raise ValueError("flags must be 'rw', 'r' or 'w', got %r" % flags)
        if nbytes == 0:
            raise ValueError("nbytes must be positive: OpenCL has no empty buffers")
        if _probes.fail_next_buffer != 0:
            status = _probes.fail_next_buffer
            _probes.fail_next_buffer = 0
            raise _error(status, "clCreateBuffer(%d bytes) (injected)" % nbytes)
        self.mem = context.api.clCreateBuffer(context.ctx, f, nbytes, NULL,
                                              &status)
        if status != CL_SUCCESS:
            self.mem = NULL
            raise _error(status, "clCreateBuffer(%d bytes)" % nbytes)
        _probes.buffers += 1
        _probes.buffer_bytes += nbytes

    cdef void *_host(self, object array, bint writable, size_t offset) except NULL:
        if not array.flags.c_contiguous:
            raise ValueError("array must be C-contiguous")
        if writable and not array.flags.writeable:
            raise ValueError("array must be writable to read into it")
        if offset + array.nbytes > self.nbytes:
            raise ValueError("%d bytes at offset %d do not fit a buffer of %d"
                             % (array.nbytes, offset, self.nbytes))
        if array.nbytes == 0:
            raise ValueError("array is empty")
        return <void *><uintptr_t>array.__array_interface__["data"][0]

    def write(self, Queue queue, array, size_t offset=0):
        """Copies a C-contiguous array into the buffer (blocking)."""
        cdef void *host = self._host(array, False, offset)
        cdef size_t n = array.nbytes
        cdef cl_int status
        with nogil:
            status = self.context.api.clEnqueueWriteBuffer(
                queue.queue, self.mem, CL_TRUE, offset, n, host, 0, NULL, NULL)
        _check(status, "clEnqueueWriteBuffer")

    def read(self, Queue queue, array, size_t offset=0):
        """Copies the buffer into a writable C-contiguous array (blocking)."""
        cdef void *host = self._host(array, True, offset)
        cdef size_t n = array.nbytes
        cdef cl_int status
        with nogil:
            status = self.context.api.clEnqueueReadBuffer(
                queue.queue, self.mem, CL_TRUE, offset, n, host, 0, NULL, NULL)
        _check(status, "clEnqueueReadBuffer")

    def fill(self, Queue queue, pattern):
        """Fills the buffer with the bytes of a numpy scalar, repeated."""
        cdef bytes raw = pattern.tobytes()
        cdef const char *p = raw
        cdef size_t size = len(raw)
        if size == 0 or self.nbytes % size:
            raise ValueError("pattern of %d bytes does not tile %d bytes"
                             % (size, self.nbytes))
        _check(self.context.api.clEnqueueFillBuffer(
            queue.queue, self.mem, p, size, 0, self.nbytes, 0, NULL, NULL),
            "clEnqueueFillBuffer")

    def __dealloc__(self):
        if self.mem != NULL:
            self.context.api.clReleaseMemObject(self.mem)
            self.mem = NULL
            _probes.buffers -= 1
            _probes.buffer_bytes -= self.nbytes


cdef class LocalMemory:
    """A ``__local`` kernel argument of ``nbytes`` bytes."""
    cdef readonly size_t nbytes

    def __cinit__(self, size_t nbytes):
        self.nbytes = nbytes


@cython.no_gc_clear
cdef class Event:
    """A finished-or-pending command; ``wait()`` then read its times."""
    cdef readonly Queue queue
    cdef cl_event event

    def wait(self):
        cdef cl_int status
        with nogil:
            status = self.queue.context.api.clWaitForEvents(1, &self.event)
        _check(status, "clWaitForEvents")

    cdef cl_ulong _time(self, cl_profiling_info what) except? 0:
        cdef cl_ulong value = 0
        _check(self.queue.context.api.clGetEventProfilingInfo(
            self.event, what, sizeof(value), &value, NULL),
            "clGetEventProfilingInfo")
        return value

    @property
    def seconds(self):
        """Device time from start to end of the command, in seconds."""
        self.wait()
        return (self._time(CL_PROFILING_COMMAND_END)
                - self._time(CL_PROFILING_COMMAND_START)) * 1e-9

    def __dealloc__(self):
        if self.event != NULL:
            self.queue.context.api.clReleaseEvent(self.event)
            self.event = NULL


@cython.no_gc_clear
cdef class Kernel:
    """One kernel of a built program; set its arguments, then enqueue it."""
    cdef readonly Program program
    cdef cl_kernel kernel
    cdef readonly str name
    cdef list _args  # keeps argument objects alive until the next set

    def __cinit__(self, Program program, str name):
        cdef cl_int status = CL_SUCCESS
        self.program = program
        self.name = name
        self._args = []
        self.kernel = program.context.api.clCreateKernel(
            program.program, name.encode(), &status)
        if status != CL_SUCCESS:
            self.kernel = NULL
            raise _error(status, "clCreateKernel(%r)" % name)
        _probes.kernels += 1

    @property
    def work_group_size(self):
        """The largest work-group this kernel can run with on its device."""
        cdef size_t value = 0
        _check(self.program.context.api.clGetKernelWorkGroupInfo(
            self.kernel, self.program.context.device.did,
            CL_KERNEL_WORK_GROUP_SIZE, sizeof(value), &value, NULL),
            "clGetKernelWorkGroupInfo")
        return value

    def set_arg(self, unsigned int index, value):
        """Sets argument ``index``: a Buffer, a LocalMemory, or a numpy scalar.

        Plain Python numbers are refused: their C type would be a guess.
        """
        cdef cl_int status
        cdef cl_mem mem
        cdef bytes raw
        cdef const char *p
        if isinstance(value, Buffer):
            mem = (<Buffer>value).mem
            status = self.program.context.api.clSetKernelArg(
                self.kernel, index, sizeof(cl_mem), &mem)
        elif isinstance(value, LocalMemory):
            status = self.program.context.api.clSetKernelArg(
                self.kernel, index, (<LocalMemory>value).nbytes, NULL)
        elif hasattr(value, "dtype") and getattr(value, "shape", None) == ():
            raw = value.tobytes()
            p = raw
            status = self.program.context.api.clSetKernelArg(
                self.kernel, index, len(raw), p)
        else:
            raise TypeError("argument %d of kernel %s must be a Buffer, a "
                            "LocalMemory or a numpy scalar such as "
                            "np.uint32(n), got %s"
                            % (index, self.name, type(value).__name__))
        _check(status, "clSetKernelArg(%s, %d)" % (self.name, index))

    def enqueue(self, Queue queue, global_size, local_size=None):
        """Enqueues over ``global_size`` (1 to 3 dims) in groups of ``local_size``."""
        cdef size_t g[3]
        cdef size_t l[3]
        cdef cl_uint dims = len(global_size)
        cdef cl_int status
        cdef Event ev = Event.__new__(Event)
        if dims < 1 or dims > 3:
            raise ValueError("global_size must have 1 to 3 entries, got %r"
                             % (global_size,))
        if local_size is not None and len(local_size) != dims:
            raise ValueError("local_size %r must have as many entries as "
                             "global_size %r" % (local_size, global_size))
        for i in range(dims):
            g[i] = global_size[i]
            l[i] = local_size[i] if local_size is not None else 0
        ev.queue = queue
        with nogil:
            status = self.program.context.api.clEnqueueNDRangeKernel(
                queue.queue, self.kernel, dims, NULL, g,
                l if local_size is not None else NULL, 0, NULL, &ev.event)
        if status != CL_SUCCESS:
            ev.event = NULL
            raise _error(status, "clEnqueueNDRangeKernel(%s)" % self.name)
        return ev

    def __dealloc__(self):
        if self.kernel != NULL:
            self.program.context.api.clReleaseKernel(self.kernel)
            self.kernel = NULL
            _probes.kernels -= 1


_runtimes = {}
_runtime_lock = threading.Lock()


def runtime(path=None):
    """The Runtime for ``path``, else $WAVESPARSE_OPENCL_LIBRARY, else libOpenCL.

    Loaded once per path; a failure raises :class:`OpenCLUnavailable` with the
    reason (and is retried on the next call).
    """
    if path is None:
        path = os.environ.get("WAVESPARSE_OPENCL_LIBRARY", "")
    with _runtime_lock:
        found = _runtimes.get(path)
        if found is None:
            found = Runtime(path)
            _runtimes[path] = found
        return found
