/*
 * KNPU qtests: CONV2D and POOL2D (spec section 7.4) against reference
 * loops, and their invalid operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

typedef struct Conv {
    uint32_t dt, flags;
    uint32_t n, c, h, w, k, r, s, sh, sw, ph, pw, dh, dw, g;
    float scale;
    int32_t zp;
} Conv;

static uint32_t out_size(uint32_t in, uint32_t k, uint32_t stride,
                         uint32_t pad, uint32_t dil)
{
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

/* Section 7.4's CONV2D of @v on @x, @wt, @bias, @scales into @ref. */
static void conv_ref(const Conv *v, const void *x, const void *wt,
                     const void *bias, const float *scales, double *ref)
{
    uint32_t p_ = out_size(v->h, v->r, v->sh, v->ph, v->dh);
    uint32_t q_ = out_size(v->w, v->s, v->sw, v->pw, v->dw);
    uint32_t cg = v->c / v->g, kg = v->k / v->g;
    bool int8 = v->dt == KNPU_DT_INT8, has_bias = v->flags & KNPU_FLAG_BIAS;
    bool per_ch = v->flags & KNPU_FLAG_PER_CHANNEL;
    uint32_t odt = !int8 ? v->dt : (v->flags & KNPU_FLAG_OUT_INT32) ?
                   KNPU_DT_INT32 : KNPU_DT_INT8;
    uint32_t bdt = int8 ? KNPU_DT_INT32 : v->dt;
    uint32_t n, k, y, z, ch, r, s;
    uint64_t i = 0;

    for (n = 0; n < v->n; n++) {
        for (k = 0; k < v->k; k++) {
            for (y = 0; y < p_; y++) {
                for (z = 0; z < q_; z++) {
                    double acc = 0, val;

                    for (ch = 0; ch < cg; ch++) {
                        for (r = 0; r < v->r; r++) {
                            for (s = 0; s < v->s; s++) {
                                int64_t iy = (int64_t)y * v->sh - v->ph +
                                             r * v->dh;
                                int64_t ix = (int64_t)z * v->sw - v->pw +
                                             s * v->dw;
                                uint32_t cin = (k / kg) * cg + ch;

                                if (iy < 0 || iy >= v->h || ix < 0 ||
                                    ix >= v->w) {
                                    continue;
                                }
                                acc += elem(v->dt, x, ((uint64_t)(n * v->c +
                                            cin) * v->h + iy) * v->w + ix) *
                                       elem(v->dt, wt, ((uint64_t)(k * cg +
                                            ch) * v->r + r) * v->s + s);
                            }
                        }
                    }
                    if (!int8) {
                        val = act_ref(KNPU_FLAG_ACT(v->flags), v->scale * acc +
                                      (has_bias ? elem(bdt, bias, k) : 0));
                    } else {
                        val = act_ref(KNPU_FLAG_ACT(v->flags), acc +
                                      (has_bias ? elem(bdt, bias, k) : 0));
                        if (odt == KNPU_DT_INT8) {
                            val = rne((float)val * (per_ch ? scales[k] :
                                                    v->scale)) + v->zp;
                            val = MIN(MAX(val, -128), 127);
                        }
                    }
                    ref[i++] = val;
                }
            }
        }
    }
}

/* How run_conv_rewritten() changes the weights before a run. */
typedef enum Rewrite {
    REWRITE_ALL,            /* new random weights */
    REWRITE_LAST,           /* only the last weight changed */
    REWRITE_NONE,           /* the same weights again */
} Rewrite;

static const Rewrite rewrite_plan[] = {
    REWRITE_ALL, REWRITE_LAST, REWRITE_NONE, REWRITE_ALL,
};

/*
 * Run CONV2D @v on random operands and check it; then @rewrites times
 * (at most ARRAY_SIZE(rewrite_plan)) change the weights in the same guest
 * buffer as rewrite_plan says and run and check the same instruction
 * again, in a job of its own each time. After rewrites, the weights' last
 * page loses its read permission: the job must fault on the weights
 * there, as it would have without the weights the device keeps
 * (knpu_tensor_load_known() compares them where it loaded them).
 */
