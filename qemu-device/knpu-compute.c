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
    core->stage_peak[slot] = MAX(core->stage_peak[slot], size);
    if (core->stage_size[slot] < size) {
        g_free(core->stage[slot]);
        core->stage[slot] = g_malloc(size);
        core->stage_size[slot] = size;
    }
    return core->stage[slot];
}

/*
 * A job starts on @core. At the end of each window of KNPU_STAGE_WINDOW
 * jobs on the core, a staging buffer is given back if it exceeds
 * KNPU_STAGE_KEEP and is more than KNPU_STAGE_SLACK times the largest size
 * its slot was asked for in this window and the one before: one large job
 * leaves up to a few hundred MiB per core (64 MiB tensors, widened,
 * reordered), which later small work must not pin until the next reset,
 * while a workload that still uses its sizes within 16-32 jobs (a model's
 * inferences, a benchmark's runs) keeps them and does not fault them in
 * again. The next instruction that needs that slot allocates what it
 * asks for. A core that runs no more jobs keeps its buffers until reset.
 */
void knpu_stage_job_start(KnpuCore *core)
{
    unsigned i;

    if (++core->stage_jobs < KNPU_STAGE_WINDOW) {
        return;
    }
    core->stage_jobs = 0;
    for (i = 0; i < KNPU_STAGE_SLOTS; i++) {
        size_t need = MAX(core->stage_peak[i], core->stage_peak_prev[i]);

        if (core->stage_size[i] > KNPU_STAGE_KEEP &&
            core->stage_size[i] / KNPU_STAGE_SLACK > need) {
            g_free(core->stage[i]);
            core->stage[i] = NULL;
            core->stage_size[i] = 0;
        }
        core->stage_peak_prev[i] = core->stage_peak[i];
        core->stage_peak[i] = 0;
    }
}

size_t knpu_dtype_size(uint32_t dtype)
{
    static const size_t sizes[KNPU_DT_COUNT] = {
        [KNPU_DT_FP32] = 4, [KNPU_DT_FP16] = 2, [KNPU_DT_BF16] = 2,
        [KNPU_DT_INT8] = 1, [KNPU_DT_INT32] = 4,
    };

    return dtype < KNPU_DT_COUNT ? sizes[dtype] : 0;
}

