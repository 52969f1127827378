/*
 * KNPU device model: CONVERT (spec section 7.4.2, v1.2; the INT32
 * destination of 7.4.7, v1.7), on oneDNN's reorder with runtime output
 * scales.
 *
 * The tensor is described to oneDNN as outer x channels x inner with the
 * scales along the channel axis (a per-tensor scale: 1 x 1 x count), so
 * one cached primitive serves every scale, and converted in steps of at
 * most CVT_CHUNK_ELEMS elements, each such a block of its own, loaded,
 * converted and stored before the next. FP16 and BF16 are widened and
 * narrowed by the staging code (section 7.3), so the reorder only sees
 * f32, s8 and s32. Checked on Debian's libdnnl 2.6.3 (jit:uni reorder):
 * the product is one FP32 multiplication, conversion to s8 rounds to
 * nearest-even and saturates (infinities included), s32 converts to f32
 * to nearest-even; all as the spec says, except NaN, which oneDNN turns
 * into 127 where the spec says 0: convert_nan_to_zero() fixes those.
 * A float converted to INT32 truncates (7.4.7) where oneDNN's s32 rounds
 * to nearest: the reorder computes the FP32 product and
 * convert_truncate() makes it an integer.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "qemu/host-utils.h"
#include "knpu-compute.h"

enum { CVT_IN, CVT_OUT, CVT_COUNT, CVT_CHANNELS, CVT_INNER, CVT_SCALE };

/* Primitive key: v[] holds outer, channels and inner. */
enum { CK_OUTER, CK_CHANNELS, CK_INNER };

/*
 * The conversions of section 7.4.2: to INT8 from anything but INT8, to a
 * floating type from INT8 or INT32; and of 7.4.7: to INT32 from a
 * floating type.
 */
static bool convert_pair_valid(uint32_t from, uint32_t to)
{
    if (to == KNPU_DT_INT8) {
        return from != KNPU_DT_INT8;
    }
    if (to == KNPU_DT_INT32) {
        return knpu_dtype_is_float(from);
    }
    return knpu_dtype_is_float(to) &&
           (from == KNPU_DT_INT8 || from == KNPU_DT_INT32);
}

/*
 * The type the reorder writes for destination @to: the FP32 product where
 * convert_truncate() makes the INT32 (7.4.7).
 */
static uint32_t convert_reorder_dtype(uint32_t to)
{
    return to == KNPU_DT_INT32 ? KNPU_DT_FP32 : knpu_compute_dtype(to);
}

static void convert_mds(const KnpuPrimKey *k, dnnl_memory_desc_t *src,
                        dnnl_memory_desc_t *dst, dnnl_memory_desc_t *scales)
{
    uint32_t to = KNPU_FLAG_CONVERT_TO(k->flags);

    knpu_md_plain(src, 3, &k->v[CK_OUTER], knpu_dnnl_dt(k->dtype));
    knpu_md_plain(dst, 3, &k->v[CK_OUTER],
                  knpu_dnnl_dt(convert_reorder_dtype(to)));
    knpu_md_plain(scales, 1, &k->v[CK_CHANNELS], dnnl_f32);
}

static dnnl_status_t convert_pd(const KnpuPrimKey *k, dnnl_engine_t engine,
                                dnnl_primitive_attr_t attr,
                                dnnl_primitive_desc_t *pd)
{
    const float runtime_scale = DNNL_RUNTIME_F32_VAL;
    int mask = (k->flags & KNPU_FLAG_PER_CHANNEL) ? 1 << CK_CHANNELS : 0;
    dnnl_memory_desc_t src, dst, scales;
    dnnl_status_t st;

    convert_mds(k, &src, &dst, &scales);
    st = dnnl_primitive_attr_set_output_scales(attr, 1, mask, &runtime_scale);
    return st ? st : dnnl_reorder_primitive_desc_create(pd, &src, engine,
                                                        &dst, engine, attr);
}

/* Section 7.4.2: a NaN converts to INT8 0 (branch-free: vectorizable). */
static void convert_nan_to_zero(const float *in, int8_t *out, uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        out[i] = in[i] == in[i] ? out[i] : 0;
    }
}