static void run_conv_rewritten(Cx *c, const Conv *v, unsigned rewrites)
{
    uint32_t p_ = out_size(v->h, v->r, v->sh, v->ph, v->dh);
    uint32_t q_ = out_size(v->w, v->s, v->sw, v->pw, v->dw);
    uint32_t cg = v->c / v->g;
    bool int8 = v->dt == KNPU_DT_INT8, has_bias = v->flags & KNPU_FLAG_BIAS;
    bool per_ch = v->flags & KNPU_FLAG_PER_CHANNEL;
    uint32_t odt = !int8 ? v->dt : (v->flags & KNPU_FLAG_OUT_INT32) ?
                   KNPU_DT_INT32 : KNPU_DT_INT8;
    uint32_t bdt = int8 ? KNPU_DT_INT32 : v->dt;
    uint64_t n_in = (uint64_t)v->n * v->c * v->h * v->w;
    uint64_t n_wei = (uint64_t)v->k * cg * v->r * v->s;
    uint64_t n_out = (uint64_t)v->n * v->k * p_ * q_;
    g_autofree void *x = rand_tensor(c, v->dt, n_in);
    g_autofree void *wt = rand_tensor(c, v->dt, n_wei);
    g_autofree void *bias = rand_tensor(c, bdt, v->k);
    g_autofree float *scales = g_new(float, v->k);
    g_autofree double *ref = g_new(double, n_out);
    TBuf tx, tw, tb, to, ts;
    uint64_t args[5];
    Prog p = { .n = 0 };
    unsigned k, run;

    for (k = 0; k < v->k; k++) {
        scales[k] = v->scale * (1 + k % 4) / 2;
    }
    tx = cx_input(c, v->dt, n_in, x);
    tw = cx_input(c, v->dt, n_wei, wt);
    tb = cx_input(c, bdt, v->k, bias);
    ts = cx_input(c, KNPU_DT_FP32, v->k, scales);
    to = cx_output(c, odt, n_out);
    args[0] = tx.va;
    args[1] = tw.va;
    args[2] = tb.va;
    args[3] = to.va;
    args[4] = ts.va;
    EMIT(&p, KNPU_OP_CONV2D, v->dt, v->flags,
         0xb | (has_bias ? 4 : 0) | (per_ch ? 1u << 18 : 0), 0, 1,
         has_bias ? 2 : 0, 3, v->n, v->c, v->h, v->w, v->k, v->r, v->s,
         v->sh, v->sw, v->ph, v->pw, v->dh, v->dw, v->g,
         per_ch ? 4 : f32_bits(v->scale), (uint32_t)v->zp & 0xff);
    for (run = 0; run <= rewrites; run++) {
        g_autofree void *out = NULL;

        if (run && rewrite_plan[run - 1] == REWRITE_ALL) {
            g_free(wt);
            wt = rand_tensor(c, v->dt, n_wei);
        } else if (run && rewrite_plan[run - 1] == REWRITE_LAST) {
            /* its top bit: the sign of any type, stored little-endian */
            ((uint8_t *)wt)[n_wei * dt_size(v->dt) - 1] ^= 0x80;
        }
        if (run) {
            tbuf_write(c, &tw, wt, n_wei * dt_size(v->dt));
        }
        conv_ref(v, x, wt, bias, scales, ref);
        cx_run(c, &p, args, 5);
        out = tbuf_read(c, &to, n_out * dt_size(odt));
        /* INT8 and INT32 outputs exactly (check_close's tolerance is 0) */
        check_close(odt, out, ref, n_out, "conv2d");
    }
    if (rewrites) {
        uint64_t last = (tw.va + tw.bytes - 1) & ~4095ull;
        Err e;

        map_one(&c->k, last, tw.pa + (last - tw.va), 0, false);
        wr(&c->k, KNPU_REG_MMU_TLB_INVAL, KNPU_TLB_INVAL_ALL);
        e = cx_run_bad(c, &p, args, 5, KNPU_ERR_MMU_FAULT);
        g_assert_cmphex(e.addr, ==, last);
        g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1); /* weights */
        g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==,
                         KNPU_MMU_PERMISSION);
    }
}

