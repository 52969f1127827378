/*
 * KNPU qtests: CONVERT (spec section 7.4.2, v1.2, and its INT32
 * destination, 7.4.7, v1.7) against a reference loop, and its invalid and
 * hostile operands.
 *
 * The reference computes the spec's arithmetic directly: the source value
 * as FP32 (an INT32 rounded by the C conversion, nearest-even), times the
 * scale in double (exact for two FP32 values) rounded once to FP32, then
 * rne() and a clamp for INT8, trunc() and a clamp for INT32. INT8, INT32
 * and FP32 results must be exact; FP16 and BF16 ones within the usual
 * rounding of the result (their scales keep the results finite).
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

enum { CVT_IN, CVT_OUT, CVT_COUNT, CVT_CHANNELS, CVT_INNER, CVT_SCALE };

/* Argument slots of the tests: in, out, the per-channel scales. */
#define CVT_ARGMASK_TENSOR  0x3
#define CVT_ARGMASK_CHANNEL 0x23

/* Section 7.4.2: element value @x of source type @from, times @scale. */
static double convert_ref(uint32_t from, uint32_t to, double x, float scale)
{
    float xf = from == KNPU_DT_INT32 ? (float)(int32_t)x : (float)x;
    float y = (float)((double)xf * scale);

    if (to != KNPU_DT_INT8 && to != KNPU_DT_INT32) {
        return y;
    }
    if (isnan(y)) {
        return 0;
    }
    if (to == KNPU_DT_INT32) {
        return MIN(MAX(trunc(y), (double)INT32_MIN), (double)INT32_MAX);
    }
    return MIN(MAX(rne(y), -128.0), 127.0);
}

/*
 * Values where rounding and saturation matter, for FP32, INT8, INT32: to
 * INT8 and, unscaled, to INT32 (the largest float below 2^31, 2^31, -2^31
 * and the float below it).
 */
static void put_edges(uint32_t from, void *raw, uint64_t count)
{
    static const double fp32[] = {
        0.5, 1.5, 2.5, -0.5, -2.5, 126.5, 127.5, -128.5, -127.5, 1e30,
        -1e30, INFINITY, -INFINITY, NAN, 0.49999997, -0.99999994,
        2147483520.0, 2147483648.0, -2147483648.0, -2147483904.0,
        16777215.5, -7.75,
    };
    static const double int32[] = {
        INT32_MAX, INT32_MIN, 16777217, -16777219, 0, 255, -255, 257,
    };
    static const double int8[] = { 127, -128, 0, 1, -1 };
    const double *v = from == KNPU_DT_FP32 ? fp32 :
                      from == KNPU_DT_INT32 ? int32 : int8;
    uint64_t n = from == KNPU_DT_FP32 ? G_N_ELEMENTS(fp32) :
                 from == KNPU_DT_INT32 ? G_N_ELEMENTS(int32) :
                 G_N_ELEMENTS(int8);
    uint64_t i;

    if (from == KNPU_DT_FP16 || from == KNPU_DT_BF16) {
        return;     /* random values only: set_elem() has no FP16/BF16 */
    }
    for (i = 0; i < MIN(n, count); i++) {
        set_elem(from, raw, i, v[i]);
    }
}

/*
 * One CONVERT of an outer x channels x inner tensor of random values (and
 * the edge values), per tensor (@channels 0) by @scale or per channel by
 * scales between a quarter of it and it, against the reference.
 */
