/*
 * KNPU device model: CONV_TRANSPOSE (spec section 7.4.1, v1.1) on
 * oneDNN's deconvolution primitive, NCHW in memory, ONNX's weight layout
 * C×(K/groups)×R×S described to oneDNN by strides.
 *
 * oneDNN sizes the output from both paddings: P = stride·(H − 1) +
 * span − pad_top − pad_bottom. ONNX's output padding adds rows at the
 * bottom, i.e. pad_bottom = pad − out_pad, which is negative when out_pad
 * exceeds pad; oneDNN takes no negative padding. Then the primitive
 * computes the rows it can (pad_bottom 0) and the rows beyond, which no
 * input element reaches, are bias (deconv_widen()).
 *
 * ACT is not a post-op of the primitive but an eltwise primitive over the
 * whole output: oneDNN 2.6 takes its gemm-based deconvolution for these
 * plain layouts and applies eltwise post-ops there one element at a time,
 * 20 times the deconvolution itself (24 to 24 channels, 80x80 to 160x160,
 * one thread: 1.3 ms without ReLU, 25-31 ms with it).
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "knpu-compute.h"

enum {
    DC_IN, DC_WEIGHT, DC_BIAS, DC_OUT, DC_N, DC_C, DC_H, DC_W, DC_K, DC_R,
    DC_S, DC_STRIDE_H, DC_STRIDE_W, DC_PAD_H, DC_PAD_W, DC_OUT_PAD_H,
    DC_OUT_PAD_W, DC_DIL_H, DC_DIL_W, DC_GROUPS,
};

/* Key: v[] holds the fields below; flags BIAS and ACT. */
enum {
    DK_C, DK_K, DK_G, DK_R, DK_S, DK_H, DK_W, DK_P, DK_Q, DK_SH, DK_SW,
    DK_DH, DK_DW, DK_PH, DK_PW, DK_PRH, DK_PRW,
};

/* As CONV2D (spec 7.4): bounds the time of one image. */
#define DECONV_IMAGE_MACS_MAX (1ull << 32)

#define DECONV_KEY_FLAGS KNPU_FLAG_BIAS

/* One spatial dimension: sizes of the full output and of oneDNN's part. */
typedef struct DeconvAxis {
    uint64_t out;           /* P (or Q) of the spec */
    uint64_t computed;      /* rows oneDNN computes: out − extra */
    uint64_t pad_r;         /* oneDNN's bottom (right) padding */
} DeconvAxis;

/*
 * Section 7.4.1 rules of one spatial dimension. @in_op is the input size
 * operand; the others follow in the operand order.
 */
static bool deconv_axis(KnpuJob *job, DeconvAxis *a, uint64_t in,
                        uint64_t kernel, uint64_t stride, uint64_t pad,
                        uint64_t out_pad, uint64_t dil, unsigned in_op,
                        unsigned pad_op, unsigned out_pad_op)
{
    /* All operands are below 2^32: these sums fit in 64 bits. */
    uint64_t span = dil * (kernel - 1) + 1;
    uint64_t full = stride * (in - 1) + out_pad + span;

    if (pad > span - 1) {
        return knpu_operand_invalid(job, pad_op);
    }
    if (out_pad >= MAX(stride, dil)) {
        return knpu_operand_invalid(job, out_pad_op);
    }
    if (full <= 2 * pad) {
        return knpu_operand_invalid(job, in_op);
    }
    a->out = full - 2 * pad;
    a->pad_r = out_pad <= pad ? pad - out_pad : 0;
    a->computed = a->out - (out_pad > pad ? out_pad - pad : 0);
    return true;
}

typedef struct DeconvMds {
    dnnl_memory_desc_t src, wei, dst, bias;
} DeconvMds;

static void deconv_mds(const KnpuPrimKey *k, DeconvMds *md)
{
    const int64_t *v = k->v;
    int64_t g = v[DK_G], kg = v[DK_K] / g, cg = v[DK_C] / g;
    int64_t rs = v[DK_R] * v[DK_S];
    /* ONNX stores weight[c][k % (K/g)][r][s]: input channel first. */
    int64_t wdims[5] = { g, kg, cg, v[DK_R], v[DK_S] };
    int64_t wstrides[5] = { cg * kg * rs, rs, kg * rs, v[DK_S], 1 };
    int64_t sdims[4] = { 1, v[DK_C], v[DK_H], v[DK_W] };
    int64_t ddims[4] = { 1, v[DK_K], v[DK_P], v[DK_Q] };

    knpu_md_plain(&md->src, 4, sdims, dnnl_f32);
    if (g == 1) {
        knpu_md_strided(&md->wei, 4, wdims + 1, wstrides + 1, dnnl_f32);
    } else {
        knpu_md_strided(&md->wei, 5, wdims, wstrides, dnnl_f32);
    }
    knpu_md_plain(&md->dst, 4, ddims, dnnl_f32);
    knpu_md_plain(&md->bias, 1, &v[DK_K], dnnl_f32);
}