static void run_conv(Cx *c, const Conv *v)
{
    run_conv_rewritten(c, v, 0);
}

static const Conv conv_cases[] = {
    /* plain 3x3, bias, RELU */
    { KNPU_DT_FP32, KNPU_FLAG_BIAS | KNPU_ACT_RELU << 4,
      2, 3, 8, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, 0 },
    /* groups, strides, dilation, scale; last rows in no window */
    { KNPU_DT_FP32, KNPU_FLAG_BIAS, 1, 4, 9, 10, 6, 2, 3, 2, 3, 1, 0,
      2, 1, 2, 0.5f, 0 },
    /* depthwise */
    { KNPU_DT_FP32, KNPU_ACT_GELU << 4, 1, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1,
      1, 1, 4, 1.0f, 0 },
    { KNPU_DT_FP16, KNPU_FLAG_BIAS, 1, 3, 6, 6, 2, 3, 3, 1, 1, 1, 1,
      1, 1, 1, 1.0f, 0 },
    { KNPU_DT_BF16, KNPU_ACT_SILU << 4, 1, 2, 6, 6, 2, 3, 3, 2, 2, 1, 1,
      1, 1, 1, 1.0f, 0 },
    /* INT8: requantized per tensor, per channel, INT32 output */
    { KNPU_DT_INT8, KNPU_FLAG_BIAS | KNPU_ACT_RELU << 4, 1, 3, 6, 6, 4,
      3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f / 512, 4 },
    { KNPU_DT_INT8, KNPU_FLAG_PER_CHANNEL | KNPU_FLAG_BIAS, 1, 4, 5, 5,
      4, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1.0f / 256, -3 },
    { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32 | KNPU_FLAG_BIAS, 1, 2, 5, 5, 3,
      3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, 0 },
    /*
     * Channels past oneDNN's blocks of 16 (partial last blocks), two
     * images: the blocked layouts and their reorders.
     */
    { KNPU_DT_FP32, KNPU_FLAG_BIAS | KNPU_ACT_RELU << 4, 2, 24, 11, 9, 24,
      3, 3, 2, 2, 1, 1, 1, 1, 24, 1.0f, 0 },
    { KNPU_DT_FP32, KNPU_FLAG_BIAS, 1, 20, 7, 7, 18, 3, 3, 1, 1, 1, 1,
      1, 1, 1, 0.5f, 0 },
    { KNPU_DT_FP32, KNPU_FLAG_BIAS, 2, 40, 5, 6, 24, 1, 1, 1, 1, 0, 0,
      1, 1, 1, 1.0f, 0 },
    { KNPU_DT_BF16, 0, 1, 16, 8, 8, 16, 3, 3, 1, 1, 2, 2, 2, 2, 16, 1.0f,
      0 },
    { KNPU_DT_INT8, KNPU_FLAG_PER_CHANNEL | KNPU_FLAG_BIAS |
      KNPU_ACT_RELU << 4, 2, 20, 7, 6, 20, 3, 3, 1, 1, 1, 1, 1, 1, 20,
      1.0f / 256, 2 },
    { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32 | KNPU_FLAG_BIAS, 1, 40, 5, 6, 24,
      1, 1, 1, 1, 0, 0, 1, 1, 1, 1.0f, 0 },
    { KNPU_DT_INT8, KNPU_FLAG_BIAS, 1, 32, 9, 9, 20, 3, 3, 2, 2, 1, 1, 1, 1,
      1, 1.0f / 2048, -5 },
    /*
     * INT8 windows of 2304 full-range weights: their sums of 128·|w| pass
     * 2^24, so they run on the INT8 convolution, the cases above on the
     * FP32 one (knpu-compute-conv.c, conv_int8_exact_in_fp32()).
     */
    { KNPU_DT_INT8, KNPU_FLAG_PER_CHANNEL | KNPU_FLAG_BIAS, 2, 256, 4, 4, 3,
      3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f / 65536, 1 },
    { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32 | KNPU_ACT_RELU << 4, 1, 256, 3, 3,
      2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, 0 },
    /*
     * INT8 operands of over 512 KiB (a core's team of threads for the
     * convolution), 33 channels requantized per channel, and OUT_INT32.
     */
    { KNPU_DT_INT8, KNPU_FLAG_PER_CHANNEL | KNPU_FLAG_BIAS |
      KNPU_ACT_RELU << 4, 1, 32, 64, 64, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1,
      1.0f / 2048, 3 },
    { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32 | KNPU_FLAG_BIAS, 2, 32, 64, 64, 33,
      3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f, 0 },
};