/* @rows × @cols INT8 elements, @ld apart, widened into dense FP32 rows */
float *knpu_widen_s8(KnpuJob *job, const int8_t *src, uint64_t rows,
                     uint64_t cols, uint64_t ld)
{
    float *dst = knpu_stage(job, rows * cols * sizeof(float));
    uint64_t r, c;

    for (r = 0; r < rows; r++) {
        for (c = 0; c < cols; c++) {
            dst[r * cols + c] = src[r * ld + c];
        }
    }
    return dst;
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

    if (act > KNPU_ACT_LAST || (int8 && act > KNPU_ACT_RELU) ||
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

/*
 * Requantization (section 7.3) of @n INT32 accumulators into @out:
 * clamp(round_half_even(scale · float(acc + bias)) + zero_point), the
 * activation (RELU) applied to acc + bias first. acc + bias is exact and
 * rounds to FP32 once, the product is one FP32 multiplication, and the
 * zero point is added to the rounded integer (not before the rounding:
 * with an odd zero point that would move ties). The product is clamped to
 * ±256 first (beyond it every result saturates; also an infinity) so that
 * adding and taking away KNPU_ROUNDING_BIAS rounds it, ties to even.
 */
#define KNPU_ROUNDING_BIAS 12582912.0f      /* 1.5 · 2^23 */

static int8_t knpu_requant_one(int32_t acc, int32_t bias, bool relu,
                               float scale, int32_t zp)
{
    /* exact in double: below 2^33 */
    double sum = (double)acc + bias;
    float y = (float)(relu && sum < 0 ? 0 : sum) * scale;
    int32_t q;

    y = y < -256.0f ? -256.0f : y > 256.0f ? 256.0f : y;
    q = (int32_t)((y + KNPU_ROUNDING_BIAS) - KNPU_ROUNDING_BIAS) + zp;
    return q < INT8_MIN ? INT8_MIN : q > INT8_MAX ? INT8_MAX : q;
}

typedef int32_t KnpuV16i __attribute__((vector_size(64)));
typedef float KnpuV16f __attribute__((vector_size(64)));
typedef int8_t KnpuV16b __attribute__((vector_size(16)));

/* Lanes of @a where @mask is set, of @b elsewhere. */
#define KNPU_V_SELECT(mask, a, b) (((a) & (mask)) | ((b) & ~(mask)))

/*
 * knpu_requant_one() on 16 elements at a time, with GCC's vector types (a
 * scalar loop with clamps is not vectorized at -O2: about 2.5 ms per
 * million elements, as long as a 1024³ INT8 matmul); compiled for AVX-512,
 * AVX2 and the baseline ISA, the best one chosen when QEMU starts. The sum
 * is taken in 32 bits, so only when rq->sum_fits says it cannot overflow;
 * (float) of an int32 and of the same integer in double round alike.
 */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void knpu_requant_vector(const KnpuRequant *rq, const int32_t *acc,
                                int8_t *out, uint64_t n)
{
    const KnpuV16i lowest = (KnpuV16i){ 0 } + (rq->relu ? 0 : INT32_MIN);
    const KnpuV16i qmin = (KnpuV16i){ 0 } + INT8_MIN;
    const KnpuV16i qmax = (KnpuV16i){ 0 } + INT8_MAX;
    const KnpuV16f ymin = (KnpuV16f){ 0 } + -256.0f;
    const KnpuV16f ymax = (KnpuV16f){ 0 } + 256.0f;
    KnpuV16i bias = (KnpuV16i){ 0 } + (rq->bias ? rq->bias[0] : 0);
    KnpuV16f scale = (KnpuV16f){ 0 } + rq->scale[0];
    uint64_t i;

    for (i = 0; i + 16 <= n; i += 16) {
        KnpuV16i sum, q;
        KnpuV16f y;
        KnpuV16b b;

        memcpy(&sum, acc + i, sizeof(sum));
        if (rq->bias && rq->per_column) {
            memcpy(&bias, rq->bias + i, sizeof(bias));
        }
        if (rq->per_column && rq->scale_per_column) {
            memcpy(&scale, rq->scale + i, sizeof(scale));
        }
        sum += bias;
        sum = KNPU_V_SELECT(sum > lowest, sum, lowest);
        y = __builtin_convertvector(sum, KnpuV16f) * scale;
        y = (KnpuV16f)KNPU_V_SELECT(y > ymin, (KnpuV16i)y, (KnpuV16i)ymin);
        y = (KnpuV16f)KNPU_V_SELECT(y < ymax, (KnpuV16i)y, (KnpuV16i)ymax);
        q = __builtin_convertvector((y + KNPU_ROUNDING_BIAS) -
                                    KNPU_ROUNDING_BIAS, KnpuV16i) + rq->zp;
        q = KNPU_V_SELECT(q > qmin, q, qmin);
        q = KNPU_V_SELECT(q < qmax, q, qmax);
        b = __builtin_convertvector(q, KnpuV16b);
        memcpy(out + i, &b, sizeof(b));
    }
}

/*
 * Requantize @n accumulators into @out (section 7.3): element i takes the
 * bias and scale of column i with rq->per_column (a GEMM row), else the
 * first ones (a CONV2D channel).
 */
void knpu_requant(const KnpuRequant *rq, const int32_t *acc, int8_t *out,
                  uint64_t n)
{
    uint64_t i = 0;

    if (rq->sum_fits) {
        knpu_requant_vector(rq, acc, out, n);
        i = n & ~15ull;
    }
    for (; i < n; i++) {
        uint64_t col = rq->per_column ? i : 0;

        out[i] = knpu_requant_one(acc[i], rq->bias ? rq->bias[col] : 0,
                                  rq->relu,
                                  rq->scale[rq->scale_per_column ? col : 0],
                                  rq->zp);
    }
}

/*
 * Whether accumulators of magnitude at most @acc_max plus each of the @n
 * biases fit in an INT32 (KnpuRequant.sum_fits).
 */
bool knpu_requant_sum_fits(uint64_t acc_max, const int32_t *bias, uint64_t n)
{
    uint64_t i, bias_max = 0;

    for (i = 0; bias && i < n; i++) {
        bias_max = MAX(bias_max, (uint64_t)ABS((int64_t)bias[i]));
    }
    return acc_max <= INT32_MAX && bias_max <= INT32_MAX - acc_max;
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
    int64_t start = knpu_trace_clock(TRACE_KNPU_TENSOR_LOAD);

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
    trace_knpu_tensor_load(t->operand, t->bytes, knpu_trace_elapsed(start));
    return true;
}

/*
 * Stage tensor @t as knpu_tensor_load() does, unless the bytes it is
 * stored as are those of @known (NULL: none; @t->bytes of them, a buffer
 * the caller keeps): then *@buf is @known, compared with guest memory
 * through the same translations, checks and faults as a load, but not
 * copied. Used for operands that rarely change between jobs (a model's
 * weights), where the staging copy was a pass over them for nothing.
 */
bool knpu_tensor_load_known(KnpuJob *job, const KnpuTensor *t,
                            const void *known, void **buf)
{
    int64_t start = knpu_trace_clock(TRACE_KNPU_TENSOR_LOAD);
    bool same;

    if (!known || knpu_widened(t)) {
        return knpu_tensor_load(job, t, buf);
    }
    if (!knpu_va_equal(job, t->va, known, t->bytes, t->operand, &same)) {
        return false;
    }
    if (!same) {
        return knpu_tensor_load(job, t, buf);
    }
    job->bytes += t->bytes;
    *buf = (void *)known;
    trace_knpu_tensor_load(t->operand, t->bytes, knpu_trace_elapsed(start));
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
    int64_t start = knpu_trace_clock(TRACE_KNPU_TENSOR_STORE);

    if (!knpu_store_elems(job, t, t->va, buf, t->count)) {
        return false;
    }
    trace_knpu_tensor_store(t->operand, t->bytes, knpu_trace_elapsed(start));
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
        int64_t start = knpu_trace_clock(TRACE_KNPU_TENSOR_STORE);

        if (!knpu_store_elems(job, t, t->va, buf, rows * row_elems)) {
            return false;
        }
        trace_knpu_tensor_store(t->operand, rows * row_elems * esize,
                                knpu_trace_elapsed(start));
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