static void run_convert(Cx *c, uint32_t from, uint32_t to, uint64_t outer,
                        uint32_t channels, uint32_t inner, float scale)
{
    bool per_channel = channels != 0;
    uint64_t count = outer * MAX(channels, 1) * MAX(inner, 1);
    g_autofree void *x = rand_tensor(c, from, count);
    g_autofree float *scales = g_new(float, MAX(channels, 1));
    g_autofree double *ref = g_new(double, count);
    g_autofree void *got = NULL;
    TBuf tin, tout, tscale = { 0 };
    uint64_t args[3], i;
    Prog p = { .n = 0 };

    put_edges(from, x, count);
    for (i = 0; i < MAX(channels, 1); i++) {
        float factor = g_rand_double_range(c->rand, 0.25, 1);

        scales[i] = per_channel ? scale * factor : scale;
    }
    tin = cx_input(c, from, count, x);
    tout = cx_output(c, to, count);
    args[0] = tin.va;
    args[1] = tout.va;
    if (per_channel) {
        tscale = cx_input(c, KNPU_DT_FP32, channels, scales);
        args[2] = tscale.va;
        EMIT(&p, KNPU_OP_CONVERT, from, to | KNPU_FLAG_PER_CHANNEL,
             CVT_ARGMASK_CHANNEL, 0, 1, count, channels, inner, 2);
    } else {
        EMIT(&p, KNPU_OP_CONVERT, from, to, CVT_ARGMASK_TENSOR, 0, 1, count,
             0, 0, f32_bits(scale));
    }
    cx_run(c, &p, args, per_channel ? 3 : 2);
    for (i = 0; i < count; i++) {
        uint64_t ch = per_channel ? (i / inner) % channels : 0;

        ref[i] = convert_ref(from, to, elem(from, x, i), scales[ch]);
    }
    got = tbuf_read(c, &tout, count * dt_size(to));
    if (to == KNPU_DT_FP16 || to == KNPU_DT_BF16) {
        check_close(to, got, ref, count, "convert");
        return;
    }
    for (i = 0; i < count; i++) {
        double g = elem(to, got, i);

        if (g != ref[i] && !(isnan(g) && isnan(ref[i]))) {
            g_test_message("convert %u -> %u: element %" PRIu64 " (%.9g) "
                           "is %.9g, want %.9g", from, to, i,
                           elem(from, x, i), g, ref[i]);
            g_assert_cmpfloat(g, ==, ref[i]);
        }
    }
}

static void test_convert(void)
{
    static const struct {
        uint32_t from, to;
        float scale;        /* per tensor */
    } pairs[] = {
        { KNPU_DT_FP32, KNPU_DT_INT8, 1.0f },
        { KNPU_DT_FP32, KNPU_DT_INT8, 93.7f },
        { KNPU_DT_FP16, KNPU_DT_INT8, 70.0f },
        { KNPU_DT_BF16, KNPU_DT_INT8, 81.3f },
        { KNPU_DT_INT8, KNPU_DT_FP32, 0.0173f },
        { KNPU_DT_INT8, KNPU_DT_FP16, 0.031f },
        { KNPU_DT_INT8, KNPU_DT_BF16, 3.5f },
        { KNPU_DT_INT32, KNPU_DT_INT8, 0.37f },
        { KNPU_DT_INT32, KNPU_DT_INT8, 1.0f / 3 },
        { KNPU_DT_INT32, KNPU_DT_FP32, 0.000031f },
        { KNPU_DT_INT32, KNPU_DT_FP16, 0.00001f },
        { KNPU_DT_INT32, KNPU_DT_BF16, 2.0f },
        { KNPU_DT_INT32, KNPU_DT_FP32, 3e38f },     /* overflows to inf */
        { KNPU_DT_FP32, KNPU_DT_INT32, 1.0f },      /* 7.4.7 */
        { KNPU_DT_FP32, KNPU_DT_INT32, 1e9f },      /* saturates */
        { KNPU_DT_FP16, KNPU_DT_INT32, 3.7f },
        { KNPU_DT_BF16, KNPU_DT_INT32, 100.0f },
    };
    unsigned i;
    Cx c;

    cx_start(&c);
    for (i = 0; i < G_N_ELEMENTS(pairs); i++) {
        uint32_t n = g_rand_int_range(c.rand, 1, 3000);

        run_convert(&c, pairs[i].from, pairs[i].to, n, 0, 0, pairs[i].scale);
        /* per channel: NCHW-like (inner > 1) and per column (inner 1) */
        run_convert(&c, pairs[i].from, pairs[i].to,
                    g_rand_int_range(c.rand, 1, 4),
                    g_rand_int_range(c.rand, 1, 9),
                    g_rand_int_range(c.rand, 2, 50), pairs[i].scale);
        run_convert(&c, pairs[i].from, pairs[i].to,
                    g_rand_int_range(c.rand, 1, 20),
                    g_rand_int_range(c.rand, 1, 40), 1, pairs[i].scale);
    }
    /*
     * Past the device's steps of 64 Ki elements: whole channels a step,
     * one channel a step, parts of a channel, parts of a per-tensor one.
     */
    run_convert(&c, KNPU_DT_INT32, KNPU_DT_INT8, 2, 40, 1000, 0.01f);
    run_convert(&c, KNPU_DT_FP32, KNPU_DT_INT8, 1, 16, 64 * 1024, 50.0f);
    run_convert(&c, KNPU_DT_FP16, KNPU_DT_INT8, 1, 3, 70000, 40.0f);
    run_convert(&c, KNPU_DT_INT32, KNPU_DT_FP32, 300000, 0, 0, 0.25f);
    run_convert(&c, KNPU_DT_FP32, KNPU_DT_INT32, 1, 3, 70000, 1000.0f);
    cx_stop(&c);
}

