/*
 * KNPU device model: ELTWISE and ACTIVATION (spec section 7.4), and
 * ACTIVATION_PARAM (7.4.1, v1.1; its v1.5 to v1.8 functions 7.4.5, 7.4.6,
 * 7.4.8); ELTWISE's POW and FMOD (7.4.8).
 *
 * Floating types run on oneDNN's binary and eltwise primitives. INT8 and
 * INT32 ELTWISE are exact integer loops: oneDNN computes integer binary
 * operations in FP32 (inexact beyond 2^24) and rounds quotients, where the
 * spec saturates and truncates.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "knpu-compute.h"

enum { ELT_A, ELT_B, ELT_OUT, ELT_COUNT, ELT_BCOUNT };
enum { ACT_IN, ACT_OUT, ACT_COUNT };

static const dnnl_alg_kind_t eltwise_algs[] = {
    [KNPU_ELTWISE_ADD] = dnnl_binary_add,
    [KNPU_ELTWISE_SUB] = dnnl_binary_sub,
    [KNPU_ELTWISE_MUL] = dnnl_binary_mul,
    [KNPU_ELTWISE_DIV] = dnnl_binary_div,
    [KNPU_ELTWISE_MAX] = dnnl_binary_max,
    [KNPU_ELTWISE_MIN] = dnnl_binary_min,
};

/* Primitive key: v[] holds A's rows and columns, and B's columns. */
static void eltwise_mds(const KnpuPrimKey *k, dnnl_memory_desc_t *a,
                        dnnl_memory_desc_t *b)
{
    int64_t dims[2] = { k->v[0], k->v[1] };
    int64_t bdims[2] = { 1, k->v[2] };

    knpu_md_plain(a, 2, dims, dnnl_f32);
    knpu_md_plain(b, 2, bdims, dnnl_f32);
}

static dnnl_status_t eltwise_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                dnnl_primitive_attr_t attr,
                                dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t a, b;
    dnnl_binary_desc_t desc;
    dnnl_status_t st;

    eltwise_mds(k, &a, &b);
    st = dnnl_binary_desc_init(&desc, eltwise_algs[KNPU_FLAG_OP(k->flags)],
                               &a, &b, &a);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

static int64_t eltwise_int(uint32_t op, int64_t x, int64_t y)
{
    switch (op) {
    case KNPU_ELTWISE_ADD:
        return x + y;
    case KNPU_ELTWISE_SUB:
        return x - y;
    case KNPU_ELTWISE_MUL:
        return x * y;
    case KNPU_ELTWISE_DIV:
        return y ? x / y : 0;
    case KNPU_ELTWISE_MAX:
        return MAX(x, y);
    default:
        return MIN(x, y);
    }
}

/* INT8 and INT32: exact in 64 bits, saturated to the type. */
static void eltwise_ints(uint32_t dtype, uint32_t op, void *out,
                         const void *a, const void *b, uint64_t count,
                         uint64_t b_count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        int64_t v;

        if (dtype == KNPU_DT_INT8) {
            v = eltwise_int(op, ((const int8_t *)a)[i],
                            ((const int8_t *)b)[i % b_count]);
            ((int8_t *)out)[i] = MIN(MAX(v, INT8_MIN), INT8_MAX);
        } else {
            v = eltwise_int(op, ((const int32_t *)a)[i],
                            ((const int32_t *)b)[i % b_count]);
            ((int32_t *)out)[i] = MIN(MAX(v, INT32_MIN), INT32_MAX);
        }
    }
}

/*
 * POW and FMOD (7.4.8) on libm, which oneDNN's binary primitives lack. POW
 * in double, rounded once to FP32: a float powf is not within one unit in
 * the last place everywhere. Special values are IEEE 754's (pow(x, 0) = 1
 * even for a NaN x, a negative x to a non-integer power NaN; fmod(x, 0)
 * NaN). fmod is exact: its result is representable in the operands' type.
 */
static void eltwise_libm(uint32_t op, float *out, const float *a,
                         const float *b, uint64_t count, uint64_t b_count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        out[i] = op == KNPU_ELTWISE_POW ? pow(a[i], b[i % b_count]) :
                 fmodf(a[i], b[i % b_count]);
    }
}

