/* clrt: opens the OpenCL library at run time; see include/wavesparse/clrt.h. */
#include "wavesparse/clrt.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_CL_NAME_ENTRY(name, value) {value, #name},
static const struct {
    cl_int code;
    const char *name;
} ws_cl_error_table[] = {WS_CL_ERROR_LIST(WS_CL_NAME_ENTRY)};
#undef WS_CL_NAME_ENTRY

#define WS_CL_ERROR_TABLE_SIZE \
    (sizeof(ws_cl_error_table) / sizeof(ws_cl_error_table[0]))

const char *ws_cl_error_name(cl_int code) {
    for (size_t i = 0; i < WS_CL_ERROR_TABLE_SIZE; ++i) {
        if (ws_cl_error_table[i].code == code) {
            return ws_cl_error_table[i].name;
        }
    }
    return NULL;
}

size_t ws_cl_error_count(void) { return WS_CL_ERROR_TABLE_SIZE; }

cl_int ws_cl_error_code_at(size_t index) {
    return index < WS_CL_ERROR_TABLE_SIZE ? ws_cl_error_table[index].code : 1;
}

static void *ws_cl_open(const char *path, char *message, size_t message_size) {
    static const char *const defaults[] = {"libOpenCL.so.1", "libOpenCL.so"};
    if (path != NULL && path[0] != '\0') {
        void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            const char *why = dlerror();
            snprintf(message, message_size, "cannot open %s: %s", path,
                     why ? why : "unknown dlopen error");
        }
        return handle;
    }
    const char *first_error = NULL;
    char first[WS_CL_MESSAGE_SIZE] = "";
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); ++i) {
        void *handle = dlopen(defaults[i], RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL) {
            return handle;
        }
        if (first_error == NULL) {
            first_error = dlerror();
            snprintf(first, sizeof(first), "%s",
                     first_error ? first_error : "unknown dlopen error");
        }
    }
    snprintf(message, message_size,
             "no OpenCL library: tried libOpenCL.so.1 and libOpenCL.so (%s)",
             first);
    return NULL;
}

cl_int ws_cl_load(ws_cl_api *api, const char *path, char *message,
                  size_t message_size) {
    memset(api, 0, sizeof(*api));
    void *handle = ws_cl_open(path, message, message_size);
    if (handle == NULL) {
        return CL_INVALID_VALUE;
    }
#define WS_CL_RESOLVE(ret, name, args)                                        \
    {                                                                         \
        void *symbol = dlsym(handle, #name);                                  \
        if (symbol == NULL) {                                                 \
            snprintf(message, message_size,                                   \
                     "%s has no entry point %s (OpenCL 1.2 is required)",     \
                     (path && path[0]) ? path : "libOpenCL", #name);          \
            dlclose(handle);                                                  \
            memset(api, 0, sizeof(*api));                                     \
            return CL_INVALID_VALUE;                                          \
        }                                                                     \
        memcpy(&api->name, &symbol, sizeof(symbol));                          \
    }
    WS_CL_ENTRY_POINTS(WS_CL_RESOLVE)
#undef WS_CL_RESOLVE
    api->library = handle;
    return CL_SUCCESS;
}

static cl_int ws_cl_device_string(const ws_cl_api *api, cl_device_id device,
                                  cl_device_info what, char *out,
                                  size_t out_size) {
    out[0] = '\0';
    cl_int status = api->clGetDeviceInfo(device, what, out_size - 1, out, NULL);
    out[out_size - 1] = '\0';
    return status;
}

static cl_uint ws_cl_vendor_uint(const ws_cl_api *api, cl_device_id device,
                                 cl_device_info what) {
    /* Vendor queries fail with CL_INVALID_VALUE on other drivers: 0 then. */
    cl_uint value = 0;
    if (api->clGetDeviceInfo(device, what, sizeof(value), &value, NULL) !=
        CL_SUCCESS) {
        return 0;
    }
    return value;
}

/*
 * Whether the device's space-separated extension list names `extension`
 * (a whole word: cl_khr_fp16 is not cl_khr_fp16_foo).  0 when the list
 * cannot be read.
 */
static cl_uint ws_cl_has_extension(const ws_cl_api *api, cl_device_id device,
                                   const char *extension) {
    size_t size = 0;
    if (api->clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size) !=
            CL_SUCCESS ||
        size == 0) {
        return 0;
    }
    char *list = malloc(size + 1);
    if (list == NULL) {
        return 0;
    }
    cl_uint found = 0;
    if (api->clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, list, NULL) ==
        CL_SUCCESS) {
        list[size] = '\0';
        const size_t length = strlen(extension);
        for (const char *at = strstr(list, extension); at != NULL;
             at = strstr(at + 1, extension)) {
            const int starts = at == list || at[-1] == ' ';
            const int ends = at[length] == '\0' || at[length] == ' ';
            if (starts && ends) {
                found = 1;
                break;
            }
        }
    }
    free(list);
    return found;
}