/*
 * Section 7.4.7: toward zero, saturated, NaN to 0 (branch-free:
 * vectorizable). The bounds are exact FP32 values: -2^31 converts as it
 * is, and every float below 2^31 fits.
 */
static void convert_truncate(const float *in, int32_t *out, uint64_t count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        float x = in[i] == in[i] ? in[i] : 0;

        x = MIN(MAX(x, -2147483648.0f), 2147483520.0f);
        out[i] = in[i] >= 2147483648.0f ? INT32_MAX : (int32_t)x;
    }
}

/*
 * Section 7.4.2 rules on the flags, count, channels and inner; fills the
 * shape of @key.
 */
static bool convert_shape(KnpuJob *job, const KnpuInsn *in, KnpuPrimKey *key)
{
    uint64_t count = in->ops[CVT_COUNT], channels = in->ops[CVT_CHANNELS];
    uint64_t inner = in->ops[CVT_INNER], block;
    uint32_t to = KNPU_FLAG_CONVERT_TO(in->flags);

    if (!convert_pair_valid(in->dtype, to)) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    if (!count) {
        return knpu_operand_invalid(job, CVT_COUNT);
    }
    if (!(in->flags & KNPU_FLAG_PER_CHANNEL)) {
        if (channels || inner) {
            return knpu_operand_invalid(job, channels ? CVT_CHANNELS :
                                        CVT_INNER);
        }
        channels = 1;
        inner = count;
    } else if (!channels || !inner) {
        return knpu_operand_invalid(job, channels ? CVT_INNER :
                                    CVT_CHANNELS);
    }
    if (umul64_overflow(channels, inner, &block) || count % block) {
        return knpu_operand_invalid(job, CVT_COUNT);
    }
    key->v[CK_OUTER] = count / block;
    key->v[CK_CHANNELS] = channels;
    key->v[CK_INNER] = inner;
    return true;
}

/*
 * Elements converted per step: the operands of one step stay small (one
 * thread, in cache, no fresh pages to fault in), and a reset waits for
 * one step at most.
 */
#define CVT_CHUNK_ELEMS (64 * 1024)

/*
 * The next step of the conversion of @key from element @done: a piece of
 * the tensor that is itself an outer x channels x inner block, *@step its
 * shape, *@first_channel the channel of its first element. Whole outer
 * slices where they fit, else whole channels of one slice, else part of
 * one channel.
 */
static uint64_t convert_step(const KnpuPrimKey *key, uint64_t done,
                             KnpuPrimKey *step, uint64_t *first_channel)
{
    uint64_t channels = key->v[CK_CHANNELS], inner = key->v[CK_INNER];
    uint64_t block = channels * inner, left = key->v[CK_OUTER] * block - done;
    uint64_t ch = done / inner % channels;

    *step = *key;
    *first_channel = ch;
    if (block <= CVT_CHUNK_ELEMS) {
        step->v[CK_OUTER] = MIN(left / block, CVT_CHUNK_ELEMS / block);
        return step->v[CK_OUTER] * block;
    }
    step->v[CK_OUTER] = 1;
    if (inner <= CVT_CHUNK_ELEMS) {
        step->v[CK_CHANNELS] = MIN(channels - ch, CVT_CHUNK_ELEMS / inner);
        return step->v[CK_CHANNELS] * inner;
    }
    step->v[CK_CHANNELS] = 1;
    step->v[CK_INNER] = MIN(inner - done % inner, CVT_CHUNK_ELEMS);
    return step->v[CK_INNER];
}

/* @t's elements [@first, @first + @n), as a tensor of its own. */
static KnpuTensor convert_part(const KnpuTensor *t, uint64_t first,
                               uint64_t n)
{
    KnpuTensor part = *t;
    size_t esize = knpu_dtype_size(t->dtype);

    part.va = t->va + first * esize;
    part.count = n;
    part.bytes = n * esize;
    return part;
}

/*
 * Convert the step of @key from element @done, @tin into @tout; returns
 * its element count, 0 when the job failed.
 */
