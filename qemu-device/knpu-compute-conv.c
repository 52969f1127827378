/*
 * KNPU device model: CONV2D and POOL2D (spec section 7.4) on oneDNN's
 * convolution and pooling primitives, NCHW in memory.
 *
 * oneDNN's fast convolutions compute on blocked layouts; created on plain
 * NCHW/OIHW it falls back to im2col + GEMM (floating types) or to its
 * reference (INT8). Where that is slower, a convolution is created on
 * format "any" and its operands are reordered into the layouts it chose
 * and back (conv_layout_blocked()). An INT8 convolution whose sums FP32
 * holds exactly runs on the blocked FP32 kernels instead of the INT8
 * reference (conv_int8_exact_in_fp32()); the requantization of every
 * INT8 convolution is knpu_requant().
 *
 * The spec's output size rounds down, so the last rows or columns of the
 * input may lie in no window. oneDNN wants the right padding that makes
 * its sizes agree, which would be negative then: the input is described
 * as the part the windows cover (same strides), with no right padding.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "qemu/host-utils.h"
#include "knpu-compute.h"

enum {
    CONV_IN, CONV_WEIGHT, CONV_BIAS, CONV_OUT, CONV_N, CONV_C, CONV_H,
    CONV_W, CONV_K, CONV_R, CONV_S, CONV_STRIDE_H, CONV_STRIDE_W,
    CONV_PAD_H, CONV_PAD_W, CONV_DIL_H, CONV_DIL_W, CONV_GROUPS,
    CONV_SCALE, CONV_ZP,
};

enum {
    POOL_IN, POOL_OUT, POOL_N, POOL_C, POOL_H, POOL_W, POOL_KH, POOL_KW,
    POOL_STRIDE_H, POOL_STRIDE_W, POOL_PAD_H, POOL_PAD_W,
};

/* One spatial dimension of a window operation. */
typedef struct Spatial {
    int64_t in;             /* input size */
    int64_t used;           /* input rows the windows cover, <= in */
    int64_t out;
    int64_t stride;
    int64_t span;           /* dilation·(kernel − 1) + 1 */
    int64_t pad_l;
    int64_t pad_r;
} Spatial;

/*
 * Output size (section 7.4) of an input of @in with @pad on both sides and
 * a window of @span every @stride. Every window must overlap the input
 * (@pad < @span, else operand @pad_op is invalid) and the first must fit
 * (else operand @in_op is).
 */
static bool spatial(KnpuJob *job, Spatial *d, uint64_t in, uint64_t span,
                    uint64_t stride, uint64_t pad, unsigned in_op,
                    unsigned pad_op)
{
    if (pad >= span) {
        return knpu_operand_invalid(job, pad_op);
    }
    if (in + 2 * pad < span) {
        return knpu_operand_invalid(job, in_op);
    }
    d->in = in;
    d->stride = stride;
    d->span = span;
    d->pad_l = pad;
    d->out = (in + 2 * pad - span) / stride + 1;
    d->used = MIN(in, (d->out - 1) * stride + span - pad);
    d->pad_r = (d->out - 1) * stride + span - pad - d->used;
    return true;
}

/* The input as the windows see it: N×C×used_h×used_w of an N×C×H×W. */
static void window_src_md(dnnl_memory_desc_t *md, int64_t n, int64_t c,
                          const Spatial *h, const Spatial *w,
                          dnnl_data_type_t dt)
{
    int64_t dims[4] = { n, c, h->used, w->used };
    int64_t strides[4] = { c * h->in * w->in, h->in * w->in, w->in, 1 };

    knpu_md_strided(md, 4, dims, strides, dt);
}

/* CONV2D */

/* Key: v[] holds the fields below, flags the GEMM-like flags. */
enum {
    CK_N, CK_C, CK_K, CK_G, CK_R, CK_S, CK_H, CK_W, CK_HU, CK_WU, CK_P, CK_Q,
    CK_SH, CK_SW, CK_DH, CK_DW, CK_PH, CK_PW, CK_PRH, CK_PRW,
    CK_SCALE,   /* floating types: the bits of the scale */
    CK_BLOCKED, /* 1: created on format "any", operands reordered */
};

/*
 * Multiply-adds per image (K·P·Q·C/groups·R·S) this device accepts (spec
 * 7.4): bounds the time one image, the unit a reset waits for, takes.
 */
#define CONV_IMAGE_MACS_MAX (1ull << 32)

#define CONV_KEY_FLAGS  (KNPU_FLAG_BIAS | (0xfu << 4) | KNPU_FLAG_OUT_INT32 | \
                         KNPU_FLAG_PER_CHANNEL)

typedef struct ConvMds {
    dnnl_memory_desc_t src, wei, dst, bias;
} ConvMds;

