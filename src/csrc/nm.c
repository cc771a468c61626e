/* N:M sparse times dense on the CPU; see nm.h. */
#include "wavesparse/nm.h"

#include <string.h>

/* Columns of one row of Y summed at once, in a buffer that stays in L1. */
#define WS_NM_PANEL 256

#define TYPE float
#define SUFFIX f32
#include "nm.template.c"
#undef TYPE
#undef SUFFIX

#define TYPE double
#define SUFFIX f64
#include "nm.template.c"
#undef TYPE
#undef SUFFIX