static dnnl_status_t deconv_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                               dnnl_primitive_attr_t attr,
                               dnnl_primitive_desc_t *pd)
{
    const int64_t *v = k->v;
    int64_t strides[DNNL_MAX_NDIMS] = { v[DK_SH], v[DK_SW] };
    int64_t dil[DNNL_MAX_NDIMS] = { v[DK_DH] - 1, v[DK_DW] - 1 };
    int64_t pad_l[DNNL_MAX_NDIMS] = { v[DK_PH], v[DK_PW] };
    int64_t pad_r[DNNL_MAX_NDIMS] = { v[DK_PRH], v[DK_PRW] };
    dnnl_deconvolution_desc_t desc;
    dnnl_status_t st;
    DeconvMds md;

    deconv_mds(k, &md);
    st = dnnl_dilated_deconvolution_forward_desc_init(
        &desc, dnnl_forward_inference, dnnl_deconvolution_direct, &md.src,
        &md.wei, (k->flags & KNPU_FLAG_BIAS) ? &md.bias : NULL, &md.dst,
        strides, dil, pad_l, pad_r);
    return st ? st : dnnl_primitive_desc_create(pd, &desc, attr, engine,
                                                NULL);
}

/*
 * Place the computed @part (K×pp×qq) of an image into @out (K×P×Q); the
 * rows and columns beyond it get @edge[k], the bias of their channel.
 */
static void deconv_widen(float *out, const float *part, const float *edge,
                         uint64_t k, uint64_t p, uint64_t q, uint64_t pp,
                         uint64_t qq)
{
    uint64_t c, y, x;

    for (c = 0; c < k; c++) {
        for (y = 0; y < p; y++) {
            float *row = out + (c * p + y) * q;

            for (x = 0; x < q; x++) {
                row[x] = y < pp && x < qq ? part[(c * pp + y) * qq + x] :
                         edge[c];
            }
        }
    }
}

/*
 * Run the primitive one image at a time, so a reset waits for one image,
 * then ACT @act over every image.
 */
static bool deconv_images(KnpuJob *job, KnpuPrimKey *key, uint32_t act,
                          uint64_t images, const float *src, const float *wei,
                          const float *bias, float *out, const DeconvAxis *h,
                          const DeconvAxis *w)
{
    const int64_t *v = key->v;
    uint64_t in_image = v[DK_C] * v[DK_H] * v[DK_W];
    uint64_t out_image = v[DK_K] * h->out * w->out;
    bool widen = h->computed != h->out || w->computed != w->out;
    g_autofree float *edge = NULL;
    float *part = NULL;
    uint64_t i;

    if (widen) {
        part = knpu_stage(job, v[DK_K] * h->computed * w->computed *
                          sizeof(float));
        edge = g_new0(float, v[DK_K]);
        if (bias) {
            memcpy(edge, bias, v[DK_K] * sizeof(float));
        }
    }
    for (i = 0; i < images; i++) {
        float *dst = widen ? part : out + i * out_image;
        KnpuDnnlArg args[4];
        DeconvMds md;
        int nargs = 0;

        deconv_mds(key, &md);
        args[nargs++] = (KnpuDnnlArg){ DNNL_ARG_SRC, md.src,
                                       (void *)(src + i * in_image) };
        args[nargs++] = (KnpuDnnlArg){ DNNL_ARG_WEIGHTS, md.wei,
                                       (void *)wei };
        args[nargs++] = (KnpuDnnlArg){ DNNL_ARG_DST, md.dst, dst };
        if (bias) {
            args[nargs++] = (KnpuDnnlArg){ DNNL_ARG_BIAS, md.bias,
                                           (void *)bias };
        }
        if (knpu_job_check_abort(job) ||
            !knpu_prim_run(job, key, deconv_pd, args, nargs)) {
            return false;
        }
        if (widen) {
            deconv_widen(out + i * out_image, part, edge, v[DK_K], h->out,
                         w->out, h->computed, w->computed);
        }
    }
    return knpu_act_apply(job, act, out, images * out_image);
}

/* Element count of a tensor of the four dimensions @d (64-bit checked). */
static bool count4(KnpuJob *job, unsigned op, const uint64_t *d,
                   uint64_t *count)
{
    *count = d[0];
    return knpu_count_mul(job, op, count, d[1]) &&
           knpu_count_mul(job, op, count, d[2]) &&
           knpu_count_mul(job, op, count, d[3]);
}