/* The operands as the guest stores them, or "any" for a blocked key. */
static void conv_mds(const KnpuPrimKey *k, ConvMds *md)
{
    const int64_t *v = k->v;
    Spatial h = { .in = v[CK_H], .used = v[CK_HU] };
    Spatial w = { .in = v[CK_W], .used = v[CK_WU] };
    dnnl_data_type_t in = knpu_dnnl_dt(k->dtype);
    dnnl_data_type_t out = k->dtype == KNPU_DT_INT8 ? dnnl_s32 : dnnl_f32;
    int64_t g = v[CK_G];
    int64_t wdims[5] = { g, v[CK_K] / g, v[CK_C] / g, v[CK_R], v[CK_S] };
    int64_t sdims[4] = { v[CK_N], v[CK_C], v[CK_HU], v[CK_WU] };
    int64_t ddims[4] = { v[CK_N], v[CK_K], v[CK_P], v[CK_Q] };
    int64_t bdims[4] = { 1, v[CK_K], 1, 1 };
    int wnd = g == 1 ? 4 : 5;

    knpu_md_plain(&md->bias, 4, bdims, dnnl_f32);
    if (v[CK_BLOCKED]) {
        knpu_md_tag(&md->src, 4, sdims, in, dnnl_format_tag_any);
        knpu_md_tag(&md->wei, wnd, wdims + 5 - wnd, in, dnnl_format_tag_any);
        knpu_md_tag(&md->dst, 4, ddims, out, dnnl_format_tag_any);
        return;
    }
    window_src_md(&md->src, v[CK_N], v[CK_C], &h, &w, in);
    knpu_md_plain(&md->wei, wnd, wdims + 5 - wnd, in);
    knpu_md_plain(&md->dst, 4, ddims, out);
}

/*
 * Floating types: the scale is a linear post-op (oneDNN 2.6 has no floating
 * convolution with runtime output scales), then the bias as a binary
 * post-op, then the activation. INT8: the plain INT32 accumulators (oneDNN
 * 2.6 has no INT8 convolution with runtime scales either); the rest is
 * conv_int8_epilogue().
 */
