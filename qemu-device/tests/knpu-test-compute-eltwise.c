/*
 * KNPU qtests: ELTWISE and ACTIVATION (spec section 7.4), and
 * ACTIVATION_PARAM (7.4.1, v1.1; its v1.5 to v1.8 functions 7.4.5, 7.4.6,
 * 7.4.8) and ELTWISE's POW and FMOD (7.4.8), against
 * reference loops, and their invalid and hostile operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <float.h>
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
    case KNPU_ELTWISE_POW:
        v = pow(x, y);
        break;
    case KNPU_ELTWISE_FMOD:
        v = fmod(x, y);
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

/*
 * An FP32 result @got of an exact value @ref within one unit in the last
 * place (7.4.8), of its sign; NaN where @ref is, and the infinity of its
 * sign where @ref overflows FP32.
 */
static void check_within_ulp(float got, double ref)
{
    if (isnan(ref)) {
        g_assert_true(isnan(got));
    } else if (isinf(ref) || fabs(ref) > FLT_MAX) {
        g_assert_cmpfloat(got, ==, copysign(INFINITY, ref));
    } else {
        g_assert_cmpfloat(fabs(got - ref), <=,
                          nextafterf((float)fabs(ref), INFINITY) -
                          (float)fabs(ref));
        g_assert_cmpint(!!signbit(got), ==, !!signbit(ref));
    }
}

/*
 * A v1.8 operation @op (7.4.8) on every floating type, B random along A
 * and as a scalar; then one FP32 ELTWISE @op of the tables @a and @b, whose
 * @count results the caller checks.
 */
static float *run_eltwise_v18(Cx *c, unsigned op, const float *a,
                              const float *b, uint64_t count)
{
    uint64_t args[3];
    Prog p = { .n = 0 };
    TBuf ta, tb, to;
    unsigned d;

    for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
        run_eltwise(c, float_dts[d], op, 24, 6, false);
        run_eltwise(c, float_dts[d], op, 35, 1, false);
    }
    ta = cx_input(c, KNPU_DT_FP32, count, a);
    tb = cx_input(c, KNPU_DT_FP32, count, b);
    to = cx_output(c, KNPU_DT_FP32, count);
    args[0] = ta.va;
    args[1] = tb.va;
    args[2] = to.va;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_FP32, op, 7, 0, 1, 2, count, count);
    cx_run(c, &p, args, 3);
    return tbuf_read(c, &to, count * sizeof(float));
}

/*
 * POW: random bases and exponents (negative bases to fractional powers are
 * NaN); then integer exponents of negative bases, IEEE 754's special
 * cases, and FP32 within one unit in the last place of pow in double.
 */
static void test_eltwise_pow(void)
{
    static const float bases[] = {
        -2.0f, -2.0f, -0.5f, 0.0f, -0.0f, 0.0f, 1.0f, NAN, -1.0f, 2.0f,
        INFINITY, -INFINITY, 3.0f, 10.0f, 7.5f, 0.001f,
    };
    static const float exps[] = {
        3.0f, 2.0f, -3.0f, -1.0f, -1.0f, 0.0f, NAN, 0.0f, INFINITY, 200.0f,
        -2.0f, 3.0f, 0.5f, -7.0f, 5.25f, 2.5f,
    };
    const uint64_t count = ARRAY_SIZE(bases);
    g_autofree float *out = NULL;
    uint64_t j;
    Cx c;

    cx_start(&c);
    out = run_eltwise_v18(&c, KNPU_ELTWISE_POW, bases, exps, count);
    for (j = 0; j < count; j++) {
        double ref = pow(bases[j], exps[j]);

        g_test_message("pow(%g, %g) = %g, want %g", bases[j], exps[j],
                       out[j], ref);
        check_within_ulp(out[j], ref);
    }
    cx_stop(&c);
}

/*
 * FMOD: random operands exact against fmod in double; then signs, zeros
 * and infinities.
 */
