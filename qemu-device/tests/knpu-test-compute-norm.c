/*
 * KNPU qtests: SOFTMAX (and its v1.5 LOG flag, 7.4.5), LAYERNORM and
 * RMSNORM (spec section 7.4) against reference loops, and their invalid
 * operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

#define ROWS 5
#define MAX_COLS 19

/* Softmax, or with @log log-softmax x - max - ln(sum(e^(x - max))). */
static void softmax_ref(uint32_t dt, const void *x, unsigned rows,
                        unsigned cols, bool log_form, double *ref)
{
    unsigned r, i;

    for (r = 0; r < rows; r++) {
        double mx = -INFINITY, sum = 0;

        for (i = 0; i < cols; i++) {
            mx = MAX(mx, elem(dt, x, r * cols + i));
        }
        for (i = 0; i < cols; i++) {
            sum += exp(elem(dt, x, r * cols + i) - mx);
        }
        for (i = 0; i < cols; i++) {
            double shifted = elem(dt, x, r * cols + i) - mx;

            ref[r * cols + i] = log_form ? shifted - log(sum) :
                                exp(shifted) / sum;
        }
    }
}

/* LAYERNORM with @beta, or RMSNORM without. */
static void norm_ref(uint32_t dt, const void *x, unsigned cols,
                     const void *gamma, const void *beta, float eps,
                     double *ref)
{
    unsigned r, i;

    for (r = 0; r < ROWS; r++) {
        double mean = 0, var = 0;

        for (i = 0; i < cols; i++) {
            mean += elem(dt, x, r * cols + i) / cols;
        }
        for (i = 0; i < cols; i++) {
            double v = elem(dt, x, r * cols + i) - (beta ? mean : 0);

            var += v * v / cols;
        }
        for (i = 0; i < cols; i++) {
            double v = elem(dt, x, r * cols + i) - (beta ? mean : 0);

            ref[r * cols + i] = v / sqrt(var + eps) * elem(dt, gamma, i) +
                                (beta ? elem(dt, beta, i) : 0);
        }
    }
}

/* SOFTMAX, LAYERNORM and RMSNORM of @dt over rows of @cols, checked. */
static void run_norms(Cx *c, uint32_t dt, unsigned cols)
{
    const float eps = 0.00001f;
    double ref[ROWS * MAX_COLS];
    g_autofree void *x = rand_tensor(c, dt, ROWS * cols);
    g_autofree void *gamma = rand_tensor(c, dt, cols);
    g_autofree void *beta = rand_tensor(c, dt, cols);
    g_autofree void *out = NULL;
    TBuf tx = cx_input(c, dt, ROWS * cols, x);
    TBuf tg = cx_input(c, dt, cols, gamma);
    TBuf tb = cx_input(c, dt, cols, beta);
    TBuf to = cx_output(c, dt, ROWS * cols);
    uint64_t args[4] = { tx.va, to.va, tg.va, tb.va };
    Prog p = { .n = 0 };

    EMIT(&p, KNPU_OP_SOFTMAX, dt, 0, 3, 0, 1, ROWS, cols);
    cx_run(c, &p, args, 4);
    softmax_ref(dt, x, ROWS, cols, false, ref);
    out = tbuf_read(c, &to, ROWS * cols * dt_size(dt));
    check_close(dt, out, ref, ROWS * cols, "softmax");
    g_free(out);

    p.n = 0;
    EMIT(&p, KNPU_OP_SOFTMAX, dt, KNPU_FLAG_SOFTMAX_LOG, 3, 0, 1, ROWS, cols);
    cx_run(c, &p, args, 4);
    softmax_ref(dt, x, ROWS, cols, true, ref);
    out = tbuf_read(c, &to, ROWS * cols * dt_size(dt));
    check_close(dt, out, ref, ROWS * cols, "log-softmax");
    g_free(out);

    p.n = 0;
    EMIT(&p, KNPU_OP_LAYERNORM, dt, 0, 0xf, 0, 1, 2, 3, ROWS, cols,
         f32_bits(eps));
    cx_run(c, &p, args, 4);
    norm_ref(dt, x, cols, gamma, beta, eps, ref);
    out = tbuf_read(c, &to, ROWS * cols * dt_size(dt));
    check_close(dt, out, ref, ROWS * cols, "layernorm");
    g_free(out);

    p.n = 0;
    EMIT(&p, KNPU_OP_RMSNORM, dt, 0, 7, 0, 1, 2, ROWS, cols, f32_bits(eps));
    cx_run(c, &p, args, 4);
    norm_ref(dt, x, cols, gamma, NULL, eps, ref);
    out = tbuf_read(c, &to, ROWS * cols * dt_size(dt));
    check_close(dt, out, ref, ROWS * cols, "rmsnorm");
}