/* Every case of conv_cases on a device started with @opts. */
static void run_conv_cases(const char *opts)
{
    Cx c;
    unsigned i;

    cx_start_opts(&c, opts);
    for (i = 0; i < ARRAY_SIZE(conv_cases); i++) {
        run_conv(&c, &conv_cases[i]);
    }
    cx_stop(&c);
}

static void test_conv(void)
{
    run_conv_cases(NULL);
}

/*
 * The v1.5 activations (7.4.5) fused into MobileNet's convolutions: a 3x3
 * depthwise one (blocked channels) and a 1x1 pointwise one, in every
 * floating type, with scales that spread the sums past both clamps.
 */
static void test_conv_hard_activations(void)
{
    static const Conv shapes[] = {
        { 0, KNPU_FLAG_BIAS, 1, 16, 7, 7, 16, 3, 3, 2, 2, 1, 1, 1, 1, 16,
          2.0f, 0 },
        { 0, KNPU_FLAG_BIAS, 1, 24, 5, 5, 20, 1, 1, 1, 1, 0, 0, 1, 1, 1,
          1.0f, 0 },
    };
    unsigned s, d, act;
    Cx c;

    cx_start(&c);
    for (s = 0; s < ARRAY_SIZE(shapes); s++) {
        for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
            for (act = KNPU_ACT_HARDSWISH; act <= KNPU_ACT_RELU6; act++) {
                Conv v = shapes[s];

                v.dt = float_dts[d];
                v.flags |= act << 4;
                if (v.dt != KNPU_DT_FP32) {
                    v.scale *= 4;   /* FP16/BF16 inputs are below 2 */
                }
                g_test_message("hard: shape %u dt %u act %u", s, v.dt, act);
                run_conv(&c, &v);
            }
        }
    }
    cx_stop(&c);
}

/*
 * Without a primitive cache: every primitive leaves the cache as it is
 * created and its last user frees it.
 */
static void test_conv_uncached(void)
{
    run_conv_cases(",prim-cache=0");
}

/*
 * The device keeps a blocked convolution's reordered weights from one
 * instruction to the next (knpu-compute-conv-weights.c): weights the guest
 * rewrote in place between two jobs, all of them or only the last, must be
 * used as they are now, the same weights again give the same result, and
 * weights it can no longer read fault as a load of them would, for the
 * floating types and INT8, grouped or not.
 */
static void test_conv_weights_rewritten(void)
{
    static const Conv cases[] = {
        { KNPU_DT_FP32, KNPU_FLAG_BIAS, 1, 20, 7, 7, 18, 3, 3, 1, 1, 1, 1,
          1, 1, 1, 0.5f, 0 },
        { KNPU_DT_FP32, 0, 1, 24, 6, 6, 24, 3, 3, 1, 1, 1, 1, 1, 1, 24,
          1.0f, 0 },
        { KNPU_DT_BF16, 0, 1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1.0f,
          0 },
        { KNPU_DT_INT8, KNPU_FLAG_OUT_INT32, 1, 20, 5, 5, 20, 3, 3, 1, 1, 1,
          1, 1, 1, 1, 1.0f, 0 },
    };
    Cx c;
    unsigned i;

    cx_start(&c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        run_conv_rewritten(&c, &cases[i], ARRAY_SIZE(rewrite_plan));
        /* the same shape on other buffers: an entry of its own */
        run_conv(&c, &cases[i]);
    }
    cx_stop(&c);
}