static void test_eltwise_fmod(void)
{
    static const float xs[] = {
        5.5f, -5.5f, 5.5f, -5.5f, 1.0f, 0.0f, -0.0f, INFINITY, 3.0f, NAN,
        1e30f, 7.0f,
    };
    static const float ys[] = {
        2.0f, 2.0f, -2.0f, -2.0f, 0.0f, 3.0f, 3.0f, 2.0f, INFINITY, 1.0f,
        3.0f, 0.1f,
    };
    const uint64_t count = ARRAY_SIZE(xs);
    g_autofree float *out = NULL;
    uint64_t j;
    Cx c;

    cx_start(&c);
    out = run_eltwise_v18(&c, KNPU_ELTWISE_FMOD, xs, ys, count);
    for (j = 0; j < count; j++) {
        double ref = fmod(xs[j], ys[j]);

        g_test_message("fmod(%g, %g) = %g, want %g", xs[j], ys[j], out[j],
                       ref);
        if (isnan(ref)) {
            g_assert_true(isnan(out[j]));
        } else {
            g_assert_cmpfloat(out[j], ==, ref);
            g_assert_cmpint(!!signbit(out[j]), ==, !!signbit(ref));
        }
    }
    cx_stop(&c);
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

    /*
     * Operation 8; POW and FMOD of INT8 and INT32 (floats only, 7.4.8);
     * b_count not dividing count; zero counts.
     */
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_FP32, 8, 7, 0, 1, 2, 8, 8);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_INT8, KNPU_ELTWISE_POW, 7, 0, 1, 2, 8, 8);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_INT32, KNPU_ELTWISE_POW, 7, 0, 1, 2, 8,
         8);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_ELTWISE, KNPU_DT_INT32, KNPU_ELTWISE_FMOD, 7, 0, 1, 2, 8,
         8);
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