static dnnl_status_t conv_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                             dnnl_primitive_attr_t attr,
                             dnnl_primitive_desc_t *pd)
{
    const int64_t *v = k->v;
    int64_t strides[DNNL_MAX_NDIMS] = { v[CK_SH], v[CK_SW] };
    int64_t dil[DNNL_MAX_NDIMS] = { v[CK_DH] - 1, v[CK_DW] - 1 };
    int64_t pad_l[DNNL_MAX_NDIMS] = { v[CK_PH], v[CK_PW] };
    int64_t pad_r[DNNL_MAX_NDIMS] = { v[CK_PRH], v[CK_PRW] };
    float scale = knpu_f32_of_bits(v[CK_SCALE]);
    dnnl_convolution_desc_t desc;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st;
    ConvMds md;

    conv_mds(k, &md);
    st = dnnl_dilated_convolution_forward_desc_init(
        &desc, dnnl_forward_inference, dnnl_convolution_direct, &md.src,
        &md.wei, NULL, &md.dst, strides, dil, pad_l, pad_r);
    if (st == dnnl_success && k->dtype != KNPU_DT_INT8) {
        st = dnnl_post_ops_create(&po);
    }
    if (po && st == dnnl_success && scale != 1.0f) {
        st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear,
                                          scale, 0);
    }
    if (po && st == dnnl_success && (k->flags & KNPU_FLAG_BIAS)) {
        st = dnnl_post_ops_append_binary(po, dnnl_binary_add, &md.bias);
    }
    if (po && st == dnnl_success) {
        st = knpu_post_ops_append_act(po, KNPU_FLAG_ACT(k->flags));
    }
    if (po && st == dnnl_success) {
        st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (po) {
        dnnl_post_ops_destroy(po);
    }
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/*
 * A reorder between an operand as the guest stores it and the layout the
 * blocked convolution of @k (kind: which operand) chose.
 */
static dnnl_status_t conv_reorder_pd(const KnpuPrimKey *k,
                                     dnnl_engine_t engine,
                                     dnnl_primitive_attr_t attr,
                                     dnnl_primitive_desc_t *pd)
{
    KnpuPrimKey conv_key = *k, plain_key = *k;
    dnnl_primitive_attr_t conv_attr;
    dnnl_primitive_desc_t conv = NULL;
    const dnnl_memory_desc_t *chosen;
    dnnl_status_t st;
    ConvMds plain;

    conv_key.kind = KNPU_OP_CONV2D;
    plain_key.v[CK_BLOCKED] = 0;
    conv_mds(&plain_key, &plain);
    st = dnnl_primitive_attr_create(&conv_attr);
    if (st == dnnl_success) {
        st = conv_pd(&conv_key, engine, conv_attr, &conv);
        dnnl_primitive_attr_destroy(conv_attr);
    }
    if (st != dnnl_success) {
        return st;
    }
    switch (k->kind) {
    case KNPU_KIND_CONV_SRC_IN:
        chosen = dnnl_primitive_desc_query_md(conv, dnnl_query_src_md, 0);
        st = dnnl_reorder_primitive_desc_create(pd, &plain.src, engine,
                                                chosen, engine, attr);
        break;
    case KNPU_KIND_CONV_WEI_IN:
        chosen = dnnl_primitive_desc_query_md(conv, dnnl_query_weights_md,
                                              0);
        st = dnnl_reorder_primitive_desc_create(pd, &plain.wei, engine,
                                                chosen, engine, attr);
        break;
    default:
        chosen = dnnl_primitive_desc_query_md(conv, dnnl_query_dst_md, 0);
        st = dnnl_reorder_primitive_desc_create(pd, chosen, engine,
                                                &plain.dst, engine, attr);
        break;
    }
    dnnl_primitive_desc_destroy(conv);
    return st;
}

/* OUT_INT32 for one channel: acc + bias, RELU, saturated to INT32. */
static void conv_int32_channel(const int32_t *acc, int32_t *out, int64_t n,
                               int32_t bias, bool relu)
{
    const int64_t lowest = relu ? 0 : INT32_MIN;
    int64_t i;

    for (i = 0; i < n; i++) {
        int64_t val = (int64_t)acc[i] + bias;

        val = val > lowest ? val : lowest;
        out[i] = val > INT32_MAX ? INT32_MAX : val;
    }
}

/*
 * INT8, one image: bias and RELU added to the accumulators exactly, then
 * the INT32 result (OUT_INT32, saturated) or the requantization of section
 * 7.3 into @out.
 */
static void conv_int8_epilogue(const KnpuPrimKey *k, const int32_t *acc,
                               void *out, const int32_t *bias,
                               const float *scales, int32_t zp)
{
    int64_t plane = k->v[CK_P] * k->v[CK_Q], ch;
    bool per_channel = k->flags & KNPU_FLAG_PER_CHANNEL;
    bool relu = KNPU_FLAG_ACT(k->flags) == KNPU_ACT_RELU;
    /* |acc| <= the window's products of at most 2^14 each */
    uint64_t acc_max = (uint64_t)(k->v[CK_C] / k->v[CK_G]) * k->v[CK_R] *
                       k->v[CK_S] << 14;

    for (ch = 0; ch < k->v[CK_K]; ch++) {
        const int32_t *b = bias ? &bias[ch] : NULL;
        KnpuRequant rq = {
            .bias = b, .scale = &scales[per_channel ? ch : 0], .relu = relu,
            .zp = zp, .sum_fits = knpu_requant_sum_fits(acc_max, b, 1),
        };

        if (k->flags & KNPU_FLAG_OUT_INT32) {
            conv_int32_channel(acc + ch * plane, (int32_t *)out + ch * plane,
                               plane, b ? *b : 0, relu);
        } else {
            knpu_requant(&rq, acc + ch * plane, (int8_t *)out + ch * plane,
                         plane);
        }
    }
}

/*
 * Whether one image's operands in the layouts blocked convolution @p chose
 * stay within the staging limit (blocking pads channels, up to 16-fold).
 */
static bool conv_blocked_fits(KnpuPrim *p)
{
    static const dnnl_query_t mds[] = {
        dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md,
    };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(mds); i++) {
        if (dnnl_memory_desc_get_size(knpu_prim_md(p, mds[i])) >
            KNPU_TENSOR_BYTES_MAX) {
            return false;
        }
    }
    return true;
}

/*
 * The convolution of one image of @key, its team sized by the operands as
 * the guest stores them (@plain); a blocked one that would not fit is
 * computed on the plain layout instead. NULL when the job failed.
 */
static KnpuPrim *conv_prim_get(KnpuJob *job, KnpuPrimKey *key,
                               const ConvMds *plain)
{
    size_t bytes = dnnl_memory_desc_get_size(&plain->src) +
                   dnnl_memory_desc_get_size(&plain->wei) +
                   dnnl_memory_desc_get_size(&plain->dst);
    KnpuPrim *p = knpu_prim_get(job, key, conv_pd, bytes);

    if (p && key->v[CK_BLOCKED] && !conv_blocked_fits(p)) {
        knpu_prim_put(p);
        key->v[CK_BLOCKED] = 0;
        p = knpu_prim_get(job, key, conv_pd, bytes);
    }
    return p;
}

/*
 * Run the CONV2D of @key on staged buffers one image at a time, so that a
 * reset waits for one image at most. INT8 accumulates into @acc; floating
 * types compute straight into @out (@acc unused). A blocked convolution
 * computes on buffers in its own layouts: the weights (loaded from guest
 * address @wei_va) reordered once, or kept from an earlier instruction
 * with these same weights (knpu_conv_weights()), each image's input and
 * output reordered around its convolution.
 */
