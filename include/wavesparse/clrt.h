/*
 * clrt: the OpenCL library, opened at run time.
 *
 * ws_cl_load() opens libOpenCL with dlopen and resolves the entry points below
 * into a ws_cl_api table; every other call of the package goes through that
 * table.  Functions return OpenCL status codes (CL_SUCCESS is 0) and write any
 * text for the caller into buffers the caller hands them; nothing prints.
 */
#ifndef WAVESPARSE_CLRT_H
#define WAVESPARSE_CLRT_H

#include "wavesparse/cl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WS_CL_ENTRY_POINTS(X)                                                   \
    X(cl_int, clGetPlatformIDs, (cl_uint, cl_platform_id *, cl_uint *))         \
    X(cl_int, clGetPlatformInfo,                                                \
      (cl_platform_id, cl_platform_info, size_t, void *, size_t *))             \
    X(cl_int, clGetDeviceIDs,                                                   \
      (cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *))     \
    X(cl_int, clGetDeviceInfo,                                                  \
      (cl_device_id, cl_device_info, size_t, void *, size_t *))                 \
    X(cl_context, clCreateContext,                                              \
      (const cl_context_properties *, cl_uint, const cl_device_id *,            \
       void(WS_CL_API *)(const char *, const void *, size_t, void *), void *,   \
       cl_int *))                                                               \
    X(cl_int, clReleaseContext, (cl_context))                                   \
    X(cl_command_queue, clCreateCommandQueue,                                   \
      (cl_context, cl_device_id, cl_command_queue_properties, cl_int *))        \
    X(cl_int, clReleaseCommandQueue, (cl_command_queue))                        \
    X(cl_program, clCreateProgramWithSource,                                    \
      (cl_context, cl_uint, const char **, const size_t *, cl_int *))           \
    X(cl_int, clBuildProgram,                                                   \
      (cl_program, cl_uint, const cl_device_id *, const char *,                 \
       void(WS_CL_API *)(cl_program, void *), void *))                          \
    X(cl_int, clGetProgramBuildInfo,                                            \
      (cl_program, cl_device_id, cl_program_build_info, size_t, void *,         \
       size_t *))                                                               \
    X(cl_int, clReleaseProgram, (cl_program))                                   \
    X(cl_kernel, clCreateKernel, (cl_program, const char *, cl_int *))          \
    X(cl_int, clReleaseKernel, (cl_kernel))                                     \
    X(cl_int, clSetKernelArg, (cl_kernel, cl_uint, size_t, const void *))       \
    X(cl_int, clGetKernelWorkGroupInfo,                                         \
      (cl_kernel, cl_device_id, cl_kernel_work_group_info, size_t, void *,      \
       size_t *))                                                               \
    X(cl_mem, clCreateBuffer,                                                   \
      (cl_context, cl_mem_flags, size_t, void *, cl_int *))                     \
    X(cl_int, clReleaseMemObject, (cl_mem))                                     \
    X(cl_int, clEnqueueReadBuffer,                                              \
      (cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint,      \
       const cl_event *, cl_event *))                                           \
    X(cl_int, clEnqueueWriteBuffer,                                             \
      (cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *,         \
       cl_uint, const cl_event *, cl_event *))                                  \
    X(cl_int, clEnqueueFillBuffer,                                              \
      (cl_command_queue, cl_mem, const void *, size_t, size_t, size_t,          \
       cl_uint, const cl_event *, cl_event *))                                  \
    X(cl_int, clEnqueueNDRangeKernel,                                           \
      (cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,    \
       const size_t *, cl_uint, const cl_event *, cl_event *))                  \
    X(cl_int, clFinish, (cl_command_queue))                                     \
    X(cl_int, clWaitForEvents, (cl_uint, const cl_event *))                     \
    X(cl_int, clGetEventProfilingInfo,                                          \
      (cl_event, cl_profiling_info, size_t, void *, size_t *))                  \
    X(cl_int, clReleaseEvent, (cl_event))

#define WS_CL_DECLARE_ENTRY(ret, name, args) ret(WS_CL_API *name) args;
typedef struct ws_cl_api {
    void *library; /* the dlopen handle; NULL until loaded */
    WS_CL_ENTRY_POINTS(WS_CL_DECLARE_ENTRY)
} ws_cl_api;
#undef WS_CL_DECLARE_ENTRY

/* Longest text a clrt function writes into a caller's message buffer. */
#define WS_CL_MESSAGE_SIZE 1024

/*
 * Opens the OpenCL library at `path` (or libOpenCL.so.1, then libOpenCL.so,
 * when `path` is NULL or empty) and fills `api`.  Returns CL_SUCCESS, or
 * CL_INVALID_VALUE with the reason in `message` (the path tried and dlerror's
 * text, or the missing entry point); `api` is then left unloaded.
 */
cl_int ws_cl_load(ws_cl_api *api, const char *path, char *message,
                  size_t message_size);

/* The name of an OpenCL status code ("CL_BUILD_PROGRAM_FAILURE"), or NULL. */
const char *ws_cl_error_name(cl_int code);

/* How many codes the name table holds, and the i-th of them (for tests). */
size_t ws_cl_error_count(void);
cl_int ws_cl_error_code_at(size_t index);

/* The properties `wavesparse devices` shows; strings are NUL-terminated. */
typedef struct ws_cl_device_props {
    char name[256];
    char vendor[256];
    char board_name[256];     /* AMD's marketing name; empty elsewhere */
    char driver_version[128];
    char device_version[128];
    char opencl_c_version[128];
    cl_ulong type;            /* CL_DEVICE_TYPE_* bits */
    cl_uint compute_units;
    cl_uint max_clock_mhz;
    size_t max_work_group_size;
    cl_ulong local_mem_bytes;
    cl_ulong global_mem_bytes;
    cl_ulong max_alloc_bytes;
    cl_ulong double_fp_config; /* 0 when the device has no fp64 */
    cl_uint wavefront_width;   /* AMD wavefront or NVIDIA warp; 0 if unknown */
    cl_uint has_fp16;          /* 1 when CL_DEVICE_EXTENSIONS lists cl_khr_fp16 */
} ws_cl_device_props;

cl_int ws_cl_device_props_get(const ws_cl_api *api, cl_device_id device,
                              ws_cl_device_props *props);

/* A platform's name, vendor and version strings into caller buffers. */
cl_int ws_cl_platform_string(const ws_cl_api *api, cl_platform_id platform,
                             cl_platform_info what, char *out,
                             size_t out_size);

/*
 * Creates a program from `source` and builds it for `device` with `options`.
 * When the build fails the program is still returned in *program, so that its
 * log can be read with ws_cl_build_log; the caller releases it.  *program is
 * NULL only when no program could be created.
 */
cl_int ws_cl_build_program(const ws_cl_api *api, cl_context context,
                           cl_device_id device, const char *source,
                           size_t source_length, const char *options,
                           cl_program *program);

/*
 * The compiler's log for `program` on `device`: *log_length receives its full
 * length (with the NUL); the text is copied only when it fits in log_size.
 */
cl_int ws_cl_build_log(const ws_cl_api *api, cl_program program,
                       cl_device_id device, char *log, size_t log_size,
                       size_t *log_length);

#ifdef __cplusplus
}
#endif

#endif /* WAVESPARSE_CLRT_H */
