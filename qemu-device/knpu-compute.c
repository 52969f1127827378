/*
 * KNPU device model: tensor operands of the compute instructions (spec
 * sections 7.3 and 7.4): size rules, staging between the job's address
 * space and host buffers, FP16/BF16 widening and narrowing.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "qemu/host-utils.h"
#include "qemu/timer.h"
#include "trace.h"
#include "knpu-compute.h"

/* Tensors are staged as they lie in guest memory: little-endian. */
QEMU_BUILD_BUG_ON(HOST_BIG_ENDIAN);

/* Section 7.4: every tensor is smaller than 2^40 bytes. */
#define KNPU_TENSOR_BYTES_LIMIT (1ull << 40)

/*
 * A staging buffer of @size bytes for the instruction executing, valid
 * until it ends: the next of its core's slots, kept from one instruction
 * to the next, so that a workload repeating its shapes neither allocates
 * nor faults its staging memory in again. The callers bound @size (the
 * tensor limit), and the number of buffers an instruction takes is fixed
 * by its code, not by the guest.
 */
void *knpu_stage(KnpuJob *job, size_t size)
{
    KnpuCore *core = job->core;
    unsigned slot = job->stage_used++;

    assert(slot < KNPU_STAGE_SLOTS);
    size = MAX(size, 1);
    if (core->stage_size[slot] < size) {
        g_free(core->stage[slot]);
        core->stage[slot] = g_malloc(size);
        core->stage_size[slot] = size;
    }
    return core->stage[slot];
}

size_t knpu_dtype_size(uint32_t dtype)
{
    static const size_t sizes[KNPU_DT_COUNT] = {
        [KNPU_DT_FP32] = 4, [KNPU_DT_FP16] = 2, [KNPU_DT_BF16] = 2,
        [KNPU_DT_INT8] = 1, [KNPU_DT_INT32] = 4,
    };

    return dtype < KNPU_DT_COUNT ? sizes[dtype] : 0;
}

bool knpu_dtype_is_float(uint32_t dtype)
{
    return dtype == KNPU_DT_FP32 || dtype == KNPU_DT_FP16 ||
           dtype == KNPU_DT_BF16;
}

/* The type the engine computes in: FP16 and BF16 widen to FP32. */
uint32_t knpu_compute_dtype(uint32_t dtype)
{
    return knpu_dtype_is_float(dtype) ? KNPU_DT_FP32 : dtype;
}

float knpu_f32_of_bits(uint32_t bits)
{
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

bool knpu_operand_invalid(KnpuJob *job, unsigned operand)
{
    return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID, operand, 0, 0, 0);
}

/* *@count *= @factor, failing with OPERAND_INVALID on 64-bit overflow. */
bool knpu_count_mul(KnpuJob *job, unsigned operand, uint64_t *count,
                    uint64_t factor)
{
    if (umul64_overflow(*count, factor, count)) {
        return knpu_operand_invalid(job, operand);
    }
    return true;
}

/*
 * Describe tensor operand @operand of @in: @count elements of @dtype.
 * Fails with OPERAND_INVALID when its size reaches 2^40 bytes or exceeds
 * the device's staging limit.
 */
bool knpu_tensor_init(KnpuJob *job, KnpuTensor *t, const KnpuInsn *in,
                      unsigned operand, uint32_t dtype, uint64_t count)
{
    t->va = in->ops[operand];
    t->operand = operand;
    t->dtype = dtype;
    t->count = count;
    t->raw = false;
    if (umul64_overflow(count, knpu_dtype_size(dtype), &t->bytes) ||
        t->bytes >= KNPU_TENSOR_BYTES_LIMIT ||
        t->bytes > KNPU_TENSOR_BYTES_MAX) {
        return knpu_operand_invalid(job, operand);
    }
    return true;
}

/*
 * Section 7.3 rules on the fused activation, OUT_INT32, PER_CHANNEL, the
 * scale (finite; > 0 for a per-tensor requantization) and the zero point
 * (8 bits for INT8 output, else 0) of GEMM and CONV2D.
 */