bool knpu_op_eltwise(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, op = KNPU_FLAG_OP(in->flags);
    uint64_t count = in->ops[ELT_COUNT], b_count = in->ops[ELT_BCOUNT];
    void *a = NULL, *b = NULL, *out = NULL;
    KnpuTensor ta, tb, tout;
    KnpuPrimKey key = {
        .kind = KNPU_OP_ELTWISE, .dtype = KNPU_DT_FP32, .flags = op,
    };
    KnpuDnnlArg args[3];

    if (op > KNPU_ELTWISE_FMOD ||
        (op >= KNPU_ELTWISE_POW && !knpu_dtype_is_float(dt))) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    if (!count) {
        return knpu_operand_invalid(job, ELT_COUNT);
    }
    if (!b_count || count % b_count) {
        return knpu_operand_invalid(job, ELT_BCOUNT);
    }
    if (!knpu_tensor_init(job, &ta, in, ELT_A, dt, count) ||
        !knpu_tensor_init(job, &tb, in, ELT_B, dt, b_count) ||
        !knpu_tensor_init(job, &tout, in, ELT_OUT, dt, count) ||
        !knpu_tensor_check_align(job, &ta) ||
        !knpu_tensor_check_align(job, &tb) ||
        !knpu_tensor_check_align(job, &tout)) {
        return false;
    }
    if (!knpu_tensor_load(job, &ta, &a) || !knpu_tensor_load(job, &tb, &b)) {
        return false;
    }
    out = knpu_stage(job, count * knpu_dtype_size(knpu_compute_dtype(dt)));
    if (!knpu_dtype_is_float(dt)) {
        eltwise_ints(dt, op, out, a, b, count, b_count);
    } else if (op >= KNPU_ELTWISE_POW) {
        eltwise_libm(op, out, a, b, count, b_count);
    } else {
        /*
         * B repeats along A's rows. A scalar is one row of count columns
         * instead: oneDNN runs {n, 1} x {1, 1} on a path hundreds of times
         * slower than {1, n} x {1, 1}.
         */
        key.v[0] = b_count == 1 ? 1 : count / b_count;
        key.v[1] = b_count == 1 ? count : b_count;
        key.v[2] = b_count;
        eltwise_mds(&key, &args[0].md, &args[1].md);
        args[0].arg = DNNL_ARG_SRC_0;
        args[0].data = a;
        args[1].arg = DNNL_ARG_SRC_1;
        args[1].data = b;
        args[2] = (KnpuDnnlArg){ DNNL_ARG_DST, args[0].md, out };
        if (!knpu_prim_run(job, &key, eltwise_pd, args, 3)) {
            return false;
        }
    }
    return knpu_tensor_store(job, &tout, out);
}

/*
 * Whether none of the @count values is an infinity or NaN (exponent all
 * ones), so that the special-value passes below have nothing to do. Eight
 * lanes of integer ORs the compiler vectorizes: 15 times faster than those
 * passes' per-element branches, which cost a third of an ACTIVATION_PARAM's
 * time outside oneDNN (docs/performance.md, stop 26).
 */
static bool all_finite(const float *x, uint64_t count)
{
    const uint32_t *bits = (const uint32_t *)x;
    uint32_t top[8] = { 0 };
    uint64_t i;
    unsigned j;

    /* exponent all ones, plus one at its lowest bit, carries into bit 31 */
    for (i = 0; i + 8 <= count; i += 8) {
        for (j = 0; j < 8; j++) {
            top[j] |= (bits[i + j] & 0x7f800000u) + 0x00800000u;
        }
    }
    for (; i < count; i++) {
        top[0] |= (bits[i] & 0x7f800000u) + 0x00800000u;
    }
    for (j = 1; j < 8; j++) {
        top[0] |= top[j];
    }
    return !(top[0] >> 31);
}

/*
 * The functions that are x times a factor tending to 0 (GELU, SILU,
 * HARDSWISH, MISH, GELU_TANH) give their limit -0 at -inf (7.3, 7.4.1,
 * 7.4.5), where oneDNN computes -inf * 0 = NaN.
 */
static void limit_at_minus_inf(const float *x, float *out, uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        if (x[i] == -INFINITY && isnan(out[i])) {
            out[i] = -0.0f;
        }
    }
}

/*
 * Primitive key: v[0] count, v[1] the step of knpu_act_steps(), flags the
 * activation.
 */
static dnnl_status_t activation_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                   dnnl_primitive_attr_t attr,
                                   dnnl_primitive_desc_t *pd)
{
    KnpuActStep steps[KNPU_ACT_MAX_STEPS];
    dnnl_eltwise_desc_t desc;
    dnnl_memory_desc_t md;
    dnnl_status_t st;
    const KnpuActStep *step = &steps[k->v[1]];

    knpu_md_plain(&md, 1, &k->v[0], knpu_dnnl_dt(k->dtype));
    knpu_act_steps(k->flags, steps);
    st = dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference,
                                        step->alg, &md, step->alpha,
                                        step->beta);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/*
 * Activation @act on @count values of @in into @out (may be @in), both
 * in the compute type of @dt: one eltwise primitive per step, since an
 * eltwise primitive with post-ops falls back to a reference
 * implementation (see activation_param_run()).
 */
