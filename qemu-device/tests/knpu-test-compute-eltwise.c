/*
 * KNPU qtests: ELTWISE and ACTIVATION (spec section 7.4), and
 * ACTIVATION_PARAM (7.4.1, v1.1), against reference loops, and their
 * invalid and hostile operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

/* The spec's integer ELTWISE: exact, saturated, x / 0 = 0, truncating. */
static double eltwise_ref(uint32_t dt, unsigned op, double x, double y)
{
    bool integer = dt == KNPU_DT_INT8 || dt == KNPU_DT_INT32;
    double lo = dt == KNPU_DT_INT8 ? -128 : INT32_MIN;
    double hi = dt == KNPU_DT_INT8 ? 127 : INT32_MAX;
    double v;

    switch (op) {
    case KNPU_ELTWISE_ADD:
        v = x + y;
        break;
    case KNPU_ELTWISE_SUB:
        v = x - y;
        break;
    case KNPU_ELTWISE_MUL:
        v = x * y;
        break;
    case KNPU_ELTWISE_DIV:
        v = !integer ? x / y : y ? trunc(x / y) : 0;
        break;
    case KNPU_ELTWISE_MAX:
        v = MAX(x, y);
        break;
    default:
        v = MIN(x, y);
    }
    return integer ? MIN(MAX(v, lo), hi) : v;
}

/*
 * One ELTWISE of @count elements with a B of @b_count, both random, against
 * the reference; @edges puts integer division by zero and saturation in.
 */
static void run_eltwise(Cx *c, uint32_t dt, unsigned op, uint64_t count,
                        uint64_t b_count, bool edges)
{
    g_autofree void *a = rand_tensor(c, dt, count);
    g_autofree void *b = rand_tensor(c, dt, b_count);
    g_autofree void *out = NULL;
    g_autofree double *ref = g_new(double, count);
    TBuf ta, tb, to;
    uint64_t args[3], i;
    Prog p = { .n = 0 };

    if (edges && (dt == KNPU_DT_INT8 || dt == KNPU_DT_INT32)) {
        set_elem(dt, b, 0, 0);
        set_elem(dt, a, 1, dt == KNPU_DT_INT8 ? -128 : INT32_MIN);
        set_elem(dt, b, 1, -1);
        set_elem(dt, a, 2, dt == KNPU_DT_INT8 ? 127 : INT32_MAX);
        set_elem(dt, b, 2, dt == KNPU_DT_INT8 ? 100 : 1000);
    }
    ta = cx_input(c, dt, count, a);
    tb = cx_input(c, dt, b_count, b);
    to = cx_output(c, dt, count);
    args[0] = ta.va;
    args[1] = tb.va;
    args[2] = to.va;
    EMIT(&p, KNPU_OP_ELTWISE, dt, op, 7, 0, 1, 2, count, b_count);
    cx_run(c, &p, args, 3);
    for (i = 0; i < count; i++) {
        ref[i] = eltwise_ref(dt, op, elem(dt, a, i), elem(dt, b, i % b_count));
    }
    out = tbuf_read(c, &to, count * dt_size(dt));
    check_close(dt, out, ref, count, "eltwise");
}

/* Every type and operation, B repeated along A (@b_count of them). */
static void eltwise_all(uint64_t count, uint64_t b_count, bool edges)
{
    Cx c;
    unsigned d, op;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(all_dts); d++) {
        for (op = KNPU_ELTWISE_ADD; op <= KNPU_ELTWISE_MIN; op++) {
            run_eltwise(&c, all_dts[d], op, count, b_count, edges);
        }
    }
    cx_stop(&c);
}

static void test_eltwise(void)
{
    eltwise_all(24, 6, true);
}

/* B a scalar (b_count 1): oneDNN runs it as one row, see eltwise_mds(). */
static void test_eltwise_scalar(void)
{
    eltwise_all(35, 1, false);
}