static bool conv_run(KnpuJob *job, KnpuPrimKey *key, uint8_t *src,
                     void *wei, uint64_t wei_va, uint8_t *out, int32_t *acc,
                     void *bias, const float *scales, int32_t zp)
{
    const int64_t *v = key->v;
    int64_t images = v[CK_N], i;
    bool int8 = key->dtype == KNPU_DT_INT8;
    size_t in_size = knpu_dtype_size(knpu_compute_dtype(key->dtype));
    size_t out_size = !int8 || (key->flags & KNPU_FLAG_OUT_INT32) ? 4 : 1;
    uint64_t in_image = v[CK_C] * v[CK_H] * v[CK_W] * in_size;
    uint64_t out_image = v[CK_K] * v[CK_P] * v[CK_Q];
    /* floating types: after the scale's post-op, if any */
    int bias_po = knpu_f32_of_bits(v[CK_SCALE]) != 1.0f;
    void *bsrc = NULL, *bwei = NULL, *bdst = NULL;
    KnpuPrimKey plain_key;
    ConvMds plain, md;
    bool blocked, ok;
    KnpuPrim *p;

    key->v[CK_N] = 1;
    plain_key = *key;
    plain_key.v[CK_BLOCKED] = 0;
    conv_mds(&plain_key, &plain);
    p = conv_prim_get(job, key, &plain);
    ok = p != NULL;
    blocked = v[CK_BLOCKED];
    md = plain;
    if (ok) {
        /*
         * The reorders on the convolution's team: the layouts they create
         * the convolution again to find are then the ones it chose.
         */
        key->threads = knpu_prim_threads(p);
    }
    if (ok && blocked) {
        md.src = *knpu_prim_md(p, dnnl_query_src_md);
        md.wei = *knpu_prim_md(p, dnnl_query_weights_md);
        md.dst = *knpu_prim_md(p, dnnl_query_dst_md);
        bsrc = knpu_stage(job, dnnl_memory_desc_get_size(&md.src));
        bdst = knpu_stage(job, dnnl_memory_desc_get_size(&md.dst));
        bwei = knpu_conv_weights(job, key, wei_va, conv_reorder_pd, &plain.wei,
                                 wei, &md.wei);
        ok = bwei != NULL;
    }
    for (i = 0; i < images && ok; i++) {
        uint8_t *image = src + i * in_image;
        void *dst = int8 ? (void *)acc : out + i * out_image * out_size;
        KnpuDnnlArg args[4] = {
            { DNNL_ARG_SRC, md.src, blocked ? bsrc : image },
            { DNNL_ARG_WEIGHTS, md.wei, blocked ? bwei : wei },
            { DNNL_ARG_DST, md.dst, blocked ? bdst : dst },
            { DNNL_ARG_ATTR_MULTIPLE_POST_OP(bias_po) | DNNL_ARG_SRC_1,
              md.bias, bias },
        };
        int nargs = !int8 && (key->flags & KNPU_FLAG_BIAS) ? 4 : 3;

        ok = !knpu_job_check_abort(job) &&
             (!blocked ||
              knpu_reorder_run(job, key, KNPU_KIND_CONV_SRC_IN,
                               conv_reorder_pd, &plain.src, image, &md.src,
                               bsrc)) &&
             knpu_prim_exec(job, p, args, nargs) &&
             (!blocked ||
              knpu_reorder_run(job, key, KNPU_KIND_CONV_DST_OUT,
                               conv_reorder_pd, &md.dst, bdst, &plain.dst,
                               dst));
        if (ok && int8) {
            conv_int8_epilogue(key, acc, out + i * out_image * out_size,
                               bias, scales, zp);
        }
    }
    if (p) {
        knpu_prim_put(p);
    }
    key->v[CK_N] = images;
    key->threads = 0;
    return ok;
}

/*
 * Whether a convolution computes on the layouts oneDNN chooses. Every
 * floating one does: in the guest, the OCR models ran 2.5-5x faster with
 * all their convolutions blocked than on NCHW, and faster than with only
 * the grouped and spatial ones blocked (docs/performance.md "Convolution
 * layouts"). INT8 on NCHW runs oneDNN's reference; its blocked kernels are
 * used where they are exact (knpu_dnnl_int8_exact()).
 */
static bool conv_layout_blocked(uint32_t dtype)
{
    return dtype != KNPU_DT_INT8 || knpu_dnnl_int8_exact();
}