/* A valid per-tensor FP32 -> INT8 CONVERT of 8 elements, words changed. */
static const BadOperands convert_bad_tensor[] = {
    { 1, { CVT_COUNT }, { 0 }, KNPU_ERR_OPERAND_INVALID, CVT_COUNT },
    { 1, { CVT_CHANNELS }, { 2 }, KNPU_ERR_OPERAND_INVALID, CVT_CHANNELS },
    { 1, { CVT_INNER }, { 1 }, KNPU_ERR_OPERAND_INVALID, CVT_INNER },
    { 1, { CVT_SCALE }, { 0 }, KNPU_ERR_OPERAND_INVALID, CVT_SCALE },
    { 1, { CVT_SCALE }, { 0xbf800000 }, KNPU_ERR_OPERAND_INVALID, CVT_SCALE },
    { 1, { CVT_SCALE }, { 0x7fc00000 }, KNPU_ERR_OPERAND_INVALID, CVT_SCALE },
    { 1, { CVT_SCALE }, { 0x7f800000 }, KNPU_ERR_OPERAND_INVALID, CVT_SCALE },
    { 1, { CVT_SCALE }, { 0x80000000 }, KNPU_ERR_OPERAND_INVALID, CVT_SCALE },
    /* past the staging limit (FP32 in: 16 GiB), nothing allocated */
    { 1, { CVT_COUNT }, { 0xffffffff }, KNPU_ERR_OPERAND_INVALID, CVT_IN },
    { 1, { CVT_IN }, { 7 }, KNPU_ERR_ARG_INDEX_INVALID, CVT_IN },
};

/* A valid per-channel INT32 -> FP32 CONVERT: 2 x 4 channels x 3. */
static const BadOperands convert_bad_channel[] = {
    { 1, { CVT_CHANNELS }, { 0 }, KNPU_ERR_OPERAND_INVALID, CVT_CHANNELS },
    { 1, { CVT_INNER }, { 0 }, KNPU_ERR_OPERAND_INVALID, CVT_INNER },
    { 1, { CVT_CHANNELS }, { 5 }, KNPU_ERR_OPERAND_INVALID, CVT_COUNT },
    { 1, { CVT_INNER }, { 7 }, KNPU_ERR_OPERAND_INVALID, CVT_COUNT },
    /* channels x inner = (2^32 - 1)^2: far beyond count, not a divisor */
    { 2, { CVT_CHANNELS, CVT_INNER }, { 0xffffffff, 0xffffffff },
      KNPU_ERR_OPERAND_INVALID, CVT_COUNT },
    /*
     * 2^24 channels: 64 MiB of INT32 in and FP32 out, 64 MiB of scales,
     * within the limits; the scales are read first and run off their page
     */
    { 3, { CVT_COUNT, CVT_CHANNELS, CVT_INNER },
      { 1u << 24, 1u << 24, 1 }, KNPU_ERR_MMU_FAULT, CVT_SCALE },
    /* 2^24 + 1: each 4-byte operand past 64 MiB, the input first */
    { 3, { CVT_COUNT, CVT_CHANNELS, CVT_INNER },
      { (1u << 24) + 1, (1u << 24) + 1, 1 }, KNPU_ERR_OPERAND_INVALID,
      CVT_IN },
};