static void test_activation(void)
{
    const uint64_t count = 37;
    double ref[37];
    Cx c;
    unsigned d, act;
    uint64_t i;

    cx_start(&c);
    for (d = 0; d < 4; d++) {
        uint32_t dt = all_dts[d];

        for (act = KNPU_ACT_RELU; act <= KNPU_ACT_LAST; act++) {
            g_autofree void *x = rand_tensor(&c, dt, count);
            g_autofree void *out = NULL;
            uint64_t args[2];
            Prog p = { .n = 0 };
            TBuf tx, to;

            if (dt == KNPU_DT_INT8 && act != KNPU_ACT_RELU) {
                continue;
            }
            /*
             * FP32: [-8, 8] and the kinks of the v1.5 functions (7.4.5);
             * their clamps in FP16 and BF16 are the GEMM and CONV2D tests'
             */
            for (i = 0; dt == KNPU_DT_FP32 && i < count; i++) {
                static const double kinks[] = { -3, 0, 3, 6 };

                set_elem(dt, x, i, i < ARRAY_SIZE(kinks) ? kinks[i] :
                         4 * elem(dt, x, i));
            }
            tx = cx_input(&c, dt, count, x);
            to = cx_output(&c, dt, count);
            args[0] = tx.va;
            args[1] = to.va;
            EMIT(&p, KNPU_OP_ACTIVATION, dt, act, 3, 0, 1, count);
            cx_run(&c, &p, args, 2);
            for (i = 0; i < count; i++) {
                ref[i] = act_ref(act, elem(dt, x, i));
            }
            out = tbuf_read(&c, &to, count * dt_size(dt));
            check_close(dt, out, ref, count, "activation");
        }
    }
    cx_stop(&c);
}

static void test_eltwise_errors(void)
{
    Cx c;
    TBuf a, ro, half;
    uint64_t args[3];
    uint8_t after[16];
    Prog p;
    Err e;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    half = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = a.va;
    args[1] = a.va;
    args[2] = a.va;

    /* Operation 6; b_count not dividing count; zero counts. */
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_FP32, 6, 7, 0, 1, 2, 8, 8);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_FP32, 0, 7, 0, 1, 2, 8, 3);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 4);
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_FP32, 0, 7, 0, 1, 2, 0, 1);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 3);
    /* A huge count: past the staging limit, nothing is allocated. */
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_INT32, 0, 7, 0, 1, 2, 0xffffffff, 1);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);
    /* dtype NONE and 6 */
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_NONE, 0, 7, 0, 1, 2, 8, 8);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, 6, 0, 7, 0, 1, 2, 8, 8);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPCODE_UNSUPPORTED);

    /* ACTIVATION: ACT 0 and 9, GELU and RELU6 on INT8, INT32. */
    p.n = 0;
    EMIT(&p, KNPU_OP_ACTIVATION, KNPU_DT_FP32, 0, 3, 0, 1, 8);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_ACTIVATION, KNPU_DT_FP32, 9, 3, 0, 1, 8);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_ACTIVATION, KNPU_DT_INT8, KNPU_ACT_RELU6, 3, 0, 1, 8);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_ACTIVATION, KNPU_DT_INT8, KNPU_ACT_GELU, 3, 0, 1, 8);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_ACTIVATION, KNPU_DT_INT32, KNPU_ACT_RELU, 3, 0, 1, 8);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPCODE_UNSUPPORTED);

    /* Misaligned FP16 output. */
    args[1] = a.va + 1;
    p.n = 0;
    EMIT(&p, KNPU_OP_ACTIVATION, KNPU_DT_FP16, KNPU_ACT_RELU, 3, 0, 1, 8);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_ALIGNMENT);
    g_assert_cmphex(e.addr, ==, a.va + 1);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);

    /* Read-only output. */
    args[1] = ro.va;
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, ro.va);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_PERMISSION);

    /* Output running off its mapping: the next guest page stays intact. */
    qtest_memset(c.k.qts, half.pa + 4096, 0x5a, sizeof(after));
    args[1] = half.va + 4000;
    p.n = 0;
    EMIT(&p, KNPU_OP_ACTIVATION, KNPU_DT_FP32, KNPU_ACT_RELU, 3, 0, 1, 64);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, half.va + 4096);
    qtest_memread(c.k.qts, half.pa + 4096, after, sizeof(after));
    g_assert_cmphex(after[0], ==, 0x5a);
    g_assert_cmphex(after[15], ==, 0x5a);

    /* Overlapping operands are not an error: in place completes. */
    args[1] = a.va;
    args[2] = a.va + 4;
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_FP32, 0, 7, 0, 1, 2, 64, 64);
    cx_run(&c, &p, args, 3);
    cx_stop(&c);
}