static bool activation_run(KnpuJob *job, uint32_t act, uint32_t dt,
                           void *in, void *out, uint64_t count)
{
    KnpuActStep steps[KNPU_ACT_MAX_STEPS];
    unsigned i, n = knpu_act_steps(act, steps);
    KnpuPrimKey key = {
        .kind = KNPU_OP_ACTIVATION, .dtype = knpu_compute_dtype(dt),
        .flags = act, .v = { count },
    };
    KnpuDnnlArg args[2];

    knpu_md_plain(&args[0].md, 1, &key.v[0], knpu_dnnl_dt(dt));
    args[0].arg = DNNL_ARG_SRC;
    args[1] = (KnpuDnnlArg){ DNNL_ARG_DST, args[0].md, out };
    for (i = 0; i < n; i++) {
        key.v[1] = i;
        args[0].data = i ? out : in;
        if (!knpu_prim_run(job, &key, activation_pd, args, 2)) {
            return false;
        }
    }
    return true;
}

bool knpu_op_activation(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, act = KNPU_FLAG_OP(in->flags);
    uint64_t count = in->ops[ACT_COUNT];
    void *src = NULL, *out = NULL;
    KnpuTensor tin, tout;

    if (act < KNPU_ACT_RELU || act > KNPU_ACT_LAST ||
        (dt == KNPU_DT_INT8 && act != KNPU_ACT_RELU)) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    if (!count) {
        return knpu_operand_invalid(job, ACT_COUNT);
    }
    if (!knpu_tensor_init(job, &tin, in, ACT_IN, dt, count) ||
        !knpu_tensor_init(job, &tout, in, ACT_OUT, dt, count) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout)) {
        return false;
    }
    if (!knpu_tensor_load(job, &tin, &src)) {
        return false;
    }
    out = knpu_stage(job, count * knpu_dtype_size(knpu_compute_dtype(dt)));
    if (!activation_run(job, act, dt, src, out, count)) {
        return false;
    }
    if ((act == KNPU_ACT_GELU || act == KNPU_ACT_SILU ||
         act == KNPU_ACT_HARDSWISH) && !all_finite(src, count)) {
        limit_at_minus_inf(src, out, count);
    }
    return knpu_tensor_store(job, &tout, out);
}

/*
 * ACT of a fused activation applied on its own, to @count FP32 values in
 * place (CONV_TRANSPOSE's output; CONV2D's hard-sigmoid after a scale).
 * ACT none: nothing.
 */
bool knpu_act_apply(KnpuJob *job, uint32_t act, float *buf, uint64_t count)
{
    return activation_run(job, act, KNPU_DT_FP32, buf, buf, count);
}

/* ACTIVATION_PARAM (v1.1) */

enum { ACTP_IN, ACTP_OUT, ACTP_COUNT, ACTP_ALPHA, ACTP_BETA };

/*
 * Primitive key: flags a oneDNN eltwise algorithm, v[0] the count, v[1]
 * and v[2] the bits of its alpha and beta.
 */
static dnnl_status_t eltwise_alg_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                    dnnl_primitive_attr_t attr,
                                    dnnl_primitive_desc_t *pd)
{
    dnnl_eltwise_desc_t desc;
    dnnl_memory_desc_t md;
    dnnl_status_t st;

    knpu_md_plain(&md, 1, &k->v[0], dnnl_f32);
    st = dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference,
                                        (dnnl_alg_kind_t)k->flags, &md,
                                        knpu_f32_of_bits(k->v[1]),
                                        knpu_f32_of_bits(k->v[2]));
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/* out = alg(in; alpha, beta) over @count FP32 values (in may be out). */
static bool eltwise_alg_run(KnpuJob *job, dnnl_alg_kind_t alg, float alpha,
                            float beta, const float *in, float *out,
                            uint64_t count)
{
    uint32_t a, b;
    KnpuPrimKey key;
    KnpuDnnlArg args[2];

    memcpy(&a, &alpha, 4);
    memcpy(&b, &beta, 4);
    key = (KnpuPrimKey){
        .kind = KNPU_OP_ACTIVATION_PARAM, .dtype = KNPU_DT_FP32,
        .flags = alg, .v = { count, a, b },
    };
    knpu_md_plain(&args[0].md, 1, &key.v[0], dnnl_f32);
    args[0].arg = DNNL_ARG_SRC;
    args[0].data = (void *)in;
    args[1] = (KnpuDnnlArg){ DNNL_ARG_DST, args[0].md, out };
    return knpu_prim_run(job, &key, eltwise_alg_pd, args, 2);
}

