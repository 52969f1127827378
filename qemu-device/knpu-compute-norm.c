/*
 * KNPU device model: SOFTMAX (with v1.5's LOG, 7.4.5), LAYERNORM and RMSNORM
 * (spec section 7.4) on
 * oneDNN's softmax, layer normalization, reduction and binary primitives.
 * Rows are the outer dimension, the normalized one the inner.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "knpu-compute.h"

enum { SM_IN, SM_OUT, SM_ROWS, SM_COLS };
enum { LN_IN, LN_OUT, LN_GAMMA, LN_BETA, LN_ROWS, LN_COLS, LN_EPS };
enum { RMS_IN, RMS_OUT, RMS_GAMMA, RMS_ROWS, RMS_COLS, RMS_EPS };

/* Keys: v[0] rows, v[1] cols, v[2] the bits of epsilon; SOFTMAX's flags. */
static void rows_md(const KnpuPrimKey *k, dnnl_memory_desc_t *md,
                    int64_t cols)
{
    int64_t dims[2] = { k->v[0], cols };

    knpu_md_plain(md, 2, dims, dnnl_f32);
}

static dnnl_status_t softmax_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                dnnl_primitive_attr_t attr,
                                dnnl_primitive_desc_t *pd)
{
    dnnl_softmax_v2_desc_t desc;
    dnnl_memory_desc_t md;
    dnnl_status_t st;

    rows_md(k, &md, k->v[1]);
    st = dnnl_softmax_v2_forward_desc_init(&desc, dnnl_forward_inference,
                                           k->flags & KNPU_FLAG_SOFTMAX_LOG ?
                                           dnnl_softmax_log :
                                           dnnl_softmax_accurate,
                                           &md, &md, 1);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

static dnnl_status_t layernorm_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                  dnnl_primitive_attr_t attr,
                                  dnnl_primitive_desc_t *pd)
{
    dnnl_layer_normalization_desc_t desc;
    dnnl_memory_desc_t md;
    dnnl_status_t st;

    rows_md(k, &md, k->v[1]);
    st = dnnl_layer_normalization_forward_desc_init(
        &desc, dnnl_forward_inference, &md, NULL,
        knpu_f32_of_bits(k->v[2]), dnnl_use_scale | dnnl_use_shift);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/* RMSNORM step 1: the sum of squares of each row. */
static dnnl_status_t rms_sumsq_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                  dnnl_primitive_attr_t attr,
                                  dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, dst;
    dnnl_reduction_desc_t desc;
    dnnl_status_t st;

    rows_md(k, &src, k->v[1]);
    rows_md(k, &dst, 1);
    st = dnnl_reduction_desc_init(&desc, dnnl_reduction_norm_lp_power_p_sum,
                                  &src, &dst, 2, 0);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/* RMSNORM step 2: x · (per-row factor) · gamma. */
static dnnl_status_t rms_scale_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                  dnnl_primitive_attr_t attr,
                                  dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t x, factor, gamma;
    int64_t gdims[2] = { 1, k->v[1] };
    dnnl_post_ops_t po;
    dnnl_binary_desc_t desc;
    dnnl_status_t st;

    rows_md(k, &x, k->v[1]);
    rows_md(k, &factor, 1);
    knpu_md_plain(&gamma, 2, gdims, dnnl_f32);
    st = dnnl_post_ops_create(&po);
    if (st != dnnl_success) {
        return st;
    }
    st = dnnl_post_ops_append_binary(po, dnnl_binary_mul, &gamma);
    if (st == dnnl_success) {
        st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    dnnl_post_ops_destroy(po);
    if (st == dnnl_success) {
        st = dnnl_binary_desc_init(&desc, dnnl_binary_mul, &x, &factor, &x);
    }
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/* Check rows and cols (operands @rows_op, @rows_op + 1) and epsilon. */
static bool norm_check(KnpuJob *job, const KnpuInsn *in, unsigned rows_op,
                       int eps_op)
{
    if (!in->ops[rows_op] || !in->ops[rows_op + 1]) {
        return knpu_operand_invalid(job, rows_op + !!in->ops[rows_op]);
    }
    if (eps_op >= 0) {
        float eps = knpu_f32_of_bits(in->ops[eps_op]);

        if (!isfinite(eps) || eps < 0) {
            return knpu_operand_invalid(job, eps_op);
        }
    }
    return true;
}

/* Tensors rows×cols at operands @src_op and @dst_op, checked. */
static bool norm_tensors(KnpuJob *job, const KnpuInsn *in, KnpuTensor *src,
                         KnpuTensor *dst, unsigned src_op, unsigned dst_op,
                         unsigned rows_op)
{
    uint64_t count = in->ops[rows_op];

    return knpu_count_mul(job, rows_op, &count, in->ops[rows_op + 1]) &&
           knpu_tensor_init(job, src, in, src_op, in->dtype, count) &&
           knpu_tensor_init(job, dst, in, dst_op, in->dtype, count);
}

/*
 * Log-softmax rows holding NaN or +inf, or only -inf, are NaN (7.4.5);
 * oneDNN writes -inf beside such elements.
 */
static void log_softmax_nan_rows(const float *x, float *y, uint64_t rows,
                                 uint64_t cols)
{
    uint64_t r, i;

    for (r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        bool finite_max = false, nan_row = false;

        for (i = 0; i < cols; i++) {
            nan_row |= isnan(row[i]) || row[i] == INFINITY;
            finite_max |= row[i] != -INFINITY;
        }
        if (nan_row || !finite_max) {
            for (i = 0; i < cols; i++) {
                y[r * cols + i] = NAN;
            }
        }
    }
}

bool knpu_op_softmax(KnpuJob *job, const KnpuInsn *in)
{
    void *x = NULL, *y = NULL;
    KnpuTensor tin, tout;
    KnpuPrimKey key = {
        .kind = KNPU_OP_SOFTMAX, .dtype = KNPU_DT_FP32, .flags = in->flags,
        .v = { in->ops[SM_ROWS], in->ops[SM_COLS] },
    };
    KnpuDnnlArg args[2];

    if (!norm_check(job, in, SM_ROWS, -1) ||
        !norm_tensors(job, in, &tin, &tout, SM_IN, SM_OUT, SM_ROWS) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout) ||
        !knpu_tensor_load(job, &tin, &x)) {
        return false;
    }
    y = knpu_stage(job, tin.count * sizeof(float));
    rows_md(&key, &args[0].md, key.v[1]);
    args[0].arg = DNNL_ARG_SRC;
    args[0].data = x;
    args[1] = (KnpuDnnlArg){ DNNL_ARG_DST, args[0].md, y };
    if (!knpu_prim_run(job, &key, softmax_pd, args, 2)) {
        return false;
    }
    if (in->flags & KNPU_FLAG_SOFTMAX_LOG) {
        log_softmax_nan_rows(x, y, key.v[0], key.v[1]);
    }
    return knpu_tensor_store(job, &tout, y);
}

bool knpu_op_layernorm(KnpuJob *job, const KnpuInsn *in)
{
    uint64_t cols = in->ops[LN_COLS];
    void *x = NULL, *y = NULL, *gamma = NULL, *beta = NULL;
    KnpuTensor tin, tout, tgamma, tbeta;
    KnpuPrimKey key = {
        .kind = KNPU_OP_LAYERNORM, .dtype = KNPU_DT_FP32,
        .v = { in->ops[LN_ROWS], cols, in->ops[LN_EPS] },
    };
    KnpuDnnlArg args[4];

    if (!norm_check(job, in, LN_ROWS, LN_EPS) ||
        !norm_tensors(job, in, &tin, &tout, LN_IN, LN_OUT, LN_ROWS) ||
        !knpu_tensor_init(job, &tgamma, in, LN_GAMMA, in->dtype, cols) ||
        !knpu_tensor_init(job, &tbeta, in, LN_BETA, in->dtype, cols) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout) ||
        !knpu_tensor_check_align(job, &tgamma) ||
        !knpu_tensor_check_align(job, &tbeta) ||
        !knpu_tensor_load(job, &tin, &x) ||
        !knpu_tensor_load(job, &tgamma, &gamma) ||
        !knpu_tensor_load(job, &tbeta, &beta)) {
        return false;
    }
    y = knpu_stage(job, tin.count * sizeof(float));
    rows_md(&key, &args[0].md, cols);
    args[0].arg = DNNL_ARG_SRC;
    args[0].data = x;
    args[1] = (KnpuDnnlArg){ DNNL_ARG_DST, args[0].md, y };
    knpu_md_plain(&args[2].md, 1, &key.v[1], dnnl_f32);
    args[2].arg = DNNL_ARG_SCALE;
    args[2].data = gamma;
    args[3] = (KnpuDnnlArg){ DNNL_ARG_SHIFT, args[2].md, beta };
    return knpu_prim_run(job, &key, layernorm_pd, args, 4) &&
           knpu_tensor_store(job, &tout, y);
}

