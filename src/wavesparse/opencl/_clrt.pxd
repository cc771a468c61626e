# Declarations of the run-time OpenCL layer (include/wavesparse/clrt.h).
from libc.stdint cimport int32_t, uint32_t, uint64_t, intptr_t


cdef extern from "wavesparse/cl_types.h" nogil:
    ctypedef int32_t cl_int
    ctypedef uint32_t cl_uint
    ctypedef uint64_t cl_ulong
    ctypedef cl_uint cl_bool
    ctypedef cl_ulong cl_device_type
    ctypedef cl_ulong cl_command_queue_properties
    ctypedef cl_ulong cl_mem_flags
    ctypedef intptr_t cl_context_properties
    ctypedef cl_uint cl_platform_info
    ctypedef cl_uint cl_profiling_info
    ctypedef cl_uint cl_kernel_work_group_info

    ctypedef struct _cl_platform_id
    ctypedef struct _cl_device_id
    ctypedef struct _cl_context
    ctypedef struct _cl_command_queue
    ctypedef struct _cl_mem
    ctypedef struct _cl_program
    ctypedef struct _cl_kernel
    ctypedef struct _cl_event
    ctypedef _cl_platform_id *cl_platform_id
    ctypedef _cl_device_id *cl_device_id
    ctypedef _cl_context *cl_context
    ctypedef _cl_command_queue *cl_command_queue
    ctypedef _cl_mem *cl_mem
    ctypedef _cl_program *cl_program
    ctypedef _cl_kernel *cl_kernel
    ctypedef _cl_event *cl_event

    cl_int CL_SUCCESS
    cl_int CL_DEVICE_NOT_FOUND
    cl_int CL_MEM_OBJECT_ALLOCATION_FAILURE
    cl_int CL_OUT_OF_HOST_MEMORY
    cl_int CL_BUILD_PROGRAM_FAILURE
    cl_int CL_INVALID_VALUE
    cl_bool CL_TRUE
    cl_bool CL_FALSE
    cl_platform_info CL_PLATFORM_PROFILE
    cl_platform_info CL_PLATFORM_VERSION
    cl_platform_info CL_PLATFORM_NAME
    cl_platform_info CL_PLATFORM_VENDOR
    cl_device_type CL_DEVICE_TYPE_CPU
    cl_device_type CL_DEVICE_TYPE_GPU
    cl_device_type CL_DEVICE_TYPE_ACCELERATOR
    cl_device_type CL_DEVICE_TYPE_ALL
    cl_context_properties CL_CONTEXT_PLATFORM
    cl_command_queue_properties CL_QUEUE_PROFILING_ENABLE
    cl_mem_flags CL_MEM_READ_WRITE
    cl_mem_flags CL_MEM_WRITE_ONLY
    cl_mem_flags CL_MEM_READ_ONLY
    cl_kernel_work_group_info CL_KERNEL_WORK_GROUP_SIZE
    cl_kernel_work_group_info CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE
    cl_profiling_info CL_PROFILING_COMMAND_QUEUED
    cl_profiling_info CL_PROFILING_COMMAND_START
    cl_profiling_info CL_PROFILING_COMMAND_END


cdef extern from "wavesparse/clrt.h" nogil:
    ctypedef struct ws_cl_api:
        void *library
        cl_int (*clGetPlatformIDs)(cl_uint, cl_platform_id *, cl_uint *) noexcept nogil
        cl_int (*clGetDeviceIDs)(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *) noexcept nogil
        cl_context (*clCreateContext)(const cl_context_properties *, cl_uint, const cl_device_id *, void *, void *, cl_int *) noexcept nogil
        cl_int (*clReleaseContext)(cl_context) noexcept nogil
        cl_command_queue (*clCreateCommandQueue)(cl_context, cl_device_id, cl_command_queue_properties, cl_int *) noexcept nogil
        cl_int (*clReleaseCommandQueue)(cl_command_queue) noexcept nogil
        cl_int (*clReleaseProgram)(cl_program) noexcept nogil
        cl_kernel (*clCreateKernel)(cl_program, const char *, cl_int *) noexcept nogil
        cl_int (*clReleaseKernel)(cl_kernel) noexcept nogil
        cl_int (*clSetKernelArg)(cl_kernel, cl_uint, size_t, const void *) noexcept nogil
        cl_int (*clGetKernelWorkGroupInfo)(cl_kernel, cl_device_id, cl_kernel_work_group_info, size_t, void *, size_t *) noexcept nogil
        cl_mem (*clCreateBuffer)(cl_context, cl_mem_flags, size_t, void *, cl_int *) noexcept nogil
        cl_int (*clReleaseMemObject)(cl_mem) noexcept nogil
        cl_int (*clEnqueueReadBuffer)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint, const cl_event *, cl_event *) noexcept nogil
        cl_int (*clEnqueueWriteBuffer)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint, const cl_event *, cl_event *) noexcept nogil
        cl_int (*clEnqueueFillBuffer)(cl_command_queue, cl_mem, const void *, size_t, size_t, size_t, cl_uint, const cl_event *, cl_event *) noexcept nogil
        cl_int (*clEnqueueNDRangeKernel)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint, const cl_event *, cl_event *) noexcept nogil
        cl_int (*clFinish)(cl_command_queue) noexcept nogil
        cl_int (*clWaitForEvents)(cl_uint, const cl_event *) noexcept nogil
        cl_int (*clGetEventProfilingInfo)(cl_event, cl_profiling_info, size_t, void *, size_t *) noexcept nogil
        cl_int (*clReleaseEvent)(cl_event) noexcept nogil

    ctypedef struct ws_cl_device_props:
        char name[256]
        char vendor[256]
        char board_name[256]
        char driver_version[128]
        char device_version[128]
        char opencl_c_version[128]
        cl_ulong type
        cl_uint compute_units
        cl_uint max_clock_mhz
        size_t max_work_group_size
        cl_ulong local_mem_bytes
        cl_ulong global_mem_bytes
        cl_ulong max_alloc_bytes
        cl_ulong double_fp_config
        cl_uint wavefront_width
        cl_uint has_fp16

    int WS_CL_MESSAGE_SIZE
    cl_int ws_cl_load(ws_cl_api *api, const char *path, char *message,
                      size_t message_size)
    const char *ws_cl_error_name(cl_int code)
    size_t ws_cl_error_count()
    cl_int ws_cl_error_code_at(size_t index)
    cl_int ws_cl_device_props_get(const ws_cl_api *api, cl_device_id device,
                                  ws_cl_device_props *props)
    cl_int ws_cl_platform_string(const ws_cl_api *api, cl_platform_id platform,
                                 cl_platform_info what, char *out,
                                 size_t out_size)
    cl_int ws_cl_build_program(const ws_cl_api *api, cl_context context,
                               cl_device_id device, const char *source,
                               size_t source_length, const char *options,
                               cl_program *program)
    cl_int ws_cl_build_log(const ws_cl_api *api, cl_program program,
                           cl_device_id device, char *log, size_t log_size,
                           size_t *log_length)