/* ln(1 + e^x) without overflow. */
static double softplus_ref(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* Section 7.4.1's and 7.4.5's to 7.4.8's functions, in double. */
static double param_act_ref(const ParamAct *a, double x)
{
    const double k = sqrt(2 / M_PI);
    double hs;

    switch (a->fn) {
    case KNPU_ACTP_LOG:
        return log(x);
    case KNPU_ACTP_SOFTPLUS:
        return softplus_ref(x);
    case KNPU_ACTP_MISH:
        return x * tanh(softplus_ref(x));
    case KNPU_ACTP_GELU_TANH:
        return 0.5 * x * (1 + tanh(k * (x + 0.044715 * x * x * x)));
    case KNPU_ACTP_ABS:
        return fabs(x);
    case KNPU_ACTP_ROUND:
        return nearbyint(x);    /* ties to even, the default mode */
    case KNPU_ACTP_SIN:
        return sin(x);
    case KNPU_ACTP_COS:
        return cos(x);
    case KNPU_ACTP_TAN:
        return tan(x);
    case KNPU_ACTP_ASIN:
        return asin(x);
    case KNPU_ACTP_ACOS:
        return acos(x);
    case KNPU_ACTP_ATAN:
        return atan(x);
    case KNPU_ACTP_SINH:
        return sinh(x);
    case KNPU_ACTP_COSH:
        return cosh(x);
    case KNPU_ACTP_ASINH:
        return asinh(x);
    case KNPU_ACTP_ACOSH:
        return acosh(x);
    case KNPU_ACTP_ATANH:
        return atanh(x);
    case KNPU_ACTP_ERF:
        return erf(x);
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

/* Make every element of @x positive (LOG's domain). */
static void make_positive(uint32_t dt, void *x, uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        if (dt == KNPU_DT_FP32) {
            set_elem(dt, x, i, fabs(elem(dt, x, i)));
        } else {
            ((uint16_t *)x)[i] &= 0x7fff;
        }
    }
}

/*
 * v1.5 to v1.8 functions: every float type on random inputs in [-2, 2]
 * (NaN where outside a function's domain).
 */
static void test_activation_param_v15(void)
{
    const uint64_t count = 43;
    double ref[43];
    Cx c;
    unsigned d, fn;
    uint64_t j;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(float_dts); d++) {
        uint32_t dt = float_dts[d];

        for (fn = KNPU_ACTP_LOG; fn <= KNPU_ACTP_ERF; fn++) {
            const ParamAct a = { fn, 0, 0 };
            g_autofree void *x = rand_tensor(&c, dt, count);
            g_autofree void *out = NULL;
            uint64_t args[2];
            Prog p = { .n = 0 };
            TBuf tx, to;

            if (fn == KNPU_ACTP_LOG) {
                make_positive(dt, x, count);
            }
            tx = cx_input(&c, dt, count, x);
            to = cx_output(&c, dt, count);
            args[0] = tx.va;
            args[1] = to.va;
            emit_param_act(&p, dt, &a, count);
            cx_run(&c, &p, args, 2);
            for (j = 0; j < count; j++) {
                ref[j] = param_act_ref(&a, elem(dt, x, j));
            }
            out = tbuf_read(&c, &to, count * dt_size(dt));
            check_close(dt, out, ref, count, "activation_param v1.5-v1.8");
        }
    }
    cx_stop(&c);
}

/* One FP32 ACTIVATION_PARAM @a of the @count values @xs; the results. */
static float *run_param_act_fp32(Cx *c, const ParamAct *a, const float *xs,
                                 uint64_t count)
{
    TBuf tx = cx_input(c, KNPU_DT_FP32, count, xs);
    TBuf to = cx_output(c, KNPU_DT_FP32, count);
    uint64_t args[2] = { tx.va, to.va };
    Prog p = { .n = 0 };

    emit_param_act(&p, KNPU_DT_FP32, a, count);
    cx_run(c, &p, args, 2);
    return tbuf_read(c, &to, count * sizeof(float));
}

/*
 * SIN and COS of large arguments (rotary positions times frequencies):
 * within one unit in the last place of the exact value of the FP32 input
 * (7.4.6), which a reduction by 2*pi in FP32 arithmetic misses by 1e-3 at
 * 10^5.
 */
static void test_activation_param_trig_large(void)
{
    static const float xs[] = {
        1.0e4f, -2.5e4f, 1.0e5f, 123456.789f, -7.0e5f, 3.0e6f, 1.0e7f,
        33554432.0f, 1.0e20f, -3.4e38f, 710.5f, 2047.0f,
    };
    const uint64_t count = ARRAY_SIZE(xs);
    unsigned f;
    uint64_t j;
    Cx c;

    cx_start(&c);
    for (f = KNPU_ACTP_SIN; f <= KNPU_ACTP_COS; f++) {
        const ParamAct a = { f, 0, 0 };
        g_autofree float *out = run_param_act_fp32(&c, &a, xs, count);

        for (j = 0; j < count; j++) {
            double ref = param_act_ref(&a, xs[j]);

            g_assert_cmpfloat(fabs(out[j] - ref), <=,
                              nextafterf((float)fabs(ref), INFINITY) -
                              (float)fabs(ref));
        }
    }
    cx_stop(&c);
}

/*
 * The v1.8 functions (7.4.8) in FP32 within one unit in the last place of
 * the exact value, over their domains: near the poles, branch points and
 * overflow thresholds, tiny arguments (where a formula through exp or log
 * loses every digit) and large ones.
 */
static void test_activation_param_v18_ulp(void)
{
    static const float xs[] = {
        FLT_MIN * 1024, -0.00000003f, 0.0001f, -0.25f, 0.5f, -0.9f, 0.999f,
        -0.99999f,
        1.0f, -1.0f, 1.0001f, 1.5707963f, -1.5707964f, 3.0f, 10.0f, -42.0f,
        88.7f, -89.4f, 1e5f, 1e20f, -3.4e38f, 4.0f, -0.0f, 0.0f,
    };
    const uint64_t count = ARRAY_SIZE(xs);
    unsigned f;
    uint64_t j;
    Cx c;

    cx_start(&c);
    for (f = KNPU_ACTP_TAN; f <= KNPU_ACTP_ERF; f++) {
        const ParamAct a = { f, 0, 0 };
        g_autofree float *out = run_param_act_fp32(&c, &a, xs, count);

        for (j = 0; j < count; j++) {
            double ref = param_act_ref(&a, xs[j]);

            g_test_message("function %u: f(%g) = %.9g, want %.17g", f, xs[j],
                           out[j], ref);
            check_within_ulp(out[j], ref);
        }
    }
    cx_stop(&c);
}

/*
 * Zeros, negatives, infinities, NaN, ties, values whose e^x overflows FP32
 * and a subnormal: exact in FP32 and in BF16 (FP32's range).
 */
static const float special_xs[] = {
    0.0f, -0.0f, -1.0f, -INFINITY, INFINITY, NAN, 0.5f, -0.5f, 1.5f,
    2.5f, -2.5f, 3.0f, 20.0f, -20.0f, 88.0f, 96.0f, -96.0f, 1e30f,
    -1e30f, FLT_MIN / 2, 1000.0f, -1000.0f,
};
static const uint32_t special_dts[] = { KNPU_DT_FP32, KNPU_DT_BF16 };

/* special_xs as a tensor of @dt, one of special_dts. */
static void *special_tensor(uint32_t dt)
{
    void *x = g_malloc(ARRAY_SIZE(special_xs) * dt_size(dt));
    unsigned j;

    for (j = 0; j < ARRAY_SIZE(special_xs); j++) {
        uint32_t bits = f32_bits(special_xs[j]);

        if (dt == KNPU_DT_FP32) {
            memcpy((uint8_t *)x + 4 * j, &bits, 4);
        } else {
            ((uint16_t *)x)[j] = bits >> 16;
        }
    }
    return x;
}

/*
 * Element @i of @got against @ref: NaN for NaN, infinities exactly, finite
 * values within check_close()'s tolerance or, if @exact, bit for bit with
 * zero's sign. A function of -inf whose formula is inf * 0 must give its
 * limit, a zero of either sign.
 */
static void check_special(uint32_t dt, const char *what, bool exact,
                          const void *got, uint64_t i, double x, double ref)
{
    double g = elem(dt, got, i);

    if (fabs(ref) > FLT_MAX) {
        ref = copysign(INFINITY, ref);      /* overflows FP32 (7.3) */
    }
    g_test_message("%s dt %u: f(%g) = %g, want %g", what, dt, x, g, ref);
    if (isnan(ref)) {
        g_assert_true(isnan(g));
    } else if (isinf(ref) || exact) {
        g_assert_cmpfloat(g, ==, ref);
        g_assert_cmpint(!!signbit(g), ==, !!signbit(ref));
    } else {
        check_close(dt, (uint8_t *)got + i * dt_size(dt), &ref, 1, what);
    }
}

/*
 * f(x) for a function that is x times a factor going to 0 at -inf, whose
 * formula gives -inf * 0 there: its limit, 0.
 */
static double vanishing_at_minus_inf(double x, double formula)
{
    return x == -INFINITY ? 0 : formula;
}

/*
 * Run @p, an instruction of operands 0:A in, 1:A out, on special_xs as
 * @dt; returns its output.
 */
static void *run_on_specials(Cx *c, uint32_t dt, const void *x, Prog *p)
{
    const uint64_t count = ARRAY_SIZE(special_xs);
    TBuf tx = cx_input(c, dt, count, x);
    TBuf to = cx_output(c, dt, count);
    uint64_t args[2] = { tx.va, to.va };

    cx_run(c, p, args, 2);
    return tbuf_read(c, &to, count * dt_size(dt));
}

/* ACTIVATION's functions (7.3, 7.4.5) on special_xs. */
static void test_activation_special(void)
{
    const uint64_t count = ARRAY_SIZE(special_xs);
    Cx c;
    unsigned d, act;
    uint64_t j;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(special_dts); d++) {
        uint32_t dt = special_dts[d];
        g_autofree void *x = special_tensor(dt);

        for (act = KNPU_ACT_RELU; act <= KNPU_ACT_LAST; act++) {
            bool clamp = act == KNPU_ACT_RELU6 || act == KNPU_ACT_HARDSIGMOID;
            g_autofree void *out = NULL;
            g_autofree char *what = g_strdup_printf("activation %u", act);
            Prog p = { .n = 0 };

            EMIT(&p, KNPU_OP_ACTIVATION, dt, act, 3, 0, 1, count);
            out = run_on_specials(&c, dt, x, &p);
            for (j = 0; j < count; j++) {
                double xj = elem(dt, x, j), g = elem(dt, out, j);
                double ref = act_ref(act, xj);

                if (clamp && isnan(xj)) {
                    /* NaN, or either bound (7.4.5) */
                    g_assert_true(isnan(g) || g == act_ref(act, -INFINITY) ||
                                  g == act_ref(act, INFINITY));
                    continue;
                }
                if (act == KNPU_ACT_GELU || act == KNPU_ACT_SILU ||
                    act == KNPU_ACT_HARDSWISH) {
                    ref = vanishing_at_minus_inf(xj, ref);
                }
                check_special(dt, what, false, out, j, xj, ref);
            }
        }
    }
    cx_stop(&c);
}