/* out *= x, elementwise, on ELTWISE's binary primitive. */
static bool eltwise_mul_run(KnpuJob *job, float *out, const float *x,
                            uint64_t count)
{
    KnpuPrimKey key = {
        .kind = KNPU_OP_ELTWISE, .dtype = KNPU_DT_FP32,
        .flags = KNPU_ELTWISE_MUL, .v = { 1, count, count },
    };
    KnpuDnnlArg args[3];

    eltwise_mds(&key, &args[0].md, &args[1].md);
    args[0].arg = DNNL_ARG_SRC_0;
    args[0].data = out;
    args[1].md = args[0].md;
    args[1].arg = DNNL_ARG_SRC_1;
    args[1].data = (void *)x;
    args[2] = (KnpuDnnlArg){ DNNL_ARG_DST, args[0].md, out };
    return knpu_prim_run(job, &key, eltwise_pd, args, 3);
}

/*
 * LOG and SOFTPLUS (7.4.5) on libm: oneDNN 2.6's log is 0.4 off on
 * subnormals and its soft_relu goes negative near x = -20 (a Log of it
 * would be NaN).
 */
static void log_family_run(uint32_t fn, const float *x, float *out,
                           uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        float v = x[i];

        if (fn == KNPU_ACTP_LOG) {
            out[i] = logf(v);
        } else {
            out[i] = v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v));
        }
    }
}

/*
 * SIN and COS (7.4.6) on libm, which oneDNN has no algorithm for: glibc's
 * sinf and cosf reduce the argument by 2*pi exactly, so large positions
 * keep the accuracy the spec asks for.
 */
static void trig_run(uint32_t fn, const float *x, float *out, uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        out[i] = fn == KNPU_ACTP_SIN ? sinf(x[i]) : cosf(x[i]);
    }
}

/*
 * The v1.8 functions (7.4.8) on libm, which oneDNN has no algorithm for,
 * in double and rounded once to FP32: within one unit in the last place,
 * as the spec asks, where some of glibc's float versions are not. libm
 * gives the special values the spec lists (its table is C's Annex F).
 */
static void libm_run(uint32_t fn, const float *x, float *out, uint64_t count)
{
    static double (*const fns[])(double) = {
        [KNPU_ACTP_TAN] = tan,     [KNPU_ACTP_ASIN] = asin,
        [KNPU_ACTP_ACOS] = acos,   [KNPU_ACTP_ATAN] = atan,
        [KNPU_ACTP_SINH] = sinh,   [KNPU_ACTP_COSH] = cosh,
        [KNPU_ACTP_ASINH] = asinh, [KNPU_ACTP_ACOSH] = acosh,
        [KNPU_ACTP_ATANH] = atanh, [KNPU_ACTP_ERF] = erf,
    };
    double (*f)(double) = fns[fn];
    uint64_t i;

    for (i = 0; i < count; i++) {
        out[i] = f(x[i]);
    }
}

/*
 * A NaN input gives NaN (7.4.1), where oneDNN's clamps return a bound
 * and its exp returns +inf.
 */
static void nan_stays_nan(const float *x, float *out, uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        if (isnan(x[i])) {
            out[i] = x[i] + 0.0f;   /* quiet (7.3) */
        }
    }
}

/*
 * Run function @fn of ACTIVATION_PARAM on oneDNN's eltwise algorithms
 * (LOG, SOFTPLUS, SIN, COS and the v1.8 functions on libm).
 * oneDNN 2.6 has no hard-sigmoid, and an eltwise primitive with post-ops
 * falls back to a reference implementation that computes wrong results,
 * so hard-sigmoid is two primitives (linear alpha·x + beta, then a clip to
 * [0, 1]) and hard-swish a third (the product with x).
 */
