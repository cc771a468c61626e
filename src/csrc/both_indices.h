/*
 * The template named by WS_TEMPLATE (a quoted file name), included for int32
 * and then int64 indices (IDX, ISUFFIX) with the value type's parameters of
 * the moment.  No include guard: a .c file includes it once per value type.
 */
#define IDX int32_t
#define ISUFFIX i32
#include WS_TEMPLATE
#undef IDX
#undef ISUFFIX
#define IDX int64_t
#define ISUFFIX i64
#include WS_TEMPLATE
#undef IDX
#undef ISUFFIX