static void test_convert_errors(void)
{
    const uint32_t tensor_ops[] = { 0, 1, 8, 0, 0, f32_bits(2.0f) };
    const uint32_t channel_ops[] = { 0, 1, 24, 4, 3, 2 };
    const Insn tensor = { KNPU_OP_CONVERT, KNPU_DT_FP32, KNPU_DT_INT8,
                          CVT_ARGMASK_TENSOR, 6, tensor_ops };
    const Insn channel = { KNPU_OP_CONVERT, KNPU_DT_INT32,
                           KNPU_DT_FP32 | KNPU_FLAG_PER_CHANNEL,
                           CVT_ARGMASK_CHANNEL, 6, channel_ops };
    static const uint32_t bad_pairs[][2] = {
        { KNPU_DT_FP32, 0 }, { KNPU_DT_FP32, KNPU_DT_FP16 },
        { KNPU_DT_BF16, KNPU_DT_FP32 }, { KNPU_DT_INT8, KNPU_DT_INT8 },
        { KNPU_DT_INT32, KNPU_DT_INT32 }, { KNPU_DT_INT8, KNPU_DT_INT32 },
        { KNPU_DT_INT32, 6 }, { KNPU_DT_FP32, 6 }, { KNPU_DT_INT8, 15 },
    };
    const float bad_scales[] = { 1.0f, 0.0f, 2.0f, 3.0f };
    uint8_t before[24], after[24];
    TBuf a, ro, sc;
    uint64_t args[3];
    unsigned i;
    Prog p;
    Err e;
    Cx c;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    sc = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = a.va;
    args[1] = a.va + 2048;
    args[2] = sc.va;
    tbuf_write(&c, &sc, (const float[]){ 1, 2, 3, 4 }, 16);

    cx_run_bad_operands(&c, &tensor, args, 3, convert_bad_tensor,
                        G_N_ELEMENTS(convert_bad_tensor));
    cx_run_bad_operands(&c, &channel, args, 3, convert_bad_channel,
                        G_N_ELEMENTS(convert_bad_channel));

    /* Conversions the table does not have; undefined flag bits; nops. */
    for (i = 0; i < G_N_ELEMENTS(bad_pairs); i++) {
        p.n = 0;
        emit(&p, KNPU_OP_CONVERT, bad_pairs[i][0], bad_pairs[i][1],
             CVT_ARGMASK_TENSOR, 6, tensor_ops);
        e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
        g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
    }
    p.n = 0;
    emit(&p, KNPU_OP_CONVERT, KNPU_DT_FP32, KNPU_DT_INT8 | 0x10,
         CVT_ARGMASK_TENSOR, 6, tensor_ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    emit(&p, KNPU_OP_CONVERT, KNPU_DT_FP32, KNPU_DT_INT8 | KNPU_FLAG_OUT_INT32,
         CVT_ARGMASK_TENSOR, 6, tensor_ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    emit(&p, KNPU_OP_CONVERT, KNPU_DT_FP32, KNPU_DT_INT8,
         CVT_ARGMASK_TENSOR, 5, tensor_ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    /* Source NONE and 6 */
    p.n = 0;
    emit(&p, KNPU_OP_CONVERT, KNPU_DT_NONE, KNPU_DT_INT8,
         CVT_ARGMASK_TENSOR, 6, tensor_ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    emit(&p, KNPU_OP_CONVERT, 6, KNPU_DT_INT8, CVT_ARGMASK_TENSOR, 6,
         tensor_ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPCODE_UNSUPPORTED);
    /* PER_CHANNEL scales as an immediate: an address without its slot */
    p.n = 0;
    emit(&p, KNPU_OP_CONVERT, KNPU_DT_INT32,
         KNPU_DT_FP32 | KNPU_FLAG_PER_CHANNEL, CVT_ARGMASK_TENSOR, 6,
         channel_ops);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CVT_SCALE);

    /* A per-channel scale of 0: found after the read, output untouched. */
    tbuf_write(&c, &sc, bad_scales, sizeof(bad_scales));
    qtest_memread(c.k.qts, a.pa + 2048, before, sizeof(before));
    p.n = 0;
    emit(&p, channel.opcode, channel.dtype, channel.flags, channel.argmask,
         6, channel_ops);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CVT_SCALE);
    qtest_memread(c.k.qts, a.pa + 2048, after, sizeof(after));
    g_assert_cmpmem(before, sizeof(before), after, sizeof(after));
    tbuf_write(&c, &sc, (const float[]){ 1, 2, 3, 4 }, 16);

    /* Misaligned in, out, scales. */
    args[0] = a.va + 2;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_ALIGNMENT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CVT_IN);
    args[0] = a.va;
    args[1] = a.va + 2049;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_ALIGNMENT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CVT_OUT);
    args[1] = a.va + 2048;
    args[2] = sc.va + 2;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_ALIGNMENT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CVT_SCALE);
    g_assert_cmphex(e.addr, ==, sc.va + 2);
    args[2] = sc.va;

    /* Read-only output; scales running off their mapping. */
    args[1] = ro.va;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, ro.va);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CVT_OUT);
    args[1] = a.va + 2048;
    args[2] = sc.va + 4088;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CVT_SCALE);

    /* An input of 200,000 elements running off its 4 KiB mapping. */
    p.n = 0;
    EMIT(&p, KNPU_OP_CONVERT, KNPU_DT_FP32, KNPU_DT_INT8, CVT_ARGMASK_TENSOR,
         0, 1, 200000, 0, 0, f32_bits(1.0f));
    args[2] = sc.va;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CVT_IN);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    cx_stop(&c);
}

void knpu_add_compute_convert_tests(void)
{
    qtest_add_func("/knpu/compute/convert", test_convert);
    qtest_add_func("/knpu/compute/convert-errors", test_convert_errors);
}