static bool activation_param_run(KnpuJob *job, uint32_t fn, float alpha,
                                 float beta, const float *x, float *out,
                                 uint64_t count)
{
    static const dnnl_alg_kind_t algs[] = {
        [KNPU_ACTP_HARDSIGMOID] = dnnl_eltwise_linear,
        [KNPU_ACTP_HARDSWISH] = dnnl_eltwise_linear,
        [KNPU_ACTP_CLIP] = dnnl_eltwise_clip_v2,
        [KNPU_ACTP_SQRT] = dnnl_eltwise_sqrt,
        [KNPU_ACTP_EXP] = dnnl_eltwise_exp,
        [KNPU_ACTP_POW] = dnnl_eltwise_pow,
        [KNPU_ACTP_LEAKY_RELU] = dnnl_eltwise_relu,
        [KNPU_ACTP_MISH] = dnnl_eltwise_mish,
        [KNPU_ACTP_GELU_TANH] = dnnl_eltwise_gelu_tanh,
        [KNPU_ACTP_ABS] = dnnl_eltwise_abs,
        [KNPU_ACTP_ROUND] = dnnl_eltwise_round,
    };
    bool hard = fn == KNPU_ACTP_HARDSIGMOID || fn == KNPU_ACTP_HARDSWISH;

    if (fn == KNPU_ACTP_LOG || fn == KNPU_ACTP_SOFTPLUS) {
        log_family_run(fn, x, out, count);
        return true;
    }
    if (fn == KNPU_ACTP_SIN || fn == KNPU_ACTP_COS) {
        trig_run(fn, x, out, count);
        return true;
    }
    if (fn >= KNPU_ACTP_TAN) {
        libm_run(fn, x, out, count);
        return true;
    }
    if (!eltwise_alg_run(job, algs[fn], alpha, beta, x, out, count) ||
        (hard && !eltwise_alg_run(job, dnnl_eltwise_clip_v2, 0.0f, 1.0f,
                                  out, out, count)) ||
        (fn == KNPU_ACTP_HARDSWISH && !eltwise_mul_run(job, out, x, count))) {
        return false;
    }
    if (all_finite(x, count)) {
        return true;
    }
    if (fn == KNPU_ACTP_HARDSWISH || fn == KNPU_ACTP_MISH ||
        fn == KNPU_ACTP_GELU_TANH) {
        limit_at_minus_inf(x, out, count);
    }
    nan_stays_nan(x, out, count);
    return true;
}

/* Section 7.4.1 rules on the parameters of function @fn. */
static bool activation_param_check(KnpuJob *job, uint32_t fn, float alpha,
                                   float beta)
{
    switch (fn) {
    case KNPU_ACTP_CLIP:
        if (isnan(alpha) || isnan(beta) || alpha > beta) {
            return knpu_operand_invalid(job, isnan(alpha) ? ACTP_ALPHA :
                                        ACTP_BETA);
        }
        return true;
    case KNPU_ACTP_SQRT:
    case KNPU_ACTP_EXP:
    case KNPU_ACTP_LOG ... KNPU_ACTP_ERF:
        if (alpha != 0.0f || beta != 0.0f) {
            return knpu_operand_invalid(job, alpha != 0.0f ? ACTP_ALPHA :
                                        ACTP_BETA);
        }
        return true;
    case KNPU_ACTP_LEAKY_RELU:
        if (!isfinite(alpha) || beta != 0.0f) {
            return knpu_operand_invalid(job, !isfinite(alpha) ? ACTP_ALPHA :
                                        ACTP_BETA);
        }
        return true;
    default:
        if (!isfinite(alpha) || !isfinite(beta)) {
            return knpu_operand_invalid(job, !isfinite(alpha) ? ACTP_ALPHA :
                                        ACTP_BETA);
        }
        return true;
    }
}

bool knpu_op_activation_param(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, fn = KNPU_FLAG_FUNC(in->flags);
    uint64_t count = in->ops[ACTP_COUNT];
    float alpha = knpu_f32_of_bits(in->ops[ACTP_ALPHA]);
    float beta = knpu_f32_of_bits(in->ops[ACTP_BETA]);
    float *src = NULL, *out = NULL;
    KnpuTensor tin, tout;

    if (fn > KNPU_ACTP_ERF) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    if (!count) {
        return knpu_operand_invalid(job, ACTP_COUNT);
    }
    if (!activation_param_check(job, fn, alpha, beta) ||
        !knpu_tensor_init(job, &tin, in, ACTP_IN, dt, count) ||
        !knpu_tensor_init(job, &tout, in, ACTP_OUT, dt, count) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout) ||
        !knpu_tensor_load(job, &tin, (void **)&src)) {
        return false;
    }
    out = knpu_stage(job, count * sizeof(float));
    return activation_param_run(job, fn, alpha, beta, src, out, count) &&
           knpu_tensor_store(job, &tout, out);
}
