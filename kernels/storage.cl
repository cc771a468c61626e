/*
 * How the products' sparse values are stored; the host puts this text in
 * front of spmm_csr.cl and spmm_bsr.cl.  Build options:
 *   (neither)  values of type REAL, read as they are
 *   -DA_HALF   float16 values, read with vload_half: core OpenCL C 1.2 on
 *              every device, cl_khr_fp16 not needed (that extension is for
 *              arithmetic in half, and none is done: the sums are REAL)
 *   -DA_BF16   bfloat16 values, the top 16 bits of a float: read as ushort
 *              and shifted into place
 * VALUE is the element type of the values' buffer; LOAD_A(p, i) reads
 * element i of p as REAL (REAL is float with either 16-bit option).
 */
#if defined(A_HALF)
#define VALUE half
#define LOAD_A(p, i) vload_half((i), (p))
#elif defined(A_BF16)
#define VALUE ushort
#define LOAD_A(p, i) as_float((uint)(p)[i] << 16)
#else
#define VALUE REAL
#define LOAD_A(p, i) ((p)[i])
#endif