static void test_norms(void)
{
    /* Rows of one element too: oneDNN refuses a reduction over nothing. */
    static const unsigned cols[] = { MAX_COLS, 1 };
    Cx c;
    unsigned d, i;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
        for (i = 0; i < ARRAY_SIZE(cols); i++) {
            run_norms(&c, float_dts[d], cols[i]);
        }
    }
    cx_stop(&c);
}

/*
 * Log-softmax rows of 4 that a naive ln(softmax) gets wrong or that hold
 * special values: far apart (e^x overflows, softmax underflows to 0), a
 * -inf element, +inf, NaN, only -inf.
 */
static void test_log_softmax_special(void)
{
    static const float x[][4] = {
        { 1000.0f, 0.0f, -1000.0f, 999.0f },
        { -1000.0f, -1001.0f, -1e30f, -2000.0f },
        { 1.0f, -INFINITY, 2.0f, 0.0f },
        { 1.0f, INFINITY, 2.0f, 0.0f },
        { 1.0f, NAN, 2.0f, 0.0f },
        { -INFINITY, -INFINITY, -INFINITY, -INFINITY },
    };
    const unsigned rows = ARRAY_SIZE(x), cols = 4;
    double ref[ARRAY_SIZE(x) * 4];
    g_autofree float *out = NULL;
    Prog p = { .n = 0 };
    unsigned i;
    Cx c;
    TBuf tx, to;
    uint64_t args[2];

    cx_start(&c);
    tx = cx_input(&c, KNPU_DT_FP32, rows * cols, x);
    to = cx_output(&c, KNPU_DT_FP32, rows * cols);
    args[0] = tx.va;
    args[1] = to.va;
    EMIT(&p, KNPU_OP_SOFTMAX, KNPU_DT_FP32, KNPU_FLAG_SOFTMAX_LOG, 3, 0, 1,
         rows, cols);
    cx_run(&c, &p, args, 2);
    out = tbuf_read(&c, &to, sizeof(x));
    softmax_ref(KNPU_DT_FP32, x, 3, cols, true, ref);
    check_close(KNPU_DT_FP32, out, ref, 2 * cols, "log-softmax far apart");
    /* 7.4.5: -inf beside finite elements; +inf, NaN, only -inf: NaN rows */
    for (i = 2 * cols; i < 3 * cols; i++) {
        if (isinf(ref[i])) {
            g_assert_cmpfloat(out[i], ==, -INFINITY);
        } else {
            check_close(KNPU_DT_FP32, &out[i], &ref[i], 1, "log-softmax -inf");
        }
    }
    for (i = 3 * cols; i < rows * cols; i++) {
        g_assert_true(isnan(out[i]));
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
    EMIT(&p, KNPU_OP_SOFTMAX, KNPU_DT_FP32, 2, 3, 0, 1, 4, 4);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
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
    qtest_add_func("/knpu/compute/log-softmax-special",
                   test_log_softmax_special);
    qtest_add_func("/knpu/compute/norm-errors", test_norm_errors);
}