/* ACTIVATION_PARAM (v1.1) */

typedef struct ParamAct {
    unsigned fn;
    float alpha, beta;
} ParamAct;

/* Section 7.4.1's functions, in double. */
static double param_act_ref(const ParamAct *a, double x)
{
    double hs;

    switch (a->fn) {
    case KNPU_ACTP_HARDSIGMOID:
    case KNPU_ACTP_HARDSWISH:
        hs = MAX(0.0, MIN(1.0, a->alpha * x + a->beta));
        return a->fn == KNPU_ACTP_HARDSWISH ? x * hs : hs;
    case KNPU_ACTP_CLIP:
        return MIN(MAX(x, (double)a->alpha), (double)a->beta);
    case KNPU_ACTP_SQRT:
        return sqrt(x);
    case KNPU_ACTP_EXP:
        return exp(x);
    case KNPU_ACTP_POW:
        return a->alpha * pow(x, a->beta);
    default:
        return x >= 0 ? x : a->alpha * x;
    }
}

static void emit_param_act(Prog *p, uint32_t dt, const ParamAct *a,
                           uint32_t count)
{
    EMIT(p, KNPU_OP_ACTIVATION_PARAM, dt, a->fn, 3, 0, 1, count,
         f32_bits(a->alpha), f32_bits(a->beta));
}

static void test_activation_param(void)
{
    static const ParamAct cases[] = {
        { KNPU_ACTP_HARDSIGMOID, 0.2f, 0.5f },          /* ONNX */
        { KNPU_ACTP_HARDSIGMOID, 1.0f / 6, 0.5f },      /* PaddlePaddle */
        { KNPU_ACTP_HARDSWISH, 1.0f / 6, 0.5f },
        { KNPU_ACTP_HARDSWISH, 0.2f, 0.5f },
        { KNPU_ACTP_CLIP, 0.0f, 6.0f },                 /* ReLU6 */
        { KNPU_ACTP_CLIP, -0.5f, 0.75f },
        { KNPU_ACTP_CLIP, -INFINITY, 1.0f },
        { KNPU_ACTP_SQRT, 0, 0 },
        { KNPU_ACTP_EXP, 0, 0 },
        { KNPU_ACTP_POW, 1.0f, 2.0f },
        { KNPU_ACTP_POW, 0.5f, 3.0f },
        { KNPU_ACTP_LEAKY_RELU, 0.1f, 0 },
    };
    const uint64_t count = 41;
    double ref[41];
    Cx c;
    unsigned d, i;
    uint64_t j;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
        uint32_t dt = float_dts[d];

        for (i = 0; i < ARRAY_SIZE(cases); i++) {
            g_autofree void *x = rand_tensor(&c, dt, count);
            g_autofree void *out = NULL;
            uint64_t args[2];
            Prog p = { .n = 0 };
            TBuf tx, to;

            if (dt == KNPU_DT_FP32) {
                /* the corners of the piecewise functions */
                set_elem(dt, x, 0, -3);
                set_elem(dt, x, 1, 3);
                set_elem(dt, x, 2, 0);
                set_elem(dt, x, 3, -2.5);
                set_elem(dt, x, 4, 2.5);
            }
            tx = cx_input(&c, dt, count, x);
            to = cx_output(&c, dt, count);
            args[0] = tx.va;
            args[1] = to.va;
            emit_param_act(&p, dt, &cases[i], count);
            cx_run(&c, &p, args, 2);
            for (j = 0; j < count; j++) {
                ref[j] = param_act_ref(&cases[i], elem(dt, x, j));
            }
            out = tbuf_read(&c, &to, count * dt_size(dt));
            check_close(dt, out, ref, count, "activation_param");
        }
    }
    cx_stop(&c);
}

