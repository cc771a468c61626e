/* Dense to CSR and BSR; see convert.h. */
#include "wavesparse/convert.h"

#include <math.h>
#include <string.h>

#define TYPE float
#define SUFFIX f32
#define ABS fabsf
#include "convert_count.template.c"
#define IDX int32_t
#define ISUFFIX i32
#include "convert_fill.template.c"
#undef IDX
#undef ISUFFIX
#define IDX int64_t
#define ISUFFIX i64
#include "convert_fill.template.c"
#undef IDX
#undef ISUFFIX
#undef TYPE
#undef SUFFIX
#undef ABS

#define TYPE double
#define SUFFIX f64
#define ABS fabs
#include "convert_count.template.c"
#define IDX int32_t
#define ISUFFIX i32
#include "convert_fill.template.c"
#undef IDX
#undef ISUFFIX
#define IDX int64_t
#define ISUFFIX i64
#include "convert_fill.template.c"
