/*
 * KNPU device model: ELTWISE and ACTIVATION (spec section 7.4).
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

/* Primitive key: v[] holds rows (count / b_count) and b_count. */
static void eltwise_mds(const KnpuPrimKey *k, dnnl_memory_desc_t *a,
                        dnnl_memory_desc_t *b)
{
    int64_t dims[2] = { k->v[0], k->v[1] };
    int64_t bdims[2] = { 1, k->v[1] };

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

bool knpu_op_eltwise(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, op = KNPU_FLAG_OP(in->flags);
    uint64_t count = in->ops[ELT_COUNT], b_count = in->ops[ELT_BCOUNT];
    g_autofree void *a = NULL, *b = NULL, *out = NULL;
    KnpuTensor ta, tb, tout;
    KnpuPrimKey key = {
        .kind = KNPU_OP_ELTWISE, .dtype = KNPU_DT_FP32, .flags = op,
    };
    KnpuDnnlArg args[3];

    if (op > KNPU_ELTWISE_MIN) {
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
    out = g_malloc(count * knpu_dtype_size(knpu_compute_dtype(dt)));
    if (!knpu_dtype_is_float(dt)) {
        eltwise_ints(dt, op, out, a, b, count, b_count);
    } else {
        key.v[0] = count / b_count;
        key.v[1] = b_count;
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

/* Primitive key: v[0] count, flags the activation. */
static dnnl_status_t activation_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                   dnnl_primitive_attr_t attr,
                                   dnnl_primitive_desc_t *pd)
{
    dnnl_eltwise_desc_t desc;
    dnnl_memory_desc_t md;
    dnnl_alg_kind_t alg;
    dnnl_status_t st;
    float alpha;

    knpu_md_plain(&md, 1, &k->v[0], knpu_dnnl_dt(k->dtype));
    knpu_act_alg(k->flags, &alg, &alpha);
    st = dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, alg,
                                        &md, alpha, 0);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

bool knpu_op_activation(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, act = KNPU_FLAG_OP(in->flags);
    uint64_t count = in->ops[ACT_COUNT];
    g_autofree void *src = NULL, *out = NULL;
    KnpuTensor tin, tout;
    KnpuPrimKey key = {
        .kind = KNPU_OP_ACTIVATION, .dtype = knpu_compute_dtype(dt),
        .flags = act, .v = { count },
    };
    KnpuDnnlArg args[2];

    if (act < KNPU_ACT_RELU || act > KNPU_ACT_TANH ||
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
    out = g_malloc(count * knpu_dtype_size(knpu_compute_dtype(dt)));
    knpu_md_plain(&args[0].md, 1, &key.v[0], knpu_dnnl_dt(dt));
    args[0].arg = DNNL_ARG_SRC;
    args[0].data = src;
    args[1] = (KnpuDnnlArg){ DNNL_ARG_DST, args[0].md, out };
    return knpu_prim_run(job, &key, activation_pd, args, 2) &&
           knpu_tensor_store(job, &tout, out);
}