bool knpu_op_conv_transpose(KnpuJob *job, const KnpuInsn *in)
{
    const uint64_t *o = in->ops;
    uint32_t dt = in->dtype;
    bool has_bias = in->flags & KNPU_FLAG_BIAS;
    void *src = NULL, *wei = NULL, *bias = NULL, *out = NULL;
    uint64_t n_in, n_wei, n_out, macs, g;
    KnpuTensor tin, twei, tbias, tout;
    DeconvAxis h, w;
    KnpuPrimKey key;
    unsigned i;

    if (KNPU_FLAG_ACT(in->flags) > KNPU_ACT_LAST) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    for (i = DC_N; i <= DC_GROUPS; i++) {
        if (!o[i] && i != DC_PAD_H && i != DC_PAD_W && i != DC_OUT_PAD_H &&
            i != DC_OUT_PAD_W) {
            return knpu_operand_invalid(job, i);
        }
    }
    g = o[DC_GROUPS];
    if (o[DC_C] % g || o[DC_K] % g) {
        return knpu_operand_invalid(job, DC_GROUPS);
    }
    if (!deconv_axis(job, &h, o[DC_H], o[DC_R], o[DC_STRIDE_H], o[DC_PAD_H],
                     o[DC_OUT_PAD_H], o[DC_DIL_H], DC_H, DC_PAD_H,
                     DC_OUT_PAD_H) ||
        !deconv_axis(job, &w, o[DC_W], o[DC_S], o[DC_STRIDE_W], o[DC_PAD_W],
                     o[DC_OUT_PAD_W], o[DC_DIL_W], DC_W, DC_PAD_W,
                     DC_OUT_PAD_W)) {
        return false;
    }
    macs = o[DC_C];
    if (umul64_overflow(macs, o[DC_H], &macs) ||
        umul64_overflow(macs, o[DC_W], &macs) ||
        umul64_overflow(macs, o[DC_K] / g, &macs) ||
        umul64_overflow(macs, o[DC_R], &macs) ||
        umul64_overflow(macs, o[DC_S], &macs) ||
        macs > DECONV_IMAGE_MACS_MAX) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    if (!count4(job, DC_IN, (uint64_t[]){ o[DC_N], o[DC_C], o[DC_H],
                                          o[DC_W] }, &n_in) ||
        !count4(job, DC_WEIGHT, (uint64_t[]){ o[DC_C], o[DC_K] / g, o[DC_R],
                                              o[DC_S] }, &n_wei) ||
        !count4(job, DC_OUT, (uint64_t[]){ o[DC_N], o[DC_K], h.out, w.out },
                &n_out) ||
        !knpu_tensor_init(job, &tin, in, DC_IN, dt, n_in) ||
        !knpu_tensor_init(job, &twei, in, DC_WEIGHT, dt, n_wei) ||
        (has_bias && !knpu_tensor_init(job, &tbias, in, DC_BIAS, dt,
                                       o[DC_K])) ||
        !knpu_tensor_init(job, &tout, in, DC_OUT, dt, n_out)) {
        return false;
    }
    if (!knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &twei) ||
        (has_bias && !knpu_tensor_check_align(job, &tbias)) ||
        !knpu_tensor_check_align(job, &tout)) {
        return false;
    }
    if (!knpu_tensor_load(job, &tin, &src) ||
        !knpu_tensor_load(job, &twei, &wei) ||
        (has_bias && !knpu_tensor_load(job, &tbias, &bias))) {
        return false;
    }
    key = (KnpuPrimKey){
        .kind = KNPU_OP_CONV_TRANSPOSE, .dtype = KNPU_DT_FP32,
        .flags = in->flags & DECONV_KEY_FLAGS,
        .v = {
            [DK_C] = o[DC_C], [DK_K] = o[DC_K], [DK_G] = g,
            [DK_R] = o[DC_R], [DK_S] = o[DC_S], [DK_H] = o[DC_H],
            [DK_W] = o[DC_W], [DK_P] = h.computed, [DK_Q] = w.computed,
            [DK_SH] = o[DC_STRIDE_H], [DK_SW] = o[DC_STRIDE_W],
            [DK_DH] = o[DC_DIL_H], [DK_DW] = o[DC_DIL_W],
            [DK_PH] = o[DC_PAD_H], [DK_PW] = o[DC_PAD_W],
            [DK_PRH] = h.pad_r, [DK_PRW] = w.pad_r,
        },
    };
    out = knpu_stage(job, n_out * sizeof(float));
    return deconv_images(job, &key, KNPU_FLAG_ACT(in->flags), o[DC_N], src,
                         wei, bias, out, &h, &w) &&
           knpu_tensor_store(job, &tout, out);
}
