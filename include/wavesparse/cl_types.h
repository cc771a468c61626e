/*
 * Our own declarations of the OpenCL 1.2 types and constants wavesparse uses.
 *
 * No OpenCL SDK is needed to build: the library is opened at run time (see
 * clrt.h) and every entry point goes through a function table.  The values are
 * those of the Khronos specification; only what the package uses is declared.
 */
#ifndef WAVESPARSE_CL_TYPES_H
#define WAVESPARSE_CL_TYPES_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define WS_CL_API __stdcall
#else
#define WS_CL_API
#endif

typedef int32_t cl_int;
typedef uint32_t cl_uint;
typedef uint64_t cl_ulong;
typedef cl_uint cl_bool;
typedef cl_ulong cl_bitfield;
typedef cl_bitfield cl_device_type;
typedef cl_bitfield cl_command_queue_properties;
typedef cl_bitfield cl_mem_flags;
typedef cl_bitfield cl_device_fp_config;
typedef intptr_t cl_context_properties;
typedef cl_uint cl_platform_info;
typedef cl_uint cl_device_info;
typedef cl_uint cl_program_build_info;
typedef cl_uint cl_kernel_work_group_info;
typedef cl_uint cl_profiling_info;

typedef struct _cl_platform_id *cl_platform_id;
typedef struct _cl_device_id *cl_device_id;
typedef struct _cl_context *cl_context;
typedef struct _cl_command_queue *cl_command_queue;
typedef struct _cl_mem *cl_mem;
typedef struct _cl_program *cl_program;
typedef struct _cl_kernel *cl_kernel;
typedef struct _cl_event *cl_event;

/*
 * Every status code the package can meet: OpenCL 1.2's, plus the ICD loader's
 * "no platform".  One list gives both the constants and the name table in
 * clrt.c, so no code can be declared without a name.
 */
#define WS_CL_ERROR_LIST(X)                                   \
    X(CL_SUCCESS, 0)                                          \
    X(CL_DEVICE_NOT_FOUND, -1)                                \
    X(CL_DEVICE_NOT_AVAILABLE, -2)                            \
    X(CL_COMPILER_NOT_AVAILABLE, -3)                          \
    X(CL_MEM_OBJECT_ALLOCATION_FAILURE, -4)                   \
    X(CL_OUT_OF_RESOURCES, -5)                                \
    X(CL_OUT_OF_HOST_MEMORY, -6)                              \
    X(CL_PROFILING_INFO_NOT_AVAILABLE, -7)                    \
    X(CL_MEM_COPY_OVERLAP, -8)                                \
    X(CL_IMAGE_FORMAT_MISMATCH, -9)                           \
    X(CL_IMAGE_FORMAT_NOT_SUPPORTED, -10)                     \
    X(CL_BUILD_PROGRAM_FAILURE, -11)                          \
    X(CL_MAP_FAILURE, -12)                                    \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET, -13)                   \
    X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, -14)      \
    X(CL_COMPILE_PROGRAM_FAILURE, -15)                        \
    X(CL_LINKER_NOT_AVAILABLE, -16)                           \
    X(CL_LINK_PROGRAM_FAILURE, -17)                           \
    X(CL_DEVICE_PARTITION_FAILED, -18)                        \
    X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE, -19)                  \
    X(CL_INVALID_VALUE, -30)                                  \
    X(CL_INVALID_DEVICE_TYPE, -31)                            \
    X(CL_INVALID_PLATFORM, -32)                               \
    X(CL_INVALID_DEVICE, -33)                                 \
    X(CL_INVALID_CONTEXT, -34)                                \
    X(CL_INVALID_QUEUE_PROPERTIES, -35)                       \
    X(CL_INVALID_COMMAND_QUEUE, -36)                          \
    X(CL_INVALID_HOST_PTR, -37)                               \
    X(CL_INVALID_MEM_OBJECT, -38)                             \
    X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, -39)                \
    X(CL_INVALID_IMAGE_SIZE, -40)                             \
    X(CL_INVALID_SAMPLER, -41)                                \
    X(CL_INVALID_BINARY, -42)                                 \
    X(CL_INVALID_BUILD_OPTIONS, -43)                          \
    X(CL_INVALID_PROGRAM, -44)                                \
    X(CL_INVALID_PROGRAM_EXECUTABLE, -45)                     \
    X(CL_INVALID_KERNEL_NAME, -46)                            \
    X(CL_INVALID_KERNEL_DEFINITION, -47)                      \
    X(CL_INVALID_KERNEL, -48)                                 \
    X(CL_INVALID_ARG_INDEX, -49)                              \
    X(CL_INVALID_ARG_VALUE, -50)                              \
    X(CL_INVALID_ARG_SIZE, -51)                               \
    X(CL_INVALID_KERNEL_ARGS, -52)                            \
    X(CL_INVALID_WORK_DIMENSION, -53)                         \
    X(CL_INVALID_WORK_GROUP_SIZE, -54)                        \
    X(CL_INVALID_WORK_ITEM_SIZE, -55)                         \
    X(CL_INVALID_GLOBAL_OFFSET, -56)                          \
    X(CL_INVALID_EVENT_WAIT_LIST, -57)                        \
    X(CL_INVALID_EVENT, -58)                                  \
    X(CL_INVALID_OPERATION, -59)                              \
    X(CL_INVALID_GL_OBJECT, -60)                              \
    X(CL_INVALID_BUFFER_SIZE, -61)                            \
    X(CL_INVALID_MIP_LEVEL, -62)                              \
    X(CL_INVALID_GLOBAL_WORK_SIZE, -63)                       \
    X(CL_INVALID_PROPERTY, -64)                               \
    X(CL_INVALID_IMAGE_DESCRIPTOR, -65)                       \
    X(CL_INVALID_COMPILER_OPTIONS, -66)                       \
    X(CL_INVALID_LINKER_OPTIONS, -67)                         \
    X(CL_INVALID_DEVICE_PARTITION_COUNT, -68)                 \
    X(CL_PLATFORM_NOT_FOUND_KHR, -1001)

