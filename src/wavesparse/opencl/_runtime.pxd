# What the runtime shares at the C level: its probes, which only the test-only
# extension wavesparse._testing reads and sets (see that module's docstring).
# Cython exports runtime_probes() through _runtime's __pyx_capi__; a module
# that cimports it gets the one struct of the process.
from wavesparse.opencl._clrt cimport cl_int


cdef struct RuntimeProbes:
    # OpenCL objects alive: buffers (and their bytes), programs, kernels.
    Py_ssize_t buffers
    Py_ssize_t buffer_bytes
    Py_ssize_t programs
    Py_ssize_t kernels
    # Nonzero: the status the next buffer allocation (or build) returns
    # instead of calling OpenCL; reset to 0 once used.
    cl_int fail_next_buffer
    cl_int fail_next_build


cdef RuntimeProbes *runtime_probes() noexcept nogil
