"""The exceptions wavesparse raises for OpenCL.

Examples
--------
>>> from wavesparse.errors import OpenCLError
>>> err = OpenCLError(-11, "CL_BUILD_PROGRAM_FAILURE", "build failed", "log")
>>> err.name, err.code
('CL_BUILD_PROGRAM_FAILURE', -11)
"""

__all__ = ["OpenCLError", "OpenCLMemoryError", "OpenCLUnavailable"]


class OpenCLUnavailable(RuntimeError):
    """No usable OpenCL: the library, a platform or a device is missing.

    The message says which, and what was tried.

    Examples
    --------
    >>> str(OpenCLUnavailable("no OpenCL platform"))
    'no OpenCL platform'
    """


class OpenCLError(RuntimeError):
    """An OpenCL call returned an error status.

    Parameters
    ----------
    code : int
        The OpenCL status code, such as -11.
    name : str
        Its name, such as ``"CL_BUILD_PROGRAM_FAILURE"``.
    message : str
        What failed, with the name (and the build log for a failed build).
    log : str or None
        The compiler's build log, for build failures.

    Examples
    --------
    >>> OpenCLError(-5, "CL_OUT_OF_RESOURCES", "clFinish failed").code
    -5
    """

    def __init__(self, code, name, message, log=None):
        super().__init__(message)
        self.code = code
        self.name = name
        self.log = log


class OpenCLMemoryError(OpenCLError, MemoryError):
    """An OpenCL allocation failed (device or host memory).

    Examples
    --------
    >>> issubclass(OpenCLMemoryError, MemoryError)
    True
    """