/*
 * One output channel over 2,400,000 input channels: 9.2 MiB of weights on
 * OIHW, but at least 73 MiB once oneDNN's blocked layout pads the output
 * channels to 8 or 16, past the staging limit, so the convolution falls
 * back to the plain layout (knpu-compute-conv.c, conv_prim_get()).
 */
static void test_conv_blocked_too_large(void)
{
    static const Conv wide = {
        KNPU_DT_FP32, KNPU_FLAG_BIAS, 1, 2400000, 1, 1, 1, 1, 1, 1, 1, 0, 0,
        1, 1, 1, 1.0f, 0,
    };
    Cx c;

    cx_start(&c);
    run_conv(&c, &wide);
    cx_stop(&c);
}

static void test_pool(void)
{
    /* N, C, H, W, kh, kw, sh, sw, ph, pw */
    static const uint32_t shapes[][10] = {
        { 1, 2, 6, 6, 2, 2, 2, 2, 0, 0 },
        { 2, 3, 7, 5, 3, 3, 2, 2, 1, 1 },
        { 1, 1, 5, 6, 2, 3, 2, 3, 1, 0 },   /* last row in no window */
        /* channels past a vector, windows of 16: many halves to round */
        { 2, 20, 9, 8, 4, 4, 2, 2, 1, 1 },
    };
    static const uint32_t dts[] = {
        KNPU_DT_FP32, KNPU_DT_FP16, KNPU_DT_BF16, KNPU_DT_INT8,
    };
    Cx c;
    unsigned d, sh, mode;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(dts); d++) {
        for (sh = 0; sh < ARRAY_SIZE(shapes); sh++) {
            for (mode = KNPU_POOL_MAX; mode <= KNPU_POOL_AVG_PAD; mode++) {
                const uint32_t *v = shapes[sh];
                uint32_t dt = dts[d];
                uint32_t p_ = out_size(v[2], v[4], v[6], v[8], 1);
                uint32_t q_ = out_size(v[3], v[5], v[7], v[9], 1);
                uint64_t n_in = v[0] * v[1] * v[2] * v[3];
                uint64_t n_out = v[0] * v[1] * p_ * q_, i = 0;
                g_autofree void *x = rand_tensor(&c, dt, n_in);
                g_autofree double *ref = g_new(double, n_out);
                g_autofree void *out = NULL;
                TBuf tx = cx_input(&c, dt, n_in, x);
                TBuf to = cx_output(&c, dt, n_out);
                uint64_t args[2] = { tx.va, to.va };
                Prog p = { .n = 0 };
                uint32_t nc, y, z, r, s;

                for (nc = 0; nc < v[0] * v[1]; nc++) {
                    for (y = 0; y < p_; y++) {
                        for (z = 0; z < q_; z++) {
                            double acc = mode ? 0 : -INFINITY;
                            unsigned cnt = 0;

                            for (r = 0; r < v[4]; r++) {
                                for (s = 0; s < v[5]; s++) {
                                    int64_t iy = (int64_t)y * v[6] - v[8] + r;
                                    int64_t ix = (int64_t)z * v[7] - v[9] + s;
                                    double e;

                                    if (iy < 0 || iy >= v[2] || ix < 0 ||
                                        ix >= v[3]) {
                                        continue;
                                    }
                                    e = elem(dt, x, (nc * v[2] + iy) * v[3] +
                                             ix);
                                    acc = mode ? acc + e : MAX(acc, e);
                                    cnt++;
                                }
                            }
                            if (mode) {
                                acc /= mode == KNPU_POOL_AVG ? cnt :
                                       v[4] * v[5];
                            }
                            /* INT8 averages round half to even */
                            ref[i++] = dt == KNPU_DT_INT8 ? rne(acc) : acc;
                        }
                    }
                }
                EMIT(&p, KNPU_OP_POOL2D, dt, mode, 3, 0, 1, v[0], v[1], v[2],
                     v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
                cx_run(&c, &p, args, 2);
                out = tbuf_read(&c, &to, n_out * dt_size(dt));
                /* INT8 exactly (check_close's tolerance is 0) */
                check_close(dt, out, ref, n_out, "pool2d");
            }
        }
    }
    cx_stop(&c);
}

