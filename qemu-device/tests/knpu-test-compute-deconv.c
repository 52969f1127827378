/*
 * KNPU qtests: CONV_TRANSPOSE (spec section 7.4.1, v1.1) against a
 * scatter reference loop (ONNX ConvTranspose), and its invalid operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-test-compute.h"

typedef struct Deconv {
    uint32_t dt, flags;
    uint32_t n, c, h, w, k, r, s, sh, sw, ph, pw, oph, opw, dh, dw, g;
} Deconv;

static uint32_t out_len(uint32_t in, uint32_t k, uint32_t stride,
                        uint32_t pad, uint32_t out_pad, uint32_t dil)
{
    return stride * (in - 1) + out_pad + dil * (k - 1) + 1 - 2 * pad;
}

static void emit_deconv(Prog *p, const Deconv *v)
{
    EMIT(p, KNPU_OP_CONV_TRANSPOSE, v->dt, v->flags,
         (v->flags & KNPU_FLAG_BIAS) ? 0xf : 0xb, 0, 1,
         (v->flags & KNPU_FLAG_BIAS) ? 2 : 0, 3, v->n, v->c, v->h, v->w,
         v->k, v->r, v->s, v->sh, v->sw, v->ph, v->pw, v->oph, v->opw, v->dh,
         v->dw, v->g);
}

static void run_deconv(Cx *c, const Deconv *v)
{
    uint32_t p_ = out_len(v->h, v->r, v->sh, v->ph, v->oph, v->dh);
    uint32_t q_ = out_len(v->w, v->s, v->sw, v->pw, v->opw, v->dw);
    uint32_t cg = v->c / v->g, kg = v->k / v->g;
    uint64_t n_in = (uint64_t)v->n * v->c * v->h * v->w;
    uint64_t n_wei = (uint64_t)v->c * kg * v->r * v->s;
    uint64_t n_out = (uint64_t)v->n * v->k * p_ * q_;
    g_autofree void *x = rand_tensor(c, v->dt, n_in);
    g_autofree void *wt = rand_tensor(c, v->dt, n_wei);
    g_autofree void *bias = rand_tensor(c, v->dt, v->k);
    g_autofree double *ref = g_new0(double, n_out);
    g_autofree void *out = NULL;
    TBuf tx, tw, tb, to;
    uint64_t args[4], i;
    Prog p = { .n = 0 };
    uint32_t n, ch, y, z, r, s, kk;

    /* Each input element scatters its weighted window into the output. */
    for (n = 0; n < v->n; n++) {
        for (ch = 0; ch < v->c; ch++) {
            uint32_t grp = ch / cg;

            for (y = 0; y < v->h; y++) {
                for (z = 0; z < v->w; z++) {
                    double in = elem(v->dt, x,
                                     ((uint64_t)(n * v->c + ch) * v->h + y) *
                                     v->w + z);

                    for (kk = 0; kk < kg; kk++) {
                        uint32_t k = grp * kg + kk;

                        for (r = 0; r < v->r; r++) {
                            for (s = 0; s < v->s; s++) {
                                int64_t oy = (int64_t)y * v->sh - v->ph +
                                             (int64_t)r * v->dh;
                                int64_t ox = (int64_t)z * v->sw - v->pw +
                                             (int64_t)s * v->dw;
                                uint64_t wi = ((uint64_t)(ch * kg + kk) *
                                               v->r + r) * v->s + s;

                                if (oy < 0 || oy >= p_ || ox < 0 ||
                                    ox >= q_) {
                                    continue;
                                }
                                ref[((uint64_t)(n * v->k + k) * p_ + oy) *
                                    q_ + ox] += in * elem(v->dt, wt, wi);
                            }
                        }
                    }
                }
            }
        }
    }
    for (i = 0; i < n_out; i++) {
        uint32_t k = (i / ((uint64_t)p_ * q_)) % v->k;

        if (v->flags & KNPU_FLAG_BIAS) {
            ref[i] += elem(v->dt, bias, k);
        }
        ref[i] = act_ref(KNPU_FLAG_ACT(v->flags), ref[i]);
    }
    tx = cx_input(c, v->dt, n_in, x);
    tw = cx_input(c, v->dt, n_wei, wt);
    tb = cx_input(c, v->dt, v->k, bias);
    to = cx_output(c, v->dt, n_out);
    args[0] = tx.va;
    args[1] = tw.va;
    args[2] = tb.va;
    args[3] = to.va;
    emit_deconv(&p, v);
    cx_run(c, &p, args, 4);
    out = tbuf_read(c, &to, n_out * dt_size(v->dt));
    check_close(v->dt, out, ref, n_out, "conv_transpose");
}

