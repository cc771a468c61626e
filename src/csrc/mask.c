/* Magnitude masks; see mask.h. */
#include "wavesparse/mask.h"

#include <math.h>

#define TYPE float
#define SUFFIX f32
#define ABS fabsf
#include "mask.template.c"
#undef TYPE
#undef SUFFIX
#undef ABS

#define TYPE double
#define SUFFIX f64
#define ABS fabs
#include "mask.template.c"