/* RMSNORM step 1 for each of the key's rows of @x, into @sumsq. */
static bool rms_sum_of_squares(KnpuJob *job, const KnpuPrimKey *key,
                               const float *x, float *sumsq)
{
    KnpuDnnlArg args[2];
    uint64_t r;

    if (key->v[1] == 1) {
        /* oneDNN refuses a reduction that leaves the shape as it is. */
        for (r = 0; r < key->v[0]; r++) {
            sumsq[r] = x[r] * x[r];
        }
        return true;
    }
    rows_md(key, &args[0].md, key->v[1]);
    args[0].arg = DNNL_ARG_SRC;
    args[0].data = (void *)x;
    rows_md(key, &args[1].md, 1);
    args[1].arg = DNNL_ARG_DST;
    args[1].data = sumsq;
    return knpu_prim_run(job, key, rms_sumsq_pd, args, 2);
}

bool knpu_op_rmsnorm(KnpuJob *job, const KnpuInsn *in)
{
    uint64_t rows = in->ops[RMS_ROWS], cols = in->ops[RMS_COLS], r;
    float eps = knpu_f32_of_bits(in->ops[RMS_EPS]);
    void *x = NULL, *y = NULL, *gamma = NULL;
    float *factor;
    KnpuTensor tin, tout, tgamma;
    KnpuPrimKey key = {
        .kind = KNPU_KIND_RMS_SUMSQ, .dtype = KNPU_DT_FP32, .v = { rows, cols },
    };
    int64_t gdims[2] = { 1, cols };
    KnpuDnnlArg args[4];

    if (!norm_check(job, in, RMS_ROWS, RMS_EPS) ||
        !norm_tensors(job, in, &tin, &tout, RMS_IN, RMS_OUT, RMS_ROWS) ||
        !knpu_tensor_init(job, &tgamma, in, RMS_GAMMA, in->dtype, cols) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout) ||
        !knpu_tensor_check_align(job, &tgamma) ||
        !knpu_tensor_load(job, &tin, &x) ||
        !knpu_tensor_load(job, &tgamma, &gamma)) {
        return false;
    }
    factor = knpu_stage(job, rows * sizeof(float));
    if (!rms_sum_of_squares(job, &key, x, factor)) {
        return false;
    }
    for (r = 0; r < rows; r++) {
        factor[r] = 1.0f / sqrtf(factor[r] / cols + eps);
    }
    y = knpu_stage(job, tin.count * sizeof(float));
    key.kind = KNPU_KIND_RMS_SCALE;
    rows_md(&key, &args[0].md, cols);
    args[0].arg = DNNL_ARG_SRC_0;
    args[0].data = x;
    rows_md(&key, &args[1].md, 1);
    args[1].arg = DNNL_ARG_SRC_1;
    args[1].data = factor;
    args[2] = (KnpuDnnlArg){ DNNL_ARG_DST, args[0].md, y };
    knpu_md_plain(&args[3].md, 2, gdims, dnnl_f32);
    args[3].arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1;
    args[3].data = gamma;
    return knpu_prim_run(job, &key, rms_scale_pd, args, 4) &&
           knpu_tensor_store(job, &tout, y);
}