bool knpu_check_fused(KnpuJob *job, const KnpuInsn *in, unsigned scale_op,
                      unsigned zp_op)
{
    uint32_t fl = in->flags, act = KNPU_FLAG_ACT(fl);
    bool int8 = in->dtype == KNPU_DT_INT8;
    bool requant = int8 && !(fl & KNPU_FLAG_OUT_INT32);
    float scale = knpu_f32_of_bits(in->ops[scale_op]);

    if (act > KNPU_ACT_TANH || (int8 && act > KNPU_ACT_RELU) ||
        ((fl & KNPU_FLAG_OUT_INT32) && !int8) ||
        ((fl & KNPU_FLAG_PER_CHANNEL) && !requant)) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    if (!(fl & KNPU_FLAG_PER_CHANNEL) &&
        (!isfinite(scale) || (requant && !(scale > 0)))) {
        return knpu_operand_invalid(job, scale_op);
    }
    if (in->ops[zp_op] > (requant ? 0xff : 0)) {
        return knpu_operand_invalid(job, zp_op);
    }
    return true;
}

/* Per-channel scales of a requantization: finite and > 0. */
bool knpu_check_scales(KnpuJob *job, const float *scales, uint64_t n,
                       unsigned scale_op)
{
    uint64_t i;

    for (i = 0; i < n; i++) {
        if (!isfinite(scales[i]) || !(scales[i] > 0)) {
            return knpu_operand_invalid(job, scale_op);
        }
    }
    return true;
}

bool knpu_tensor_check_align(KnpuJob *job, const KnpuTensor *t)
{
    if (t->va & (knpu_dtype_size(t->dtype) - 1)) {
        return knpu_job_fail(job, KNPU_ERR_ALIGNMENT, t->operand, 0, 0,
                             t->va);
    }
    return true;
}

/* FP16 and BF16 (section 7.3): widened exactly, narrowed to nearest-even */

static uint32_t knpu_bits_of_f32(float f)
{
    uint32_t bits;

    memcpy(&bits, &f, sizeof(bits));
    return bits;
}

static float knpu_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;

    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in FP32 */
        float f = ldexpf((float)mant, -24);

        return sign ? -f : f;
    }
    if (exp == 0x1f) {
        return knpu_f32_of_bits(sign | 0x7f800000 | (mant << 13));
    }
    return knpu_f32_of_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