/* Section 7.4 shape rules of CONV2D; fills the key. */
static bool conv_shape(KnpuJob *job, const KnpuInsn *in, KnpuPrimKey *key)
{
    const uint64_t *o = in->ops;
    uint64_t macs;
    Spatial h, w;
    unsigned i;

    for (i = CONV_N; i <= CONV_GROUPS; i++) {
        if (!o[i] && i != CONV_PAD_H && i != CONV_PAD_W) {
            return knpu_operand_invalid(job, i);
        }
    }
    if (o[CONV_C] % o[CONV_GROUPS] || o[CONV_K] % o[CONV_GROUPS]) {
        return knpu_operand_invalid(job, CONV_GROUPS);
    }
    if (!spatial(job, &h, o[CONV_H], o[CONV_DIL_H] * (o[CONV_R] - 1) + 1,
                 o[CONV_STRIDE_H], o[CONV_PAD_H], CONV_H, CONV_PAD_H) ||
        !spatial(job, &w, o[CONV_W], o[CONV_DIL_W] * (o[CONV_S] - 1) + 1,
                 o[CONV_STRIDE_W], o[CONV_PAD_W], CONV_W, CONV_PAD_W)) {
        return false;
    }
    macs = o[CONV_K];
    if (umul64_overflow(macs, h.out, &macs) ||
        umul64_overflow(macs, w.out, &macs) ||
        umul64_overflow(macs, o[CONV_C] / o[CONV_GROUPS], &macs) ||
        umul64_overflow(macs, o[CONV_R], &macs) ||
        umul64_overflow(macs, o[CONV_S], &macs) ||
        macs > CONV_IMAGE_MACS_MAX) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    *key = (KnpuPrimKey){
        .kind = KNPU_OP_CONV2D, .dtype = in->dtype,
        .flags = in->flags & CONV_KEY_FLAGS,
        .v = {
            [CK_N] = o[CONV_N], [CK_C] = o[CONV_C], [CK_K] = o[CONV_K],
            [CK_G] = o[CONV_GROUPS], [CK_R] = o[CONV_R], [CK_S] = o[CONV_S],
            [CK_H] = h.in, [CK_W] = w.in, [CK_HU] = h.used,
            [CK_WU] = w.used, [CK_P] = h.out, [CK_Q] = w.out,
            [CK_SH] = h.stride, [CK_SW] = w.stride,
            [CK_DH] = o[CONV_DIL_H], [CK_DW] = o[CONV_DIL_W],
            [CK_PH] = h.pad_l, [CK_PW] = w.pad_l, [CK_PRH] = h.pad_r,
            [CK_PRW] = w.pad_r,
            [CK_SCALE] = in->dtype == KNPU_DT_INT8 ? 0 : o[CONV_SCALE],
            [CK_BLOCKED] = conv_layout_blocked(in->dtype),
        },
    };
    return true;
}

/*
 * Whether INT8 CONV2D @k with weights @wei runs exactly on the FP32
 * convolution: where oneDNN's INT8 kernels are not exact on this host
 * (knpu_dnnl_int8_exact()) it falls back to its NCHW reference, far slower
 * than the blocked FP32 kernels. A product of two INT8 values is at most
 * 2^14 in magnitude; while every output channel's sum of 128·|w| over its
 * window is at most 2^24, every partial sum of a window, in any order and
 * with fused multiply-adds, is an integer FP32 holds exactly, so the FP32
 * accumulators are the INT32 ones. The widened operands (@n_in, @n_wei,
 * @n_out elements) must also stay within the staging limit.
 */
static bool conv_int8_exact_in_fp32(const KnpuPrimKey *k, const int8_t *wei,
                                    uint64_t n_in, uint64_t n_wei,
                                    uint64_t n_out)
{
    int64_t window = k->v[CK_C] / k->v[CK_G] * k->v[CK_R] * k->v[CK_S];
    uint64_t largest = MAX(n_in, MAX(n_wei, n_out));
    int64_t ch, i;

    if (knpu_dnnl_int8_exact() ||
        largest > KNPU_TENSOR_BYTES_MAX / sizeof(float)) {
        return false;
    }
    for (ch = 0; ch < k->v[CK_K]; ch++) {
        int64_t sum = 0;

        for (i = 0; i < window; i++) {
            sum += abs(wei[ch * window + i]);
        }
        if (sum * 128 > (1 << 24)) {
            return false;
        }
    }
    return true;
}

/*
 * INT8 CONV2D @key on the FP32 convolution (conv_int8_exact_in_fp32()):
 * the operands widened, the accumulators of every image computed in FP32,
 * then each image's converted to INT32 (exactly: they are integers) and
 * finished by conv_int8_epilogue() into @out.
 */
