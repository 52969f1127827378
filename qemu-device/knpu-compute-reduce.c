/*
 * KNPU device model: REDUCE and TRANSPOSE (spec section 7.4).
 *
 * Floating REDUCE runs on oneDNN: a reduction of the innermost dimension
 * as a reduction, sum, mean and max of another as a pooling (see
 * reduce_as_pooling()); INT32 REDUCE is an exact loop
 * (oneDNN accumulates integers in FP32). TRANSPOSE is a oneDNN
 * reorder between two strided views of bytes; elements move bit for bit,
 * so FP16 and BF16 are not widened.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "knpu-compute.h"

enum { RED_IN, RED_OUT, RED_OUTER, RED_LENGTH, RED_INNER };
enum { TR_IN, TR_OUT, TR_BATCH, TR_ROWS, TR_COLS };

static const dnnl_alg_kind_t reduce_algs[] = {
    [KNPU_REDUCE_SUM] = dnnl_reduction_sum,
    [KNPU_REDUCE_MEAN] = dnnl_reduction_mean,
    [KNPU_REDUCE_MAX] = dnnl_reduction_max,
    [KNPU_REDUCE_MIN] = dnnl_reduction_min,
};

/*
 * Keys: flags the operation, v[] the three dimensions.
 *
 * oneDNN 2.6 has jit kernels for a reduction of the innermost dimension
 * only, described without a trailing dimension of 1; any other runs its
 * reference (12 ms for 614,400 elements, one thread). Its pooling has jit
 * kernels for NHWC (36 us for the same reduction), but for NCHW it falls
 * back to a plain loop below AVX-512, and on it for some shapes. So with
 * inner = 1 every operation is a 2-D reduction (96×1600, one thread: 8 us
 * against the NCHW pooling's 26 us on AVX-512, 15 against 124 us on
 * AVX2); with inner > 1 sum, mean and max are one pooling window spanning
 * the reduced dimension of the NHWC image 1×inner×outer×length (channels
 * innermost), sum the average times length (a linear post-op): a
 * reordered sum, as section 7.3 allows. Min has no pooling there and
 * stays a reduction.
 */
static bool reduce_as_pooling(const KnpuPrimKey *k)
{
    return k->flags != KNPU_REDUCE_MIN && k->v[2] != 1;
}

static void reduce_pool_mds(const KnpuPrimKey *k, dnnl_memory_desc_t *src,
                            dnnl_memory_desc_t *dst)
{
    int64_t outer = k->v[0], length = k->v[1], inner = k->v[2];

    knpu_md_strided(src, 4, (int64_t[]){ 1, inner, outer, length },
                    (int64_t[]){ outer * length * inner, 1, length * inner,
                                 inner }, dnnl_f32);
    knpu_md_strided(dst, 4, (int64_t[]){ 1, inner, outer, 1 },
                    (int64_t[]){ outer * inner, 1, inner, inner }, dnnl_f32);
}

static void reduce_mds(const KnpuPrimKey *k, dnnl_memory_desc_t *src,
                       dnnl_memory_desc_t *dst)
{
    int64_t dims[3] = { k->v[0], k->v[1], k->v[2] };
    int ndims = k->v[2] == 1 ? 2 : 3;

    if (reduce_as_pooling(k)) {
        reduce_pool_mds(k, src, dst);
        return;
    }
    knpu_md_plain(src, ndims, dims, dnnl_f32);
    dims[1] = 1;
    knpu_md_plain(dst, ndims, dims, dnnl_f32);
}

static dnnl_status_t reduce_pool_pd(const KnpuPrimKey *k,
                                    dnnl_engine_t engine,
                                    dnnl_primitive_attr_t attr,
                                    dnnl_primitive_desc_t *pd)
{
    int64_t window[DNNL_MAX_NDIMS] = { 1, k->v[1] };
    int64_t zero[DNNL_MAX_NDIMS] = { 0 };
    dnnl_memory_desc_t src, dst;
    dnnl_pooling_v2_desc_t desc;
    dnnl_post_ops_t po;
    dnnl_status_t st;

    reduce_pool_mds(k, &src, &dst);
    st = dnnl_pooling_v2_forward_desc_init(
        &desc, dnnl_forward_inference,
        k->flags == KNPU_REDUCE_MAX ? dnnl_pooling_max :
        dnnl_pooling_avg_exclude_padding, &src, &dst, window, window, zero,
        zero, zero);
    if (st == dnnl_success && k->flags == KNPU_REDUCE_SUM) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) {
            st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear,
                                              (float)k->v[1], 0);
            if (st == dnnl_success) {
                st = dnnl_primitive_attr_set_post_ops(attr, po);
            }
            dnnl_post_ops_destroy(po);
        }
    }
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

static dnnl_status_t reduce_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                               dnnl_primitive_attr_t attr,
                               dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, dst;
    dnnl_reduction_desc_t desc;
    dnnl_status_t st;

    if (reduce_as_pooling(k)) {
        return reduce_pool_pd(k, engine, attr, pd);
    }
    reduce_mds(k, &src, &dst);
    st = dnnl_reduction_desc_init(&desc, reduce_algs[k->flags], &src, &dst,
                                  0, 0);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/* INT32: sums in 64 bits, saturated; the mean rounds half to even. */
