/* N:M sparse times dense on the CPU; see nm.h. */
#include "wavesparse/nm.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_features.h"

#define TYPE float
#define SUFFIX f32
#define PANEL 32
#include "nm.template.c"
#undef TYPE
#undef SUFFIX
#undef PANEL

#define TYPE double
#define SUFFIX f64
#define PANEL 16
#include "nm.template.c"
#undef TYPE
#undef SUFFIX
#undef PANEL