static bool conv_int8_via_fp32(KnpuJob *job, const KnpuPrimKey *key,
                               const int8_t *src, const int8_t *wei,
                               uint64_t wei_va, uint64_t n_in,
                               uint64_t n_wei, uint8_t *out,
                               int32_t *acc, const int32_t *bias,
                               const float *scales, int32_t zp)
{
    uint64_t image = key->v[CK_K] * key->v[CK_P] * key->v[CK_Q], i, j;
    size_t out_size = (key->flags & KNPU_FLAG_OUT_INT32) ? 4 : 1;
    float *fsrc = knpu_widen_s8(job, src, 1, n_in, n_in);
    float *fwei = knpu_widen_s8(job, wei, 1, n_wei, n_wei);
    float *facc = knpu_stage(job, key->v[CK_N] * image * sizeof(float));
    KnpuPrimKey fkey = *key;

    fkey.dtype = KNPU_DT_FP32;
    fkey.flags = 0;                         /* no bias, no activation */
    fkey.v[CK_SCALE] = 0x3f800000;          /* 1.0f: no scale post-op */
    fkey.v[CK_BLOCKED] = conv_layout_blocked(KNPU_DT_FP32);
    if (!conv_run(job, &fkey, (uint8_t *)fsrc, fwei, wei_va, (uint8_t *)facc,
                  NULL, NULL, NULL, 0)) {
        return false;
    }
    for (i = 0; i < (uint64_t)key->v[CK_N]; i++) {
        for (j = 0; j < image; j++) {
            acc[j] = (int32_t)facc[i * image + j];
        }
        conv_int8_epilogue(key, acc, out + i * image * out_size, bias, scales,
                           zp);
    }
    return true;
}

/* Element count of a tensor of the four dimensions @d (64-bit checked). */
static bool count4(KnpuJob *job, unsigned op, const int64_t *d,
                   uint64_t *count)
{
    *count = d[0];
    return knpu_count_mul(job, op, count, d[1]) &&
           knpu_count_mul(job, op, count, d[2]) &&
           knpu_count_mul(job, op, count, d[3]);
}

bool knpu_op_conv2d(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, fl = in->flags;
    bool int8 = dt == KNPU_DT_INT8, has_bias = fl & KNPU_FLAG_BIAS;
    bool per_channel = fl & KNPU_FLAG_PER_CHANNEL;
    uint32_t out_dt = int8 ? ((fl & KNPU_FLAG_OUT_INT32) ? KNPU_DT_INT32 :
                              KNPU_DT_INT8) : dt;
    void *src = NULL, *wei = NULL, *out = NULL, *bias = NULL, *scales = NULL;
    int32_t *acc = NULL;
    float scale = knpu_f32_of_bits(in->ops[CONV_SCALE]);
    int32_t zp = (int8_t)in->ops[CONV_ZP];
    KnpuTensor tin, twei, tout, tbias, tscale;
    uint64_t n_in, n_wei, n_out;
    KnpuPrimKey key;
    bool ok, act_after;

    if (!knpu_check_fused(job, in, CONV_SCALE, CONV_ZP) ||
        !conv_shape(job, in, &key)) {
        return false;
    }
    if (!count4(job, CONV_IN, (int64_t[]){ key.v[CK_N], key.v[CK_C],
                                           key.v[CK_H], key.v[CK_W] },
                &n_in) ||
        !count4(job, CONV_WEIGHT, (int64_t[]){ key.v[CK_K],
                                               key.v[CK_C] / key.v[CK_G],
                                               key.v[CK_R], key.v[CK_S] },
                &n_wei) ||
        !count4(job, CONV_OUT, (int64_t[]){ key.v[CK_N], key.v[CK_K],
                                            key.v[CK_P], key.v[CK_Q] },
                &n_out) ||
        !knpu_tensor_init(job, &tin, in, CONV_IN, dt, n_in) ||
        !knpu_tensor_init(job, &twei, in, CONV_WEIGHT, dt, n_wei) ||
        !knpu_tensor_init(job, &tout, in, CONV_OUT, out_dt, n_out) ||
        (has_bias && !knpu_tensor_init(job, &tbias, in, CONV_BIAS,
                                       int8 ? KNPU_DT_INT32 : dt,
                                       key.v[CK_K])) ||
        (per_channel && !knpu_tensor_init(job, &tscale, in, CONV_SCALE,
                                          KNPU_DT_FP32, key.v[CK_K]))) {
        return false;
    }
    if (!knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &twei) ||
        (has_bias && !knpu_tensor_check_align(job, &tbias)) ||
        !knpu_tensor_check_align(job, &tout) ||
        (per_channel && !knpu_tensor_check_align(job, &tscale))) {
        return false;
    }
    if (!knpu_tensor_load(job, &tin, &src) ||
        !knpu_tensor_load_known(job, &twei,
                                knpu_conv_weights_known(twei.va, twei.bytes),
                                &wei) ||
        (has_bias && !knpu_tensor_load(job, &tbias, &bias)) ||
        (per_channel && !knpu_tensor_load(job, &tscale, &scales)) ||
        (per_channel && !knpu_check_scales(job, scales, key.v[CK_K],
                                           CONV_SCALE))) {
        return false;
    }
    out = knpu_stage(job, n_out * knpu_dtype_size(knpu_compute_dtype(out_dt)));
    if (int8) {
        acc = knpu_stage(job, key.v[CK_K] * key.v[CK_P] * key.v[CK_Q] *
                         sizeof(int32_t));
    }
    /*
     * oneDNN 2.6's convolutions give a second linear post-op the first
     * one's parameters: with a scale (a linear post-op), hard-sigmoid's
     * x/6 + 1/2 runs on the output as primitives of its own.
     */
    act_after = !int8 && scale != 1.0f &&
                KNPU_FLAG_ACT(key.flags) == KNPU_ACT_HARDSIGMOID;
    if (act_after) {
        key.flags &= ~(0xfu << 4);
    }
    if (int8 && conv_int8_exact_in_fp32(&key, wei, n_in, n_wei, n_out)) {
        ok = conv_int8_via_fp32(job, &key, src, wei, twei.va, n_in, n_wei,
                                out, acc, bias, per_channel ? scales : &scale,
                                zp);
    } else {
        ok = conv_run(job, &key, src, wei, twei.va, out, acc, bias,
                      per_channel ? scales : &scale, zp);
    }
    ok = ok && (!act_after ||
                knpu_act_apply(job, KNPU_ACT_HARDSIGMOID, out, n_out));
    return ok && knpu_tensor_store(job, &tout, out);
}

