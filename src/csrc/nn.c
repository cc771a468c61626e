/* Bias + activation, residual add + layer norm, masked softmax; see nn.h. */
#include "wavesparse/nn.h"

#include "activation.h"
#include "cpu_features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Columns of a layer-norm slab: its rows stay in L2 between the passes. */
#define WS_LN_COLS 64

static inline float ws_exp1_f32(float x) { return ws_exp_f32(x); }
static inline double ws_exp1_f64(double x) { return exp(x); }

#define TYPE float
#define SUFFIX f32
#include "nn.template.c"
#undef TYPE
#undef SUFFIX

#define TYPE double
#define SUFFIX f64
#include "nn.template.c"
#undef TYPE
#undef SUFFIX