static void test_conv_transpose(void)
{
    const uint32_t bias_relu = KNPU_FLAG_BIAS | KNPU_ACT_RELU << 4;
    const uint32_t bias_sigmoid = KNPU_FLAG_BIAS | KNPU_ACT_SIGMOID << 4;
    static const Deconv cases[] = {
        /* 3x3, stride 2, pad 1, output padding 1 (pad covers it) */
        { KNPU_DT_FP32, 0, 1, 4, 3, 4, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1 },
        /* 2x2, stride 2: the upsampling of text detection heads */
        { KNPU_DT_FP32, 0, 2, 3, 4, 5, 2, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1 },
        /* groups 2, dilation 2, stride 1, asymmetric kernel */
        { KNPU_DT_FP32, 0, 1, 4, 5, 4, 6, 2, 3, 1, 1, 1, 0, 0, 0, 2, 2, 2 },
        /* output padding beyond pad: the extra row/column is ACT(bias) */
        { KNPU_DT_FP32, 0, 2, 2, 3, 3, 3, 3, 2, 2, 3, 0, 1, 1, 2, 1, 1, 1 },
        /* depthwise (groups = C = K) */
        { KNPU_DT_FP32, 0, 1, 3, 4, 4, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 3 },
    };
    Cx c;
    unsigned i, d;

    cx_start(&c);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        Deconv v = cases[i];

        run_deconv(&c, &v);
        v.flags = i % 2 ? bias_sigmoid : bias_relu;
        run_deconv(&c, &v);
    }
    for (d = 1; d < ARRAY_SIZE(float_dts); d++) {
        Deconv v = cases[0];

        v.dt = float_dts[d];
        v.flags = bias_relu;
        run_deconv(&c, &v);
    }
    /*
     * The v1.5 activations (7.4.5), fused and on the ACT(bias) border of
     * output padding beyond pad (hard-sigmoid there is two steps).
     */
    for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
        for (i = KNPU_ACT_HARDSWISH; i <= KNPU_ACT_RELU6; i++) {
            Deconv v = cases[3];

            v.dt = float_dts[d];
            v.flags = KNPU_FLAG_BIAS | i << 4;
            run_deconv(&c, &v);
        }
    }
    cx_stop(&c);
}

static void test_conv_transpose_errors(void)
{
    const Deconv ok = { KNPU_DT_FP32, 0, 1, 2, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1,
                        1, 1, 1, 1 };
    Deconv v;
    TBuf a, ro;
    uint64_t args[4];
    Prog p;
    Err e;
    Cx c;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    args[0] = a.va;
    args[1] = a.va + 256;
    args[2] = a.va + 512;
    args[3] = a.va + 1024;

#define BAD(field, value, operand) do {                                 \
        v = ok;                                                         \
        v.field = value;                                                \
        p.n = 0;                                                        \
        emit_deconv(&p, &v);                                            \
        e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);      \
        g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, operand);   \
    } while (0)

    BAD(n, 0, 4);
    BAD(c, 0, 5);
    BAD(k, 0, 8);
    BAD(r, 0, 9);
    BAD(sh, 0, 11);
    BAD(dw, 0, 18);
    BAD(g, 0, 19);
    BAD(g, 3, 19);                  /* dividing neither C nor K */
    BAD(oph, 2, 15);                /* out_pad >= max(stride, dilation) */
    BAD(pw, 3, 14);                 /* pad beyond the dilated kernel */
    BAD(flags, 9 << 4, 0xff);       /* ACT 9 */
    /* P < 1: the padding crops a 1-row input's 2-row window away. */
    v = ok;
    v.h = 1;
    v.r = 2;
    v.ph = 1;
    v.oph = 0;
    p.n = 0;
    emit_deconv(&p, &v);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 6);
    /* More than 2^32 multiply-adds per image. */
    v = (Deconv){ KNPU_DT_FP32, 0, 1, 4096, 64, 64, 4096, 1, 1, 1, 1, 0, 0,
                  0, 0, 1, 1, 1 };
    p.n = 0;
    emit_deconv(&p, &v);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
    /* Undefined flags: OUT_INT32, PER_CHANNEL. */
    v = ok;
    v.flags = KNPU_FLAG_OUT_INT32;
    p.n = 0;
    emit_deconv(&p, &v);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    /* A bias operand without BIAS must be an immediate 0. */
    p.n = 0;
    EMIT(&p, KNPU_OP_CONV_TRANSPOSE, KNPU_DT_FP32, 0, 0xb, 0, 1, 5, 3, 1, 2,
         3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2);
    /* INT8 is not a CONV_TRANSPOSE type. */
    v = ok;
    v.dt = KNPU_DT_INT8;
    p.n = 0;
    emit_deconv(&p, &v);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPCODE_UNSUPPORTED);
    /* Misaligned weight; read-only output. */
    args[1] = a.va + 258;
    p.n = 0;
    emit_deconv(&p, &ok);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_ALIGNMENT);
    g_assert_cmphex(e.addr, ==, a.va + 258);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    args[1] = a.va + 256;
    args[3] = ro.va;
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, ro.va);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 3);
#undef BAD
    cx_stop(&c);
}

void knpu_add_compute_deconv_tests(void)
{
    qtest_add_func("/knpu/compute/conv-transpose", test_conv_transpose);
    qtest_add_func("/knpu/compute/conv-transpose-errors",
                   test_conv_transpose_errors);
}
