/*
 * KNPU device model: the byte-mask instructions of spec section 7.4.4
 * (v1.4), COMPARE (a mask of an element-wise comparison) and SELECT
 * (elements of one operand or another, chosen by a mask).
 *
 * Both are loops over staged operands rather than oneDNN primitives: the
 * masks they serve are small (batch x sequence attention masks), SELECT
 * moves elements bit for bit (oneDNN 2.6, Debian bookworm's, has no
 * select), and a loop gives COMPARE the exact IEEE-754 answers of the
 * spec, NaN included, with the innermost-dimension broadcast of ELTWISE.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/timer.h"
#include "trace.h"
#include "knpu-compute.h"

enum { CMP_A, CMP_B, CMP_MASK, CMP_COUNT, CMP_BCOUNT };
enum { SEL_COND, SEL_X, SEL_Y, SEL_OUT, SEL_COUNT, SEL_CCOUNT, SEL_XCOUNT,
       SEL_YCOUNT };

/* The comparison @op of section 7.4.4 on two values of one type. */
#define KNPU_COMPARE(op, x, y)                                          \
    ((op) == KNPU_COMPARE_EQ ? (x) == (y) :                             \
     (op) == KNPU_COMPARE_NE ? (x) != (y) :                             \
     (op) == KNPU_COMPARE_LT ? (x) < (y) :                              \
     (op) == KNPU_COMPARE_LE ? (x) <= (y) :                             \
     (op) == KNPU_COMPARE_GT ? (x) > (y) : (x) >= (y))

/*
 * @mask[i] = a[i] OP b[i mod b_count] over staged operands: FP32 (FP16 and
 * BF16 widened exactly, so their comparisons are the FP32 ones), INT8 or
 * INT32. C's comparisons are IEEE-754's: a NaN is unordered.
 */
static void compare_loop(uint32_t dt, uint32_t op, uint8_t *mask,
                         const void *a, const void *b, uint64_t count,
                         uint64_t b_count)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        uint64_t j = i % b_count;

        if (dt == KNPU_DT_INT8) {
            int8_t x = ((const int8_t *)a)[i], y = ((const int8_t *)b)[j];

            mask[i] = KNPU_COMPARE(op, x, y);
        } else if (dt == KNPU_DT_INT32) {
            int32_t x = (int32_t)ldl_le_p((const uint8_t *)a + 4 * i);
            int32_t y = (int32_t)ldl_le_p((const uint8_t *)b + 4 * j);

            mask[i] = KNPU_COMPARE(op, x, y);
        } else {
            float x = ((const float *)a)[i], y = ((const float *)b)[j];

            mask[i] = KNPU_COMPARE(op, x, y);
        }
    }
}

bool knpu_op_compare(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype, op = KNPU_FLAG_OP(in->flags);
    uint64_t count = in->ops[CMP_COUNT], b_count = in->ops[CMP_BCOUNT];
    void *a = NULL, *b = NULL;
    uint8_t *mask;
    KnpuTensor ta, tb, tmask;
    int64_t start;

    if (op > KNPU_COMPARE_GE) {
        return knpu_operand_invalid(job, KNPU_ERR_OPERAND_NONE);
    }
    if (!count) {
        return knpu_operand_invalid(job, CMP_COUNT);
    }
    if (!b_count || count % b_count) {
        return knpu_operand_invalid(job, CMP_BCOUNT);
    }
    if (!knpu_tensor_init(job, &ta, in, CMP_A, dt, count) ||
        !knpu_tensor_init(job, &tb, in, CMP_B, dt, b_count) ||
        !knpu_tensor_init(job, &tmask, in, CMP_MASK, KNPU_DT_INT8, count) ||
        !knpu_tensor_check_align(job, &ta) ||
        !knpu_tensor_check_align(job, &tb)) {
        return false;
    }
    if (!knpu_tensor_load(job, &ta, &a) || !knpu_tensor_load(job, &tb, &b)) {
        return false;
    }
    mask = knpu_stage(job, count);
    start = knpu_trace_clock(TRACE_KNPU_COMPARE);
    compare_loop(dt, op, mask, a, b, count, b_count);
    trace_knpu_compare(op, dt, count, knpu_trace_elapsed(start));
    return knpu_tensor_store(job, &tmask, mask);
}

/*
 * out[i] = cond[i mod c] ? x[i mod xc] : y[i mod yc], elements of @esize
 * bytes moved as they are stored.
 */
static void select_loop(size_t esize, uint8_t *out, const uint8_t *cond,
                        const uint8_t *x, const uint8_t *y, uint64_t count,
                        uint64_t c, uint64_t xc, uint64_t yc)
{
    uint64_t i;

    for (i = 0; i < count; i++) {
        const uint8_t *src = cond[i % c] ? x + (i % xc) * esize :
                                           y + (i % yc) * esize;

        memcpy(out + i * esize, src, esize);
    }
}

bool knpu_op_select(KnpuJob *job, const KnpuInsn *in)
{
    uint32_t dt = in->dtype;
    uint64_t count = in->ops[SEL_COUNT];
    uint64_t c = in->ops[SEL_CCOUNT], xc = in->ops[SEL_XCOUNT];
    uint64_t yc = in->ops[SEL_YCOUNT];
    void *cond = NULL, *x = NULL, *y = NULL;
    uint8_t *out;
    KnpuTensor tcond, tx, ty, tout;
    int64_t start;

    if (!count) {
        return knpu_operand_invalid(job, SEL_COUNT);
    }
    if (!c || count % c) {
        return knpu_operand_invalid(job, SEL_CCOUNT);
    }
    if (!xc || count % xc) {
        return knpu_operand_invalid(job, SEL_XCOUNT);
    }
    if (!yc || count % yc) {
        return knpu_operand_invalid(job, SEL_YCOUNT);
    }
    if (!knpu_tensor_init(job, &tcond, in, SEL_COND, KNPU_DT_INT8, c) ||
        !knpu_tensor_init(job, &tx, in, SEL_X, dt, xc) ||
        !knpu_tensor_init(job, &ty, in, SEL_Y, dt, yc) ||
        !knpu_tensor_init(job, &tout, in, SEL_OUT, dt, count) ||
        !knpu_tensor_check_align(job, &tx) ||
        !knpu_tensor_check_align(job, &ty) ||
        !knpu_tensor_check_align(job, &tout)) {
        return false;
    }
    /* Bit for bit: FP16 and BF16 are not widened. */
    tx.raw = ty.raw = tout.raw = true;
    if (!knpu_tensor_load(job, &tcond, &cond) ||
        !knpu_tensor_load(job, &tx, &x) || !knpu_tensor_load(job, &ty, &y)) {
        return false;
    }
    out = knpu_stage(job, tout.bytes);
    start = knpu_trace_clock(TRACE_KNPU_SELECT);
    select_loop(knpu_dtype_size(dt), out, cond, x, y, count, c, xc, yc);
    trace_knpu_select(dt, count, knpu_trace_elapsed(start));
    return knpu_tensor_store(job, &tout, out);
}