static uint16_t knpu_f32_to_f16(float f)
{
    uint32_t x = knpu_bits_of_f32(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t abs = x & 0x7fffffff;

    if (abs > 0x7f800000) {
        /* NaN: quiet, top payload bits kept */
        return sign | 0x7e00 | ((abs >> 13) & 0x3ff);
    }
    if (abs >= 0x477ff000) {
        /* at or above 65520, halfway past the largest FP16: infinity */
        return sign | 0x7c00;
    }
    if (abs < 0x38800000) {
        /* FP16 subnormal or zero: the scaling is exact, rintf rounds RNE */
        return sign | (uint16_t)rintf(ldexpf(knpu_f32_of_bits(abs), 24));
    }
    abs += 0xfff + ((abs >> 13) & 1);
    return sign | ((abs - 0x38000000) >> 13);
}

static uint16_t knpu_f32_to_bf16(float f)
{
    uint32_t x = knpu_bits_of_f32(f);

    if ((x & 0x7fffffff) > 0x7f800000) {
        return (x >> 16) | 0x40;            /* quiet NaN */
    }
    return (x + 0x7fff + ((x >> 16) & 1)) >> 16;
}

static void knpu_widen(uint32_t dtype, float *dst, const uint16_t *src,
                       uint64_t n)
{
    uint64_t i;

    for (i = 0; i < n; i++) {
        dst[i] = dtype == KNPU_DT_FP16 ? knpu_f16_to_f32(src[i]) :
                 knpu_f32_of_bits((uint32_t)src[i] << 16);
    }
}

static void knpu_narrow(uint32_t dtype, uint16_t *dst, const float *src,
                        uint64_t n)
{
    uint64_t i;

    for (i = 0; i < n; i++) {
        dst[i] = dtype == KNPU_DT_FP16 ? knpu_f32_to_f16(src[i]) :
                 knpu_f32_to_bf16(src[i]);
    }
}

/* Is @t staged as FP32 while stored as FP16 or BF16? */
static bool knpu_widened(const KnpuTensor *t)
{
    return !t->raw && (t->dtype == KNPU_DT_FP16 || t->dtype == KNPU_DT_BF16);
}

/*
 * Stage tensor @t into *@buf, a staging buffer of its compute type (FP16
 * and BF16 widened to FP32; knpu_stage()). False when the job failed
 * (fault).
 */
bool knpu_tensor_load(KnpuJob *job, const KnpuTensor *t, void **buf)
{
    size_t csize = knpu_widened(t) ? 4 : knpu_dtype_size(t->dtype);
    uint8_t *data = knpu_stage(job, t->count * csize);
    uint64_t done = 0, chunk = KNPU_BOUNCE_SIZE / 2;
    int64_t start = get_clock();

    if (!knpu_widened(t)) {
        /* Straight into the engine's buffer, page by page. */
        if (!knpu_va_rw(job, t->va, data, t->bytes, false, t->operand)) {
            return false;
        }
    }
    while (knpu_widened(t) && done < t->count) {
        uint64_t n = MIN(t->count - done, chunk);

        if (!knpu_va_rw(job, t->va + 2 * done, job->core->bounce, 2 * n,
                        false, t->operand)) {
            return false;
        }
        knpu_widen(t->dtype, (float *)data + done,
                   (const uint16_t *)job->core->bounce, n);
        done += n;
    }
    job->bytes += t->bytes;
    *buf = data;
    trace_knpu_tensor_load(t->operand, t->bytes, get_clock() - start);
    return true;
}

/* Store @count elements from compute-type @src at @va. */
static bool knpu_store_elems(KnpuJob *job, const KnpuTensor *t, uint64_t va,
                             const void *src, uint64_t count)
{
    uint64_t done = 0, chunk = KNPU_BOUNCE_SIZE / 2;

    if (!knpu_widened(t)) {
        uint64_t bytes = count * knpu_dtype_size(t->dtype);

        job->bytes += bytes;
        return knpu_va_rw(job, va, (void *)src, bytes, true, t->operand);
    }
    while (done < count) {
        uint64_t n = MIN(count - done, chunk);

        knpu_narrow(t->dtype, (uint16_t *)job->core->bounce,
                    (const float *)src + done, n);
        if (!knpu_va_rw(job, va + 2 * done, job->core->bounce, 2 * n, true,
                        t->operand)) {
            return false;
        }
        job->bytes += 2 * n;
        done += n;
    }
    return true;
}

/* Store the compute-type buffer @buf as tensor @t. */
bool knpu_tensor_store(KnpuJob *job, const KnpuTensor *t, const void *buf)
{
    int64_t start = get_clock();

    if (!knpu_store_elems(job, t, t->va, buf, t->count)) {
        return false;
    }
    trace_knpu_tensor_store(t->operand, t->bytes, get_clock() - start);
    return true;
}

/*
 * Store @rows rows of @row_elems elements, @ld elements apart both in @buf
 * and in memory; the elements between rows are left alone.
 */
bool knpu_tensor_store_rows(KnpuJob *job, const KnpuTensor *t,
                            const void *buf, uint64_t rows,
                            uint64_t row_elems, uint64_t ld)
{
    size_t esize = knpu_dtype_size(t->dtype);
    size_t csize = knpu_dtype_size(knpu_compute_dtype(t->dtype));
    uint64_t r;

    if (ld == row_elems) {
        int64_t start = get_clock();

        if (!knpu_store_elems(job, t, t->va, buf, rows * row_elems)) {
            return false;
        }
        trace_knpu_tensor_store(t->operand, rows * row_elems * esize,
                                get_clock() - start);
        return true;
    }
    for (r = 0; r < rows; r++) {
        if (!knpu_store_elems(job, t, t->va + r * ld * esize,
                              (const uint8_t *)buf + r * ld * csize,
                              row_elems)) {
            return false;
        }
    }
    return true;
}