static uint64_t convert_chunk(KnpuJob *job, const KnpuPrimKey *key,
                              const KnpuTensor *tin, const KnpuTensor *tout,
                              const float *scales, uint64_t done)
{
    uint32_t to = KNPU_FLAG_CONVERT_TO(key->flags);
    void *src = NULL, *out = NULL;
    uint64_t n, ch;
    KnpuTensor pin, pout;
    KnpuPrimKey step;
    KnpuDnnlArg args[3];

    n = convert_step(key, done, &step, &ch);
    pin = convert_part(tin, done, n);
    pout = convert_part(tout, done, n);
    if (knpu_job_check_abort(job) || !knpu_tensor_load(job, &pin, &src)) {
        return 0;
    }
    out = knpu_stage(job, n * knpu_dtype_size(convert_reorder_dtype(to)));
    convert_mds(&step, &args[0].md, &args[1].md, &args[2].md);
    args[0].arg = DNNL_ARG_FROM;
    args[0].data = src;
    args[1].arg = DNNL_ARG_TO;
    args[1].data = out;
    args[2].arg = DNNL_ARG_ATTR_OUTPUT_SCALES;
    args[2].data = (void *)(scales + ch);
    if (!knpu_prim_run(job, &step, convert_pd, args, 3)) {
        return 0;
    }
    if (key->dtype == KNPU_DT_FP32 && to == KNPU_DT_INT8) {
        convert_nan_to_zero(src, out, n);
    }
    if (to == KNPU_DT_INT32) {
        int32_t *ints = knpu_stage(job, n * sizeof(int32_t));

        convert_truncate(out, ints, n);
        out = ints;
    }
    return knpu_tensor_store(job, &pout, out) ? n : 0;
}

bool knpu_op_convert(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t to = KNPU_FLAG_CONVERT_TO(in->flags);
    bool per_channel = in->flags & KNPU_FLAG_PER_CHANNEL;
    float scale = knpu_f32_of_bits(in->ops[CVT_SCALE]);
    void *scales = NULL;
    unsigned stage_used;
    KnpuPrimKey key = {
        .kind = KNPU_OP_CONVERT, .dtype = knpu_compute_dtype(in->dtype),
        .flags = knpu_compute_dtype(to) |
                 (in->flags & KNPU_FLAG_PER_CHANNEL),
    };
    KnpuTensor tin, tout, tscale;
    uint64_t count, done, n;

    if (!convert_shape(job, in, &key)) {
        return false;
    }
    if (!(knpu_dtypes_mask() & (1u << to))) {
        return knpu_job_fail(job, KNPU_ERR_OPCODE_UNSUPPORTED,
                             KNPU_ERR_OPERAND_NONE, 0, 0, 0);
    }
    if (!per_channel && (!isfinite(scale) || !(scale > 0))) {
        return knpu_operand_invalid(job, CVT_SCALE);
    }
    count = in->ops[CVT_COUNT];
    if (!knpu_tensor_init(job, &tin, in, CVT_IN, in->dtype, count) ||
        !knpu_tensor_init(job, &tout, in, CVT_OUT, to, count) ||
        (per_channel &&
         !knpu_tensor_init(job, &tscale, in, CVT_SCALE, KNPU_DT_FP32,
                           key.v[CK_CHANNELS])) ||
        !knpu_tensor_check_align(job, &tin) ||
        !knpu_tensor_check_align(job, &tout) ||
        (per_channel && !knpu_tensor_check_align(job, &tscale))) {
        return false;
    }
    if (per_channel && (!knpu_tensor_load(job, &tscale, &scales) ||
                        !knpu_check_scales(job, scales, key.v[CK_CHANNELS],
                                           CVT_SCALE))) {
        return false;
    }
    /* Every chunk stages into the same buffers. */
    stage_used = job->stage_used;
    for (done = 0; done < count; done += n) {
        job->stage_used = stage_used;
        n = convert_chunk(job, &key, &tin, &tout,
                          per_channel ? scales : &scale, done);
        if (!n) {
            return false;
        }
    }
    return true;
}
