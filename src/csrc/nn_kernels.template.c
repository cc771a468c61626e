/*
 * The row loops of nn.template.c for one instruction set (WS_ISA_ATTR,
 * WS_KNAME), one type (TYPE, WS_TYPED).  Each branches outside its loops,
 * which then vectorise.
 */

/* v[j] = act(v[j] + b) for j < n. */
WS_ISA_ATTR static void WS_KNAME(ws_row_bias_act)(TYPE *v, int64_t n, TYPE b, int act) {
    if (act == WS_ACT_GELU) {
        for (int64_t j = 0; j < n; ++j) {
            v[j] = WS_NAME(ws_gelu)(v[j] + b);
        }
    } else if (act == WS_ACT_RELU) {
        for (int64_t j = 0; j < n; ++j) {
            v[j] = WS_NAME(ws_relu)(v[j] + b);
        }
    } else if (b != 0) {
        for (int64_t j = 0; j < n; ++j) {
            v[j] += b;
        }
    }
}

/*
 * Layer norm of w (<= WS_LN_COLS) columns over `rows` rows: the sum (and the
 * residual) in one pass, the variance about the mean in a second, the
 * normalised output in a third; the slab stays in L2 between them.
 */
WS_ISA_ATTR static void WS_KNAME(ws_slab_layer_norm)(
    const TYPE *x, int64_t ldx, const TYPE *r, int64_t ldr, const TYPE *gamma,
    const TYPE *beta, TYPE eps, int64_t rows, int64_t w, TYPE *out, int64_t ldo) {
    TYPE mean[WS_LN_COLS] = {0}, var[WS_LN_COLS] = {0};
    for (int64_t i = 0; i < rows; ++i) {
        const TYPE *xi = x + i * ldx;
        TYPE *oi = out + i * ldo;
        if (r != NULL) {
            const TYPE *ri = r + i * ldr;
            for (int64_t j = 0; j < w; ++j) {
                const TYPE z = xi[j] + ri[j];
                oi[j] = z;
                mean[j] += z;
            }
        } else {
            for (int64_t j = 0; j < w; ++j) {
                oi[j] = xi[j];
                mean[j] += xi[j];
            }
        }
    }
    for (int64_t j = 0; j < w; ++j) {
        mean[j] /= (TYPE)rows;
    }
    for (int64_t i = 0; i < rows; ++i) {
        const TYPE *oi = out + i * ldo;
        for (int64_t j = 0; j < w; ++j) {
            const TYPE d = oi[j] - mean[j];
            var[j] += d * d;
        }
    }
    for (int64_t j = 0; j < w; ++j) {
        var[j] = (TYPE)1 / sqrt(var[j] / (TYPE)rows + eps);
    }
    for (int64_t i = 0; i < rows; ++i) {
        TYPE *oi = out + i * ldo;
        const TYPE g = gamma[i], b = beta[i];
        for (int64_t j = 0; j < w; ++j) {
            oi[j] = (oi[j] - mean[j]) * var[j] * g + b;
        }
    }
}

/*
 * v = softmax(scale * v) over the kept entries (keep NULL: all), 0 elsewhere.
 * The maximum and the sum run in 8 lanes, which the compiler keeps in one
 * vector (a single running sum would serialise the additions).
 */
WS_ISA_ATTR static void WS_KNAME(ws_row_softmax)(TYPE *v, int64_t n, const uint8_t *keep,
                                                 TYPE scale) {
    enum { LANES = 8 };
    TYPE tops[LANES], sums[LANES];
    for (int l = 0; l < LANES; ++l) {
        tops[l] = -INFINITY;
        sums[l] = 0;
    }
    int64_t j = 0;
    if (keep == NULL) {
        for (; j + LANES <= n; j += LANES) {
            for (int l = 0; l < LANES; ++l) {
                const TYPE s = v[j + l] * scale;
                tops[l] = s > tops[l] ? s : tops[l];
            }
        }
    } else {
        for (; j + LANES <= n; j += LANES) {
            for (int l = 0; l < LANES; ++l) {
                const TYPE s = keep[j + l] ? v[j + l] * scale : -INFINITY;
                tops[l] = s > tops[l] ? s : tops[l];
            }
        }
    }
    for (; j < n; ++j) {
        const TYPE s = keep == NULL || keep[j] ? v[j] * scale : -INFINITY;
        tops[0] = s > tops[0] ? s : tops[0];
    }
    TYPE top = tops[0];
    for (int l = 1; l < LANES; ++l) {
        top = tops[l] > top ? tops[l] : top;
    }
    if (top == -INFINITY) {
        memset(v, 0, (size_t)n * sizeof(TYPE));
        return;
    }
    if (keep == NULL) {
        for (j = 0; j < n; ++j) {
            v[j] = WS_NAME(ws_exp1)(v[j] * scale - top);
        }
    } else {
        for (j = 0; j < n; ++j) {
            const TYPE e = WS_NAME(ws_exp1)(v[j] * scale - top);
            v[j] = keep[j] ? e : 0;
        }
    }
    for (j = 0; j + LANES <= n; j += LANES) {
        for (int l = 0; l < LANES; ++l) {
            sums[l] += v[j + l];
        }
    }
    for (; j < n; ++j) {
        sums[0] += v[j];
    }
    TYPE sum = 0;
    for (int l = 0; l < LANES; ++l) {
        sum += sums[l];
    }
    const TYPE inv = (TYPE)1 / sum;
    for (j = 0; j < n; ++j) {
        v[j] *= inv;
    }
}