/* POOL2D */

enum {
    PK_N, PK_C, PK_H, PK_W, PK_HU, PK_WU, PK_P, PK_Q, PK_KH, PK_KW, PK_SH,
    PK_SW, PK_PH, PK_PW, PK_PRH, PK_PRW,
};

static const dnnl_alg_kind_t pool_algs[] = {
    [KNPU_POOL_MAX] = dnnl_pooling_max,
    [KNPU_POOL_AVG] = dnnl_pooling_avg_exclude_padding,
    [KNPU_POOL_AVG_PAD] = dnnl_pooling_avg_include_padding,
};

/*
 * INT8 max pooling computes on NHWC, the input and output reordered: there
 * oneDNN has jit_int kernels, on NCHW only its reference (7.9 ms against
 * 12 us natively for 64×56×56). INT8 averages stay on NCHW: jit_int rounds
 * some halves of windows of 14 elements or more away from even (checked
 * against every window sum), the reference as section 7.4 says.
 */
static bool pool_nhwc(const KnpuPrimKey *k)
{
    return k->dtype == KNPU_DT_INT8 && k->flags == KNPU_POOL_MAX;
}

/* The operands as the guest stores them, or as NHWC (@nhwc). */
static void pool_mds(const KnpuPrimKey *k, bool nhwc, dnnl_memory_desc_t *src,
                     dnnl_memory_desc_t *dst)
{
    Spatial h = { .in = k->v[PK_H], .used = k->v[PK_HU] };
    Spatial w = { .in = k->v[PK_W], .used = k->v[PK_WU] };
    int64_t sdims[4] = { k->v[PK_N], k->v[PK_C], k->v[PK_HU], k->v[PK_WU] };
    int64_t ddims[4] = { k->v[PK_N], k->v[PK_C], k->v[PK_P], k->v[PK_Q] };
    dnnl_data_type_t dt = knpu_dnnl_dt(k->dtype);

    if (nhwc) {
        knpu_md_tag(src, 4, sdims, dt, dnnl_nhwc);
        knpu_md_tag(dst, 4, ddims, dt, dnnl_nhwc);
        return;
    }
    window_src_md(src, k->v[PK_N], k->v[PK_C], &h, &w, dt);
    knpu_md_plain(dst, 4, ddims, dt);
}

/* The reorder @k->kind of pooling @k: input to NHWC, or output from it. */
static dnnl_status_t pool_reorder_pd(const KnpuPrimKey *k,
                                     dnnl_engine_t engine,
                                     dnnl_primitive_attr_t attr,
                                     dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, dst, nhwc_src, nhwc_dst;

    pool_mds(k, false, &src, &dst);
    pool_mds(k, true, &nhwc_src, &nhwc_dst);
    if (k->kind == KNPU_KIND_POOL_SRC_IN) {
        return dnnl_reorder_primitive_desc_create(pd, &src, engine,
                                                  &nhwc_src, engine, attr);
    }
    return dnnl_reorder_primitive_desc_create(pd, &nhwc_dst, engine, &dst,
                                              engine, attr);
}

