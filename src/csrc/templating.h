/*
 * Names for the code of a *.template.c file, which its .c file includes once
 * per type (TYPE with SUFFIX: f32, f64) and, where an index type matters, per
 * index type too (IDX with ISUFFIX: i32, i64).
 *
 * A template includes this header first, after its parameters are defined:
 * WS_NAME(ws_fill) then reads ws_fill_f64, or ws_fill_f64_i32 when ISUFFIX is
 * defined.  The header has no include guard on purpose: each inclusion
 * defines WS_NAME afresh for the parameters of that moment.
 */
#undef WS_CAT_
#undef WS_CAT
#undef WS_NAME

#define WS_CAT_(a, b) a##_##b
/* a_b, after a and b are expanded. */
#define WS_CAT(a, b) WS_CAT_(a, b)

#ifdef ISUFFIX
#define WS_NAME(name) WS_CAT(WS_CAT(name, SUFFIX), ISUFFIX)
#else
#define WS_NAME(name) WS_CAT(name, SUFFIX)
#endif