static void test_activation_param_errors(void)
{
    static const struct {
        ParamAct a;
        unsigned operand;
    } bad[] = {
        { { KNPU_ACTP_CLIP, 1.0f, 0.5f }, 4 },          /* min > max */
        { { KNPU_ACTP_CLIP, NAN, 1.0f }, 3 },
        { { KNPU_ACTP_CLIP, 0.0f, NAN }, 4 },
        { { KNPU_ACTP_SQRT, 1.0f, 0 }, 3 },
        { { KNPU_ACTP_EXP, 0, 2.0f }, 4 },
        { { KNPU_ACTP_HARDSIGMOID, INFINITY, 0.5f }, 3 },
        { { KNPU_ACTP_HARDSWISH, 0.2f, NAN }, 4 },
        { { KNPU_ACTP_POW, 1.0f, INFINITY }, 4 },
        { { KNPU_ACTP_LEAKY_RELU, 0.1f, 1.0f }, 4 },
        { { KNPU_ACTP_LEAKY_RELU, -INFINITY, 0 }, 3 },
    };
    const ParamAct ok = { KNPU_ACTP_HARDSWISH, 1.0f / 6, 0.5f };
    ParamAct fn7 = { 7, 0, 0 };
    TBuf a, ro;
    uint64_t args[2];
    unsigned i;
    Prog p;
    Err e;
    Cx c;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    args[0] = a.va;
    args[1] = a.va + 2048;
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        p.n = 0;
        emit_param_act(&p, KNPU_DT_FP32, &bad[i].a, 8);
        e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
        g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, bad[i].operand);
    }
    /* Function 7; count 0; a past-64-MiB count; INT8; an undefined flag. */
    p.n = 0;
    emit_param_act(&p, KNPU_DT_FP32, &fn7, 8);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
    p.n = 0;
    emit_param_act(&p, KNPU_DT_FP32, &ok, 0);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2);
    p.n = 0;
    emit_param_act(&p, KNPU_DT_FP32, &ok, 0xffffffff);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);
    p.n = 0;
    emit_param_act(&p, KNPU_DT_INT8, &ok, 8);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    EMIT(&p, KNPU_OP_ACTIVATION_PARAM, KNPU_DT_FP32, 0x10, 3, 0, 1, 8, 0, 0);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    /* Parameters from the argument table: a slot holding NaN's bits. */
    {
        uint64_t slots[3] = { a.va, a.va + 2048, 0x7fc00000 };

        p.n = 0;
        EMIT(&p, KNPU_OP_ACTIVATION_PARAM, KNPU_DT_FP32, KNPU_ACTP_CLIP,
             0xb, 0, 1, 8, 2, f32_bits(1.0f));
        e = cx_run_bad(&c, &p, slots, 3, KNPU_ERR_OPERAND_INVALID);
        g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 3);
    }
    /* Misaligned FP16 input; read-only output. */
    args[0] = a.va + 1;
    p.n = 0;
    emit_param_act(&p, KNPU_DT_FP16, &ok, 8);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_ALIGNMENT);
    g_assert_cmphex(e.addr, ==, a.va + 1);
    args[0] = a.va;
    args[1] = ro.va;
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, ro.va);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    cx_stop(&c);
}

void knpu_add_compute_eltwise_tests(void)
{
    qtest_add_func("/knpu/compute/eltwise", test_eltwise);
    qtest_add_func("/knpu/compute/activation", test_activation);
    qtest_add_func("/knpu/compute/eltwise-scalar", test_eltwise_scalar);
    qtest_add_func("/knpu/compute/eltwise-errors", test_eltwise_errors);
    qtest_add_func("/knpu/compute/activation-param", test_activation_param);
    qtest_add_func("/knpu/compute/activation-param-errors",
                   test_activation_param_errors);
}