static dnnl_status_t pool_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                             dnnl_primitive_attr_t attr,
                             dnnl_primitive_desc_t *pd)
{
    int64_t strides[DNNL_MAX_NDIMS] = { k->v[PK_SH], k->v[PK_SW] };
    int64_t kernel[DNNL_MAX_NDIMS] = { k->v[PK_KH], k->v[PK_KW] };
    int64_t dil[DNNL_MAX_NDIMS] = { 0 };
    int64_t pad_l[DNNL_MAX_NDIMS] = { k->v[PK_PH], k->v[PK_PW] };
    int64_t pad_r[DNNL_MAX_NDIMS] = { k->v[PK_PRH], k->v[PK_PRW] };
    dnnl_memory_desc_t src, dst;
    dnnl_pooling_v2_desc_t desc;
    dnnl_status_t st;

    pool_mds(k, pool_nhwc(k), &src, &dst);
    st = dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference,
                                           pool_algs[k->flags], &src, &dst,
                                           strides, kernel, dil, pad_l,
                                           pad_r);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/* Pool the staged @src into @out, through NHWC copies where pool_nhwc(). */
static bool pool_run(KnpuJob *job, const KnpuPrimKey *key, void *src,
                     void *out)
{
    void *nhwc_src = NULL, *nhwc_dst = NULL;
    dnnl_memory_desc_t src_md, dst_md, plain_src, plain_dst;
    bool nhwc = pool_nhwc(key);

    pool_mds(key, false, &plain_src, &plain_dst);
    pool_mds(key, nhwc, &src_md, &dst_md);
    if (nhwc) {
        nhwc_src = knpu_stage(job, dnnl_memory_desc_get_size(&src_md));
        nhwc_dst = knpu_stage(job, dnnl_memory_desc_get_size(&dst_md));
    }
    return (!nhwc || knpu_reorder_run(job, key, KNPU_KIND_POOL_SRC_IN,
                                      pool_reorder_pd, &plain_src, src,
                                      &src_md, nhwc_src)) &&
           knpu_prim_run(job, key, pool_pd, (KnpuDnnlArg[]){
                             { DNNL_ARG_SRC, src_md, nhwc ? nhwc_src : src },
                             { DNNL_ARG_DST, dst_md, nhwc ? nhwc_dst : out },
                         }, 2) &&
           (!nhwc || knpu_reorder_run(job, key, KNPU_KIND_POOL_DST_OUT,
                                      pool_reorder_pd, &dst_md, nhwc_dst,
                                      &plain_dst, out));
}

bool knpu_op_pool2d(KnpuJob *job, const KnpuInsn *in)
{
    const uint64_t *o = in->ops;
    uint32_t mode = in->flags & 3, dt = in->dtype;
    void *src = NULL, *out = NULL;
    KnpuTensor tin, tout;
    uint64_t n_in, n_out;
    KnpuPrimKey key;
    Spatial h, w;
    unsigned i;

    if (mode > KNPU_POOL_AVG_PAD) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    for (i = POOL_N; i <= POOL_STRIDE_W; i++) {
        if (!o[i]) {
            return knpu_operand_invalid(job, i);
        }
    }
    if (!spatial(job, &h, o[POOL_H], o[POOL_KH], o[POOL_STRIDE_H],
                 o[POOL_PAD_H], POOL_H, POOL_PAD_H) ||
        !spatial(job, &w, o[POOL_W], o[POOL_KW], o[POOL_STRIDE_W],
                 o[POOL_PAD_W], POOL_W, POOL_PAD_W)) {
        return false;
    }
    key = (KnpuPrimKey){
        .kind = KNPU_OP_POOL2D, .dtype = knpu_compute_dtype(dt),
        .flags = mode,
        .v = {
            [PK_N] = o[POOL_N], [PK_C] = o[POOL_C], [PK_H] = h.in,
            [PK_W] = w.in, [PK_HU] = h.used, [PK_WU] = w.used,
            [PK_P] = h.out, [PK_Q] = w.out, [PK_KH] = o[POOL_KH],
            [PK_KW] = o[POOL_KW], [PK_SH] = h.stride, [PK_SW] = w.stride,
            [PK_PH] = h.pad_l, [PK_PW] = w.pad_l, [PK_PRH] = h.pad_r,
            [PK_PRW] = w.pad_r,
        },
    };
    if (!count4(job, POOL_IN, (int64_t[]){ key.v[PK_N], key.v[PK_C],
                                           h.in, w.in }, &n_in) ||
        !count4(job, POOL_OUT, (int64_t[]){ key.v[PK_N], key.v[PK_C],
                                            h.out, w.out }, &n_out) ||
        !knpu_tensor_init(job, &tin, in, POOL_IN, dt, n_in) ||
        !knpu_tensor_init(job, &tout, in, POOL_OUT, dt, n_out) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout) ||
        !knpu_tensor_load(job, &tin, &src)) {
        return false;
    }
    out = knpu_stage(job, n_out * knpu_dtype_size(knpu_compute_dtype(dt)));
    return pool_run(job, &key, src, out) &&
           knpu_tensor_store(job, &tout, out);
}