/* ACTIVATION_PARAM's functions (7.4.1, 7.4.5) on special_xs. */
static void test_activation_param_special(void)
{
    static const ParamAct cases[] = {
        { KNPU_ACTP_HARDSIGMOID, 0.2f, 0.5f },
        { KNPU_ACTP_HARDSWISH, 1.0f / 6, 0.5f },
        { KNPU_ACTP_CLIP, 0.0f, 6.0f },
        { KNPU_ACTP_CLIP, -INFINITY, 1.0f },
        { KNPU_ACTP_SQRT, 0, 0 },
        { KNPU_ACTP_EXP, 0, 0 },
        { KNPU_ACTP_POW, 1.0f, 2.0f },
        { KNPU_ACTP_POW, 0.5f, 3.0f },
        { KNPU_ACTP_LEAKY_RELU, 0.1f, 0 },
        { KNPU_ACTP_LOG, 0, 0 },
        { KNPU_ACTP_SOFTPLUS, 0, 0 },
        { KNPU_ACTP_MISH, 0, 0 },
        { KNPU_ACTP_GELU_TANH, 0, 0 },
        { KNPU_ACTP_ABS, 0, 0 },
        { KNPU_ACTP_ROUND, 0, 0 },
        { KNPU_ACTP_SIN, 0, 0 },
        { KNPU_ACTP_COS, 0, 0 },
        { KNPU_ACTP_TAN, 0, 0 },
        { KNPU_ACTP_ASIN, 0, 0 },
        { KNPU_ACTP_ACOS, 0, 0 },
        { KNPU_ACTP_ATAN, 0, 0 },
        { KNPU_ACTP_SINH, 0, 0 },
        { KNPU_ACTP_COSH, 0, 0 },
        { KNPU_ACTP_ASINH, 0, 0 },
        { KNPU_ACTP_ACOSH, 0, 0 },
        { KNPU_ACTP_ATANH, 0, 0 },
        { KNPU_ACTP_ERF, 0, 0 },
    };
    const uint64_t count = ARRAY_SIZE(special_xs);
    Cx c;
    unsigned d, i;
    uint64_t j;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(special_dts); d++) {
        uint32_t dt = special_dts[d];
        g_autofree void *x = special_tensor(dt);

        for (i = 0; i < ARRAY_SIZE(cases); i++) {
            const ParamAct *a = &cases[i];
            bool exact = a->fn == KNPU_ACTP_ABS || a->fn == KNPU_ACTP_ROUND;
            g_autofree void *out = NULL;
            g_autofree char *what = g_strdup_printf("activation_param %u "
                                                    "(%g, %g)", a->fn,
                                                    a->alpha, a->beta);
            Prog p = { .n = 0 };

            emit_param_act(&p, dt, a, count);
            out = run_on_specials(&c, dt, x, &p);
            for (j = 0; j < count; j++) {
                double xj = elem(dt, x, j);
                double ref = isnan(xj) ? NAN : param_act_ref(a, xj);

                if (a->fn == KNPU_ACTP_SOFTPLUS && !isnan(xj)) {
                    /* a Log of it must not be NaN */
                    g_assert_cmpfloat(elem(dt, out, j), >=, 0);
                }
                if (a->fn == KNPU_ACTP_HARDSWISH || a->fn == KNPU_ACTP_MISH ||
                    a->fn == KNPU_ACTP_GELU_TANH) {
                    ref = vanishing_at_minus_inf(xj, ref);
                }
                check_special(dt, what, exact, out, j, xj, ref);
            }
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
        { { KNPU_ACTP_LOG, 1.0f, 0 }, 3 },              /* v1.5: both 0 */
        { { KNPU_ACTP_SOFTPLUS, 0, 1.0f }, 4 },
        { { KNPU_ACTP_MISH, NAN, 0 }, 3 },
        { { KNPU_ACTP_GELU_TANH, 0, -INFINITY }, 4 },
        { { KNPU_ACTP_ABS, 2.0f, 2.0f }, 3 },
        { { KNPU_ACTP_ROUND, 0, NAN }, 4 },
        { { KNPU_ACTP_SIN, 1.0f, 0 }, 3 },              /* v1.6: both 0 */
        { { KNPU_ACTP_COS, 0, 0.5f }, 4 },
        { { KNPU_ACTP_TAN, -1.0f, 0 }, 3 },             /* v1.8: both 0 */
        { { KNPU_ACTP_ERF, 0, 1.0f }, 4 },
    };
    const ParamAct ok = { KNPU_ACTP_HARDSWISH, 1.0f / 6, 0.5f };
    const ParamAct neg_zeros = { KNPU_ACTP_LOG, -0.0f, -0.0f };
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
    /* Functions 25-31; count 0; a past-64-MiB count; INT8; a flag. */
    for (i = KNPU_ACTP_ERF + 1; i <= 31; i++) {
        const ParamAct fn = { i, 0, 0 };

        p.n = 0;
        emit_param_act(&p, KNPU_DT_FP32, &fn, 8);
        e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
        g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
    }
    /* -0 is a 0 parameter */
    p.n = 0;
    emit_param_act(&p, KNPU_DT_FP32, &neg_zeros, 8);
    cx_run(&c, &p, args, 2);
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
    EMIT(&p, KNPU_OP_ACTIVATION_PARAM, KNPU_DT_FP32, 0x20, 3, 0, 1, 8, 0, 0);
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
    qtest_add_func("/knpu/compute/eltwise-pow", test_eltwise_pow);
    qtest_add_func("/knpu/compute/eltwise-fmod", test_eltwise_fmod);
    qtest_add_func("/knpu/compute/eltwise-errors", test_eltwise_errors);
    qtest_add_func("/knpu/compute/activation-param", test_activation_param);
    qtest_add_func("/knpu/compute/activation-param-v15",
                   test_activation_param_v15);
    qtest_add_func("/knpu/compute/activation-param-trig-large",
                   test_activation_param_trig_large);
    qtest_add_func("/knpu/compute/activation-param-v18-ulp",
                   test_activation_param_v18_ulp);
    qtest_add_func("/knpu/compute/activation-special",
                   test_activation_special);
    qtest_add_func("/knpu/compute/activation-param-special",
                   test_activation_param_special);
    qtest_add_func("/knpu/compute/activation-param-errors",
                   test_activation_param_errors);
}
