/*
 * The panel kernel of one type for one instruction set, included by
 * nm.template.c with WS_NM_KNAME, WS_NM_ISA_ATTR and WS_NM_VBYTES (the
 * vector width in bytes).
 *
 * Columns of one panel of row i of Y: PANEL sums in registers, each kept
 * entry adding its value times one row of the packed panel (rows past the
 * matrix's columns are zero there, so fillers need no check).
 */
typedef TYPE WS_NM_KNAME(ws_nm_vec)
    __attribute__((vector_size(WS_NM_VBYTES)));

WS_NM_ISA_ATTR
static void WS_NM_KNAME(ws_nm_panel)(int64_t kept, int64_t n, int64_t m,
                                     const TYPE *v, const uint8_t *p,
                                     const TYPE *panel, TYPE *out) {
    enum { lanes = WS_NM_VBYTES / (int)sizeof(TYPE), vecs = PANEL / lanes };
    WS_NM_KNAME(ws_nm_vec) acc[vecs];
    memset(acc, 0, sizeof(acc));
    for (int64_t e = 0, base = 0; e < kept; e += n, base += m) {
        for (int64_t t = 0; t < n; ++t) {
            const TYPE a = v[e + t];
            const TYPE *xr = panel + (base + p[e + t]) * PANEL;
            for (int q = 0; q < vecs; ++q) {
                WS_NM_KNAME(ws_nm_vec) xv;
                memcpy(&xv, xr + q * lanes, sizeof(xv));
                acc[q] += a * xv;
            }
        }
    }
    memcpy(out, acc, sizeof(acc));
}
