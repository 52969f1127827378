/*
 * KNPU qtests: SOFTMAX, LAYERNORM and RMSNORM (spec section 7.4) against
 * reference loops, and their invalid operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

#define ROWS 5
#define COLS 19

static void softmax_ref(uint32_t dt, const void *x, double *ref)
{
    unsigned r, i;

    for (r = 0; r < ROWS; r++) {
        double mx = -INFINITY, sum = 0;

        for (i = 0; i < COLS; i++) {
            mx = MAX(mx, elem(dt, x, r * COLS + i));
        }
        for (i = 0; i < COLS; i++) {
            sum += exp(elem(dt, x, r * COLS + i) - mx);
        }
        for (i = 0; i < COLS; i++) {
            ref[r * COLS + i] = exp(elem(dt, x, r * COLS + i) - mx) / sum;
        }
    }
}

/* LAYERNORM with @beta, or RMSNORM without. */
static void norm_ref(uint32_t dt, const void *x, const void *gamma,
                     const void *beta, float eps, double *ref)
{
    unsigned r, i;

    for (r = 0; r < ROWS; r++) {
        double mean = 0, var = 0;

        for (i = 0; i < COLS; i++) {
            mean += elem(dt, x, r * COLS + i) / COLS;
        }
        for (i = 0; i < COLS; i++) {
            double v = elem(dt, x, r * COLS + i) - (beta ? mean : 0);

            var += v * v / COLS;
        }
        for (i = 0; i < COLS; i++) {
            double v = elem(dt, x, r * COLS + i) - (beta ? mean : 0);

            ref[r * COLS + i] = v / sqrt(var + eps) * elem(dt, gamma, i) +
                                (beta ? elem(dt, beta, i) : 0);
        }
    }
}

static void test_norms(void)
{
    const float eps = 0.00001f;
    double ref[ROWS * COLS];
    Cx c;
    unsigned d;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
        uint32_t dt = float_dts[d];
        g_autofree void *x = rand_tensor(&c, dt, ROWS * COLS);
        g_autofree void *gamma = rand_tensor(&c, dt, COLS);
        g_autofree void *beta = rand_tensor(&c, dt, COLS);
        g_autofree void *out = NULL;
        TBuf tx = cx_input(&c, dt, ROWS * COLS, x);
        TBuf tg = cx_input(&c, dt, COLS, gamma);
        TBuf tb = cx_input(&c, dt, COLS, beta);
        TBuf to = cx_output(&c, dt, ROWS * COLS);
        uint64_t args[4] = { tx.va, to.va, tg.va, tb.va };
        Prog p = { .n = 0 };

        EMIT(&p, KNPU_OP_SOFTMAX, dt, 0, 3, 0, 1, ROWS, COLS);
        cx_run(&c, &p, args, 4);
        softmax_ref(dt, x, ref);
        out = tbuf_read(&c, &to, ROWS * COLS * dt_size(dt));
        check_close(dt, out, ref, ROWS * COLS, "softmax");
        g_free(out);

        p.n = 0;
        EMIT(&p, KNPU_OP_LAYERNORM, dt, 0, 0xf, 0, 1, 2, 3, ROWS, COLS,
             f32_bits(eps));
        cx_run(&c, &p, args, 4);
        norm_ref(dt, x, gamma, beta, eps, ref);
        out = tbuf_read(&c, &to, ROWS * COLS * dt_size(dt));
        check_close(dt, out, ref, ROWS * COLS, "layernorm");
        g_free(out);

        p.n = 0;
        EMIT(&p, KNPU_OP_RMSNORM, dt, 0, 7, 0, 1, 2, ROWS, COLS,
             f32_bits(eps));
        cx_run(&c, &p, args, 4);
        norm_ref(dt, x, gamma, NULL, eps, ref);
        out = tbuf_read(&c, &to, ROWS * COLS * dt_size(dt));
        check_close(dt, out, ref, ROWS * COLS, "rmsnorm");
    }
    cx_stop(&c);
}

static void test_norm_errors(void)
{
    Cx c;
    TBuf a;
    uint64_t args[4];
    Prog p;
    Err e;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = args[1] = args[2] = args[3] = a.va;

    p.n = 0;
    EMIT(&p, KNPU_OP_SOFTMAX, KNPU_DT_FP32, 0, 3, 0, 1, 0, 4);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2);
    p.n = 0;
    EMIT(&p, KNPU_OP_SOFTMAX, KNPU_DT_FP32, 0, 3, 0, 1, 4, 0);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 3);
    p.n = 0;
    EMIT(&p, KNPU_OP_SOFTMAX, KNPU_DT_INT8, 0, 3, 0, 1, 4, 4);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    EMIT(&p, KNPU_OP_SOFTMAX, KNPU_DT_FP32, 1, 3, 0, 1, 4, 4);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    /* rows·cols overflowing 64 bits is impossible; past 2^40 bytes is not */
    p.n = 0;
    EMIT(&p, KNPU_OP_SOFTMAX, KNPU_DT_FP32, 0, 3, 0, 1, 0xffffffff,
         0xffffffff);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);

    /* Epsilon negative, NaN, infinite. */
    p.n = 0;
    EMIT(&p, KNPU_OP_LAYERNORM, KNPU_DT_FP32, 0, 0xf, 0, 1, 2, 3, 4, 4,
         0xbf800000);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 6);
    p.n = 0;
    EMIT(&p, KNPU_OP_RMSNORM, KNPU_DT_FP32, 0, 7, 0, 1, 2, 4, 4, 0x7fc00000);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 5);
    p.n = 0;
    EMIT(&p, KNPU_OP_RMSNORM, KNPU_DT_BF16, 0, 7, 0, 1, 2, 4, 4, 0x7f800000);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    /* gamma not an argument slot */
    p.n = 0;
    EMIT(&p, KNPU_OP_RMSNORM, KNPU_DT_FP32, 0, 3, 0, 1, 2, 4, 4, 0);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2);
    /* gamma unmapped: read fault on operand 2 */
    args[2] = 0x7ff00000;
    p.n = 0;
    EMIT(&p, KNPU_OP_RMSNORM, KNPU_DT_FP32, 0, 7, 0, 1, 2, 4, 4, 0);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2);
    g_assert_cmphex(e.addr, ==, 0x7ff00000);
    cx_stop(&c);
}

void knpu_add_compute_norm_tests(void)
{
    qtest_add_func("/knpu/compute/norms", test_norms);
    qtest_add_func("/knpu/compute/norm-errors", test_norm_errors);
}