cl_int ws_cl_device_props_get(const ws_cl_api *api, cl_device_id device,
                              ws_cl_device_props *props) {
    memset(props, 0, sizeof(*props));
    cl_int status;
#define WS_CL_TRY(call)              \
    if ((status = (call)) != CL_SUCCESS) { \
        return status;               \
    }
    WS_CL_TRY(ws_cl_device_string(api, device, CL_DEVICE_NAME, props->name,
                                  sizeof(props->name)));
    WS_CL_TRY(ws_cl_device_string(api, device, CL_DEVICE_VENDOR,
                                  props->vendor, sizeof(props->vendor)));
    WS_CL_TRY(ws_cl_device_string(api, device, CL_DRIVER_VERSION,
                                  props->driver_version,
                                  sizeof(props->driver_version)));
    WS_CL_TRY(ws_cl_device_string(api, device, CL_DEVICE_VERSION,
                                  props->device_version,
                                  sizeof(props->device_version)));
    WS_CL_TRY(ws_cl_device_string(api, device, CL_DEVICE_OPENCL_C_VERSION,
                                  props->opencl_c_version,
                                  sizeof(props->opencl_c_version)));
    WS_CL_TRY(api->clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof(props->type),
                                   &props->type, NULL));
    WS_CL_TRY(api->clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS,
                                   sizeof(props->compute_units),
                                   &props->compute_units, NULL));
    WS_CL_TRY(api->clGetDeviceInfo(device, CL_DEVICE_MAX_CLOCK_FREQUENCY,
                                   sizeof(props->max_clock_mhz),
                                   &props->max_clock_mhz, NULL));
    WS_CL_TRY(api->clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE,
                                   sizeof(props->max_work_group_size),
                                   &props->max_work_group_size, NULL));
    WS_CL_TRY(api->clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE,
                                   sizeof(props->local_mem_bytes),
                                   &props->local_mem_bytes, NULL));
    WS_CL_TRY(api->clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE,
                                   sizeof(props->global_mem_bytes),
                                   &props->global_mem_bytes, NULL));
    WS_CL_TRY(api->clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
                                   sizeof(props->max_alloc_bytes),
                                   &props->max_alloc_bytes, NULL));
#undef WS_CL_TRY
    /* Devices without fp64 may refuse the query: that means "none". */
    if (api->clGetDeviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG,
                             sizeof(props->double_fp_config),
                             &props->double_fp_config, NULL) != CL_SUCCESS) {
        props->double_fp_config = 0;
    }
    props->wavefront_width =
        ws_cl_vendor_uint(api, device, CL_DEVICE_WAVEFRONT_WIDTH_AMD);
    if (props->wavefront_width == 0) {
        props->wavefront_width =
            ws_cl_vendor_uint(api, device, CL_DEVICE_WARP_SIZE_NV);
    }
    props->has_fp16 = ws_cl_has_extension(api, device, "cl_khr_fp16");
    if (ws_cl_device_string(api, device, CL_DEVICE_BOARD_NAME_AMD,
                            props->board_name,
                            sizeof(props->board_name)) != CL_SUCCESS) {
        props->board_name[0] = '\0';
    }
    return CL_SUCCESS;
}

cl_int ws_cl_platform_string(const ws_cl_api *api, cl_platform_id platform,
                             cl_platform_info what, char *out,
                             size_t out_size) {
    out[0] = '\0';
    cl_int status =
        api->clGetPlatformInfo(platform, what, out_size - 1, out, NULL);
    out[out_size - 1] = '\0';
    return status;
}

cl_int ws_cl_build_program(const ws_cl_api *api, cl_context context,
                           cl_device_id device, const char *source,
                           size_t source_length, const char *options,
                           cl_program *program) {
    cl_int status = CL_SUCCESS;
    *program = api->clCreateProgramWithSource(context, 1, &source,
                                              &source_length, &status);
    if (status != CL_SUCCESS) {
        *program = NULL;
        return status;
    }
    return api->clBuildProgram(*program, 1, &device, options, NULL, NULL);
}

cl_int ws_cl_build_log(const ws_cl_api *api, cl_program program,
                       cl_device_id device, char *log, size_t log_size,
                       size_t *log_length) {
    if (log_size > 0) {
        log[0] = '\0';
    }
    cl_int status = api->clGetProgramBuildInfo(
        program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, log_length);
    if (status != CL_SUCCESS || *log_length > log_size) {
        return status;
    }
    status = api->clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG,
                                        log_size, log, NULL);
    if (log_size > 0) {
        log[log_size - 1] = '\0';
    }
    return status;
}