/*
 * INT8 averages round half to even for every window sum: 1×14 windows (the
 * smallest where oneDNN's jit_int pooling rounds some halves away from
 * even) over every sum from -128·14 to 127·14, each window's elements as
 * equal as the sum allows.
 */
static void test_pool_int8_halves(void)
{
    enum { WIN = 14, SUMS = 255 * WIN + 1 };
    g_autofree int8_t *x = g_new(int8_t, SUMS * WIN);
    g_autofree double *ref = g_new(double, SUMS);
    g_autofree void *out = NULL;
    Prog p = { .n = 0 };
    uint64_t args[2];
    TBuf tx, to;
    Cx c;
    int i, j;

    for (i = 0; i < SUMS; i++) {
        int sum = -128 * WIN + i;
        int base = (int)floor((double)sum / WIN), extra = sum - base * WIN;

        for (j = 0; j < WIN; j++) {
            x[i * WIN + j] = base + (j < extra);
        }
        ref[i] = rne((double)sum / WIN);
    }
    cx_start(&c);
    tx = cx_input(&c, KNPU_DT_INT8, SUMS * WIN, x);
    to = cx_output(&c, KNPU_DT_INT8, SUMS);
    args[0] = tx.va;
    args[1] = to.va;
    EMIT(&p, KNPU_OP_POOL2D, KNPU_DT_INT8, KNPU_POOL_AVG, 3, 0, 1, 1, 1, 1,
         SUMS * WIN, 1, WIN, 1, WIN, 0, 0);
    cx_run(&c, &p, args, 2);
    out = tbuf_read(&c, &to, SUMS);
    check_close(KNPU_DT_INT8, out, ref, SUMS, "pool2d int8 halves");
    cx_stop(&c);
}

static const BadOperands conv_bad_operands[] = {
    /* groups not dividing C; zero stride; padding as wide as the window */
    { 1, { 17 }, { 3 }, KNPU_ERR_OPERAND_INVALID, 17 },
    { 1, { 12 }, { 0 }, KNPU_ERR_OPERAND_INVALID, 12 },
    { 1, { 13 }, { 3 }, KNPU_ERR_OPERAND_INVALID, 13 },
    /* the window larger than the padded input: P < 1 */
    { 2, { 6, 13 }, { 1, 0 }, KNPU_ERR_OPERAND_INVALID, 6 },
    /* huge dilation: 64-bit arithmetic, no wrap */
    { 1, { 15 }, { 0xffffffff }, KNPU_ERR_OPERAND_INVALID, -1 },
    /* a huge batch: the input is past the staging limit */
    { 1, { 4 }, { 0xffffffff }, KNPU_ERR_OPERAND_INVALID, 0 },
    /* more than 2^32 multiply-adds per image */
    { 4, { 5, 8, 6, 7 }, { 4096, 4096, 64, 64 }, KNPU_ERR_OPERAND_INVALID,
      KNPU_ERR_OPERAND_NONE },
};

static const uint32_t pool_ops[12] = { 0, 1, 1, 1, 4, 4, 2, 2, 2, 2, 0, 0 };

