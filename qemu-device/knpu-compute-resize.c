/*
 * KNPU device model: RESIZE (spec section 7.4.1, v1.1), nearest and
 * bilinear with ONNX's coordinate transforms.
 *
 * oneDNN 2.6's resampling primitive knows one coordinate transform
 * (half-pixel) and one nearest rounding, while models exported to ONNX use
 * asymmetric, align-corners and floor rounding as well, with scales that
 * are not out/in. The resize is separable, so each axis gets a table of
 * source taps (two indices and a weight per output row or column), built
 * once with ONNX's formulas in FP32; the planes are then interpolated from
 * the tables, in O(output) work.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "knpu-compute.h"

enum {
    RS_IN, RS_OUT, RS_N, RS_C, RS_H, RS_W, RS_P, RS_Q, RS_SCALE_H,
    RS_SCALE_W,
};

/* Output element x reads in[i0]·(1 − w) + in[i1]·w (nearest: w = 0). */
typedef struct ResizeTap {
    uint64_t i0, i1;
    float w;
} ResizeTap;

/* The input coordinate of output coordinate @x (spec 7.4.1, FP32). */
static float resize_coord(uint32_t coord, uint64_t x, uint64_t in_len,
                          uint64_t out_len, float scale)
{
    switch (coord) {
    case KNPU_RESIZE_ASYMMETRIC:
        return (float)x / scale;
    case KNPU_RESIZE_ALIGN_CORNERS:
        return out_len == 1 ? 0.0f :
               (float)x * (float)(in_len - 1) / (float)(out_len - 1);
    case KNPU_RESIZE_PYTORCH_HALF_PIXEL:
        if (out_len == 1) {
            return 0.0f;
        }
        /* fall through */
    default:
        return ((float)x + 0.5f) / scale - 0.5f;
    }
}

static float resize_round(uint32_t round, float x)
{
    float lo = floorf(x);

    switch (round) {
    case KNPU_RESIZE_ROUND_PREFER_FLOOR:
        return x - lo <= 0.5f ? lo : lo + 1;
    case KNPU_RESIZE_ROUND_PREFER_CEIL:
        return x - lo < 0.5f ? lo : lo + 1;
    case KNPU_RESIZE_FLOOR:
        return lo;
    default:
        return ceilf(x);
    }
}

static uint64_t resize_clamp(float x, uint64_t len)
{
    if (!(x > 0)) {
        return 0;       /* NaN cannot come from finite scales; be safe */
    }
    return x >= (float)(len - 1) ? len - 1 : (uint64_t)x;
}

static void resize_axis(uint32_t flags, uint64_t in_len, uint64_t out_len,
                        float scale, ResizeTap *taps)
{
    uint64_t x;

    if (scale == 0.0f) {
        scale = (float)out_len / (float)in_len;
    }
    for (x = 0; x < out_len; x++) {
        float c = resize_coord(KNPU_RESIZE_COORD(flags), x, in_len, out_len,
                               scale);

        if (KNPU_RESIZE_MODE(flags) == KNPU_RESIZE_NEAREST) {
            taps[x].i0 = taps[x].i1 =
                resize_clamp(resize_round(KNPU_RESIZE_ROUND(flags), c),
                             in_len);
            taps[x].w = 0;
            continue;
        }
        c = MIN(MAX(c, 0.0f), (float)(in_len - 1));
        taps[x].i0 = resize_clamp(floorf(c), in_len);
        taps[x].i1 = MIN(taps[x].i0 + 1, in_len - 1);
        taps[x].w = c - (float)taps[x].i0;
    }
}

/* One plane: along W from the two source rows, then along H. */
static void resize_plane(const float *in, float *out, uint64_t w,
                         const ResizeTap *th, uint64_t p,
                         const ResizeTap *tw, uint64_t q)
{
    uint64_t y, x;

    for (y = 0; y < p; y++) {
        const float *r0 = in + th[y].i0 * w, *r1 = in + th[y].i1 * w;
        float wy = th[y].w;

        for (x = 0; x < q; x++) {
            float wx = tw[x].w;
            float top = r0[tw[x].i0] * (1 - wx) + r0[tw[x].i1] * wx;
            float bottom = r1[tw[x].i0] * (1 - wx) + r1[tw[x].i1] * wx;

            *out++ = wy ? top * (1 - wy) + bottom * wy : top;
        }
    }
}

static bool resize_scale_ok(float scale)
{
    return isfinite(scale) && scale >= 0;
}

bool knpu_op_resize(KnpuJob *job, const KnpuInsn *in)
{
    const uint64_t *o = in->ops;
    uint32_t fl = in->flags, dt = in->dtype;
    float scale_h = knpu_f32_of_bits(o[RS_SCALE_H]);
    float scale_w = knpu_f32_of_bits(o[RS_SCALE_W]);
    g_autofree ResizeTap *th = NULL, *tw = NULL;
    float *src = NULL, *out = NULL;
    uint64_t planes, n_in, n_out, i;
    KnpuTensor tin, tout;

    if (KNPU_RESIZE_MODE(fl) > KNPU_RESIZE_LINEAR ||
        (KNPU_RESIZE_MODE(fl) == KNPU_RESIZE_LINEAR &&
         KNPU_RESIZE_ROUND(fl))) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    for (i = RS_N; i <= RS_Q; i++) {
        if (!o[i]) {
            return knpu_operand_invalid(job, i);
        }
    }
    if (!resize_scale_ok(scale_h)) {
        return knpu_operand_invalid(job, RS_SCALE_H);
    }
    if (!resize_scale_ok(scale_w)) {
        return knpu_operand_invalid(job, RS_SCALE_W);
    }
    planes = o[RS_N];
    n_in = o[RS_H];
    n_out = o[RS_P];
    if (!knpu_count_mul(job, RS_C, &planes, o[RS_C]) ||
        !knpu_count_mul(job, RS_W, &n_in, o[RS_W]) ||
        !knpu_count_mul(job, RS_IN, &n_in, planes) ||
        !knpu_count_mul(job, RS_Q, &n_out, o[RS_Q]) ||
        !knpu_count_mul(job, RS_OUT, &n_out, planes) ||
        !knpu_tensor_init(job, &tin, in, RS_IN, dt, n_in) ||
        !knpu_tensor_init(job, &tout, in, RS_OUT, dt, n_out) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout) ||
        !knpu_tensor_load(job, &tin, (void **)&src)) {
        return false;
    }
    /* P and Q are at most the output's element count, bounded above. */
    th = g_new(ResizeTap, o[RS_P]);
    tw = g_new(ResizeTap, o[RS_Q]);
    resize_axis(fl, o[RS_H], o[RS_P], scale_h, th);
    resize_axis(fl, o[RS_W], o[RS_Q], scale_w, tw);
    out = knpu_stage(job, n_out * sizeof(float));
    for (i = 0; i < planes; i++) {
        if (knpu_job_check_abort(job)) {
            return false;
        }
        resize_plane(src + i * o[RS_H] * o[RS_W], out + i * o[RS_P] * o[RS_Q],
                     o[RS_W], th, o[RS_P], tw, o[RS_Q]);
    }
    return knpu_tensor_store(job, &tout, out);
}