#define WS_CL_ENUM_ENTRY(name, value) name = value,
enum ws_cl_status_codes { WS_CL_ERROR_LIST(WS_CL_ENUM_ENTRY) };
#undef WS_CL_ENUM_ENTRY

/* cl_bool */
#define CL_FALSE 0u
#define CL_TRUE 1u

/* cl_platform_info */
#define CL_PLATFORM_PROFILE 0x0900u
#define CL_PLATFORM_VERSION 0x0901u
#define CL_PLATFORM_NAME 0x0902u
#define CL_PLATFORM_VENDOR 0x0903u

/* cl_device_type */
#define CL_DEVICE_TYPE_DEFAULT (1u << 0)
#define CL_DEVICE_TYPE_CPU (1u << 1)
#define CL_DEVICE_TYPE_GPU (1u << 2)
#define CL_DEVICE_TYPE_ACCELERATOR (1u << 3)
#define CL_DEVICE_TYPE_CUSTOM (1u << 4)
#define CL_DEVICE_TYPE_ALL 0xFFFFFFFFu

/* cl_device_info */
#define CL_DEVICE_TYPE 0x1000u
#define CL_DEVICE_MAX_COMPUTE_UNITS 0x1002u
#define CL_DEVICE_MAX_WORK_GROUP_SIZE 0x1004u
#define CL_DEVICE_MAX_CLOCK_FREQUENCY 0x100Cu
#define CL_DEVICE_MAX_MEM_ALLOC_SIZE 0x1010u
#define CL_DEVICE_GLOBAL_MEM_SIZE 0x101Fu
#define CL_DEVICE_LOCAL_MEM_SIZE 0x1023u
#define CL_DEVICE_NAME 0x102Bu
#define CL_DEVICE_VENDOR 0x102Cu
#define CL_DRIVER_VERSION 0x102Du
#define CL_DEVICE_VERSION 0x102Fu
#define CL_DEVICE_EXTENSIONS 0x1030u
#define CL_DEVICE_DOUBLE_FP_CONFIG 0x1032u
#define CL_DEVICE_OPENCL_C_VERSION 0x103Du
/* vendor queries: answered only by the vendor's driver, else CL_INVALID_VALUE */
#define CL_DEVICE_WARP_SIZE_NV 0x4003u
#define CL_DEVICE_BOARD_NAME_AMD 0x4038u
#define CL_DEVICE_WAVEFRONT_WIDTH_AMD 0x4043u

/* cl_context_properties */
#define CL_CONTEXT_PLATFORM 0x1084

/* cl_command_queue_properties */
#define CL_QUEUE_PROFILING_ENABLE (1u << 1)

/* cl_mem_flags */
#define CL_MEM_READ_WRITE (1u << 0)
#define CL_MEM_WRITE_ONLY (1u << 1)
#define CL_MEM_READ_ONLY (1u << 2)

/* cl_program_build_info */
#define CL_PROGRAM_BUILD_LOG 0x1183u

/* cl_kernel_work_group_info */
#define CL_KERNEL_WORK_GROUP_SIZE 0x11B0u
#define CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE 0x11B3u

/* cl_profiling_info */
#define CL_PROFILING_COMMAND_QUEUED 0x1280u
#define CL_PROFILING_COMMAND_START 0x1282u
#define CL_PROFILING_COMMAND_END 0x1283u

#endif /* WAVESPARSE_CL_TYPES_H */