static const BadOperands pool_bad_operands[] = {
    /* padding as wide as the kernel; a zero kernel */
    { 1, { 10 }, { 2 }, KNPU_ERR_OPERAND_INVALID, 10 },
    { 1, { 6 }, { 0 }, KNPU_ERR_OPERAND_INVALID, 6 },
};

static void test_conv_errors(void)
{
    uint32_t ops[20] = { 0, 1, 0, 2, 1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1,
                         1, 0x3f800000, 0 };
    uint64_t args[3];
    unsigned act;
    Prog p;
    Cx c;
    TBuf a;

    cx_start(&c);
    a = cx_buf(&c, 8192, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = args[1] = args[2] = a.va;

    /* The valid instruction runs. */
    p.n = 0;
    emit(&p, KNPU_OP_CONV2D, KNPU_DT_FP32, 0, 0xb, 20, ops);
    cx_run(&c, &p, args, 3);
    /* Bit 0 (TRANS_A) is GEMM's only. */
    p.n = 0;
    emit(&p, KNPU_OP_CONV2D, KNPU_DT_FP32, KNPU_FLAG_TRANS_A, 0xb, 20, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    cx_run_bad_operands(&c, &(Insn){ KNPU_OP_CONV2D, KNPU_DT_FP32, 0, 0xb,
                                     20, ops },
                        args, 3, conv_bad_operands,
                        ARRAY_SIZE(conv_bad_operands));
    /* SILU and the v1.5 activations on INT8 (OUT_INT32 or not); ACT 9 */
    p.n = 0;
    emit(&p, KNPU_OP_CONV2D, KNPU_DT_INT8, KNPU_ACT_SILU << 4, 0xb, 20, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    for (act = KNPU_ACT_HARDSWISH; act <= KNPU_ACT_RELU6; act++) {
        p.n = 0;
        emit(&p, KNPU_OP_CONV2D, KNPU_DT_INT8, act << 4, 0xb, 20, ops);
        cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
        p.n = 0;
        emit(&p, KNPU_OP_CONV2D, KNPU_DT_INT8,
             KNPU_FLAG_OUT_INT32 | act << 4, 0xb, 20, ops);
        cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    }
    p.n = 0;
    emit(&p, KNPU_OP_CONV2D, KNPU_DT_FP32, 9 << 4, 0xb, 20, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);

    /* POOL2D: mode 3, then its invalid operands. */
    p.n = 0;
    EMIT(&p, KNPU_OP_POOL2D, KNPU_DT_FP32, 3, 3, 0, 1, 1, 1, 4, 4, 2, 2, 2,
         2, 0, 0);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    cx_run_bad_operands(&c, &(Insn){ KNPU_OP_POOL2D, KNPU_DT_FP32, 0, 3, 12,
                                     pool_ops },
                        args, 2, pool_bad_operands,
                        ARRAY_SIZE(pool_bad_operands));
    p.n = 0;
    EMIT(&p, KNPU_OP_POOL2D, KNPU_DT_INT32, 0, 3, 0, 1, 1, 1, 4, 4, 2, 2, 2,
         2, 0, 0);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPCODE_UNSUPPORTED);
    cx_stop(&c);
}

void knpu_add_compute_conv_tests(void)
{
    qtest_add_func("/knpu/compute/conv2d", test_conv);
    qtest_add_func("/knpu/compute/conv2d-uncached", test_conv_uncached);
    qtest_add_func("/knpu/compute/conv2d-hard-activations",
                   test_conv_hard_activations);
    qtest_add_func("/knpu/compute/conv2d-weights-rewritten",
                   test_conv_weights_rewritten);
    qtest_add_func("/knpu/compute/conv2d-blocked-too-large",
                   test_conv_blocked_too_large);
    qtest_add_func("/knpu/compute/pool2d", test_pool);
    qtest_add_func("/knpu/compute/pool2d-int8-halves", test_pool_int8_halves);
    qtest_add_func("/knpu/compute/conv-errors", test_conv_errors);
}
