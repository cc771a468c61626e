/* Dense to CSR and BSR; see convert.h. */
#include "wavesparse/convert.h"

#include <math.h>
#include <string.h>

#define WS_TEMPLATE "convert_fill.template.c"

#define TYPE float
#define SUFFIX f32
#define ABS fabsf
#include "convert_count.template.c"
#include "both_indices.h"
#undef TYPE
#undef SUFFIX
#undef ABS

#define TYPE double
#define SUFFIX f64
#define ABS fabs
#include "convert_count.template.c"
#include "both_indices.h"