static void reduce_int32(uint32_t op, int32_t *out, const int32_t *in,
                         uint64_t outer, uint64_t length, uint64_t inner)
{
    uint64_t o, l, i;

    for (o = 0; o < outer; o++) {
        for (i = 0; i < inner; i++) {
            const int32_t *p = in + o * length * inner + i;
            int64_t acc = p[0];

            for (l = 1; l < length; l++) {
                int32_t v = p[l * inner];

                acc = op == KNPU_REDUCE_MAX ? MAX(acc, v) :
                      op == KNPU_REDUCE_MIN ? MIN(acc, v) : acc + v;
            }
            if (op == KNPU_REDUCE_MEAN) {
                acc = (int64_t)nearbyint((double)acc / length);
            }
            out[o * inner + i] = MIN(MAX(acc, INT32_MIN), INT32_MAX);
        }
    }
}

bool knpu_op_reduce(KnpuJob *job, const KnpuInsn *in)
{
    uint64_t outer = in->ops[RED_OUTER], length = in->ops[RED_LENGTH];
    uint64_t inner = in->ops[RED_INNER], count = outer, out_count;
    uint32_t dt = in->dtype;
    void *src = NULL, *out = NULL;
    KnpuTensor tin, tout;
    KnpuPrimKey key = {
        .kind = KNPU_OP_REDUCE, .dtype = KNPU_DT_FP32,
        .flags = KNPU_FLAG_OP(in->flags), .v = { outer, length, inner },
    };
    KnpuDnnlArg args[2];

    if (!outer || !length || !inner) {
        return knpu_operand_invalid(job, !outer ? RED_OUTER :
                                    !length ? RED_LENGTH : RED_INNER);
    }
    if (!knpu_count_mul(job, RED_INNER, &count, inner)) {
        return false;
    }
    out_count = count;
    if (!knpu_count_mul(job, RED_LENGTH, &count, length) ||
        !knpu_tensor_init(job, &tin, in, RED_IN, dt, count) ||
        !knpu_tensor_init(job, &tout, in, RED_OUT, dt, out_count) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout) ||
        !knpu_tensor_load(job, &tin, &src)) {
        return false;
    }
    if (length == 1 && dt != KNPU_DT_INT32) {
        /*
         * A reduction over one element is the element, and oneDNN refuses
         * a reduction whose source and destination have the same shape.
         */
        return knpu_tensor_store(job, &tout, src);
    }
    out = knpu_stage(job, out_count * knpu_dtype_size(knpu_compute_dtype(dt)));
    if (dt == KNPU_DT_INT32) {
        reduce_int32(key.flags, out, src, outer, length, inner);
    } else {
        reduce_mds(&key, &args[0].md, &args[1].md);
        args[0].arg = DNNL_ARG_SRC;
        args[0].data = src;
        args[1].arg = DNNL_ARG_DST;
        args[1].data = out;
        if (!knpu_prim_run(job, &key, reduce_pd, args, 2)) {
            return false;
        }
    }
    return knpu_tensor_store(job, &tout, out);
}

/*
 * Keys: v[] holds batch, rows, cols; dtype the element type. Elements are
 * moved as bytes (an innermost dimension of the element size, type u8), so
 * every value, NaN payloads included, arrives unchanged.
 */
static void transpose_mds(const KnpuPrimKey *k, dnnl_memory_desc_t *src,
                          dnnl_memory_desc_t *dst)
{
    int64_t es = knpu_dtype_size(k->dtype);
    int64_t dims[4] = { k->v[0], k->v[1], k->v[2], es };
    int64_t strides[4] = { k->v[1] * k->v[2] * es, es, k->v[1] * es, 1 };

    knpu_md_plain(src, 4, dims, dnnl_u8);
    knpu_md_strided(dst, 4, dims, strides, dnnl_u8);
}

static dnnl_status_t transpose_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                  dnnl_primitive_attr_t attr,
                                  dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, dst;

    transpose_mds(k, &src, &dst);
    return dnnl_reorder_primitive_desc_create(pd, &src, engine, &dst, engine,
                                              attr);
}

bool knpu_op_transpose(KnpuJob *job, const KnpuInsn *in)
{
    uint64_t count = in->ops[TR_BATCH];
    void *src = NULL, *out = NULL;
    KnpuTensor tin, tout;
    KnpuPrimKey key = {
        .kind = KNPU_OP_TRANSPOSE, .dtype = in->dtype,
        .v = { in->ops[TR_BATCH], in->ops[TR_ROWS], in->ops[TR_COLS] },
    };
    KnpuDnnlArg args[2];
    unsigned i;

    for (i = TR_BATCH; i <= TR_COLS; i++) {
        if (!in->ops[i]) {
            return knpu_operand_invalid(job, i);
        }
    }
    if (!knpu_count_mul(job, TR_ROWS, &count, in->ops[TR_ROWS]) ||
        !knpu_count_mul(job, TR_COLS, &count, in->ops[TR_COLS]) ||
        !knpu_tensor_init(job, &tin, in, TR_IN, in->dtype, count) ||
        !knpu_tensor_init(job, &tout, in, TR_OUT, in->dtype, count) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout)) {
        return false;
    }
    tin.raw = tout.raw = true;    /* moved bit for bit */
    if (!knpu_tensor_load(job, &tin, &src)) {
        return false;
    }
    out = knpu_stage(job, tin.bytes);
    transpose_mds(&key, &args[0].md, &args[1].md);
    args[0].arg = DNNL_ARG_FROM;
    args[0].data = src;
    args[1].arg = DNNL_ARG_TO;
    args[1].data = out;
    return knpu_prim_run(job, &key, transpose_pd, args, 2) &&
           knpu_tensor_store(job, &tout, out);
}
