/*
 * KNPU qtests: COMPARE and SELECT (spec section 7.4.4, v1.4) against
 * reference loops, and their invalid and hostile operands.
 *
 * The COMPARE reference compares the exact values (elem(), in double,
 * which orders every FP32, FP16, BF16, INT8 and INT32 value as the types
 * do, NaN unordered); the inputs mix random values with repeated ones
 * (equal pairs), signed zeros, infinities, NaN and the type's lowest
 * finite value. The SELECT reference copies the bytes of the chosen
 * element: the result must be identical bit for bit.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-test-compute.h"

enum { CMP_A, CMP_B, CMP_MASK, CMP_COUNT, CMP_BCOUNT };
enum { SEL_COND, SEL_X, SEL_Y, SEL_OUT, SEL_COUNT, SEL_CCOUNT, SEL_XCOUNT,
       SEL_YCOUNT };

/* Argument slots: a, b, mask; cond, x, y, out. */
#define CMP_ARGMASK 0x7
#define SEL_ARGMASK 0xf

/* NaN, -0, +0, +inf, -inf, the lowest finite value: FP32, FP16, BF16. */
static const uint32_t specials[3][6] = {
    { 0x7fc00000, 0x80000000, 0, 0x7f800000, 0xff800000, 0xff7fffff },
    { 0x7e00, 0x8000, 0, 0x7c00, 0xfc00, 0xfbff },
    { 0x7fc0, 0x8000, 0, 0x7f80, 0xff80, 0xff7f },
};

/* Element @i of @raw set to a random special value of float type @dt. */
static void set_special(Cx *c, uint32_t dt, void *raw, uint64_t i)
{
    unsigned row = dt == KNPU_DT_FP32 ? 0 : dt == KNPU_DT_FP16 ? 1 : 2;
    uint32_t bits = specials[row][g_rand_int_range(c->rand, 0, 6)];
    uint16_t h = bits;

    if (dt == KNPU_DT_FP32) {
        memcpy((uint8_t *)raw + 4 * i, &bits, 4);
    } else {
        memcpy((uint8_t *)raw + 2 * i, &h, 2);
    }
}

static bool compare_ref(uint32_t op, double x, double y)
{
    switch (op) {
    case KNPU_COMPARE_EQ:
        return x == y;
    case KNPU_COMPARE_NE:
        return x != y;
    case KNPU_COMPARE_LT:
        return x < y;
    case KNPU_COMPARE_LE:
        return x <= y;
    case KNPU_COMPARE_GT:
        return x > y;
    }
    return x >= y;
}

/*
 * One COMPARE @op of @count elements of @dt with b of @b_count: every
 * third element of a equal to its b, one in five (floats) special.
 */
static void run_compare(Cx *c, uint32_t dt, uint32_t op, uint32_t count,
                        uint32_t b_count)
{
    size_t es = dt_size(dt);
    g_autofree uint8_t *a = rand_tensor(c, dt, count);
    g_autofree uint8_t *b = rand_tensor(c, dt, b_count);
    g_autofree uint8_t *ref = g_malloc(count);
    g_autofree uint8_t *got = NULL;
    TBuf ta, tb, tmask;
    uint64_t args[3], i;
    Prog p = { .n = 0 };

    for (i = 0; i < count; i++) {
        if (i % 3 == 0) {
            memcpy(a + i * es, b + (i % b_count) * es, es);
        } else if (dt != KNPU_DT_INT8 && dt != KNPU_DT_INT32 &&
                   g_rand_int_range(c->rand, 0, 5) == 0) {
            set_special(c, dt, a, i);
        }
    }
    for (i = 0; i < b_count; i++) {
        if (dt != KNPU_DT_INT8 && dt != KNPU_DT_INT32 &&
            g_rand_int_range(c->rand, 0, 5) == 0) {
            set_special(c, dt, b, i);
        }
    }
    ta = cx_input(c, dt, count, a);
    tb = cx_input(c, dt, b_count, b);
    tmask = cx_output(c, KNPU_DT_INT8, count);
    args[0] = ta.va;
    args[1] = tb.va;
    args[2] = tmask.va;
    EMIT(&p, KNPU_OP_COMPARE, dt, op, CMP_ARGMASK, 0, 1, 2, count, b_count);
    cx_run(c, &p, args, 3);
    for (i = 0; i < count; i++) {
        ref[i] = compare_ref(op, elem(dt, a, i), elem(dt, b, i % b_count));
    }
    got = tbuf_read(c, &tmask, count);
    g_assert_cmpmem(got, count, ref, count);
}

static void test_compare(void)
{
    unsigned i, op;
    Cx c;

    cx_start(&c);
    for (i = 0; i < G_N_ELEMENTS(all_dts); i++) {
        for (op = KNPU_COMPARE_EQ; op <= KNPU_COMPARE_GE; op++) {
            uint32_t b_count = g_rand_int_range(c.rand, 1, 40);

            run_compare(&c, all_dts[i], op,
                        b_count * g_rand_int_range(c.rand, 1, 30), b_count);
            run_compare(&c, all_dts[i], op, g_rand_int_range(c.rand, 1, 500),
                        1);
        }
    }
    /* A padded attention mask: 8 x 128 int32 values against 0. */
    run_compare(&c, KNPU_DT_INT32, KNPU_COMPARE_EQ, 8 * 128, 1);
    cx_stop(&c);
}

/*
 * One SELECT of @count elements of @dt: random cond bytes (0, 1 and other
 * non-zero values), x and y random, FP32 ones with a NaN payload.
 */
static void run_select(Cx *c, uint32_t dt, uint32_t count, uint32_t cc,
                       uint32_t xc, uint32_t yc)
{
    size_t es = dt_size(dt);
    g_autofree uint8_t *cond = g_malloc(cc);
    g_autofree uint8_t *x = rand_tensor(c, dt, xc);
    g_autofree uint8_t *y = rand_tensor(c, dt, yc);
    g_autofree uint8_t *ref = g_malloc((uint64_t)count * es);
    g_autofree uint8_t *got = NULL;
    const uint32_t payload_nan = 0x7fc01234;
    TBuf tcond, tx, ty, tout;
    uint64_t args[4], i;
    Prog p = { .n = 0 };

    for (i = 0; i < cc; i++) {
        static const uint8_t values[] = { 0, 1, 0, 1, 2, 0x80, 0xff };

        cond[i] = values[g_rand_int_range(c->rand, 0, sizeof(values))];
    }
    if (dt == KNPU_DT_FP32) {
        memcpy(y, &payload_nan, 4);
    }
    tcond = cx_input(c, KNPU_DT_INT8, cc, cond);
    tx = cx_input(c, dt, xc, x);
    ty = cx_input(c, dt, yc, y);
    tout = cx_output(c, dt, count);
    args[0] = tcond.va;
    args[1] = tx.va;
    args[2] = ty.va;
    args[3] = tout.va;
    EMIT(&p, KNPU_OP_SELECT, dt, 0, SEL_ARGMASK, 0, 1, 2, 3, count, cc, xc,
         yc);
    cx_run(c, &p, args, 4);
    for (i = 0; i < count; i++) {
        const uint8_t *src = cond[i % cc] ? x + (i % xc) * es :
                                            y + (i % yc) * es;

        memcpy(ref + i * es, src, es);
    }
    got = tbuf_read(c, &tout, (uint64_t)count * es);
    g_assert_cmpmem(got, (uint64_t)count * es, ref, (uint64_t)count * es);
}

static void test_select(void)
{
    unsigned i;
    Cx c;

    cx_start(&c);
    for (i = 0; i < G_N_ELEMENTS(all_dts); i++) {
        uint32_t cc = g_rand_int_range(c.rand, 1, 20);
        uint32_t xc = g_rand_int_range(c.rand, 1, 20);

        /* Every count its own divisor of count = cc * xc * k. */
        run_select(&c, all_dts[i], cc * xc * 3, cc, xc, 1);
        run_select(&c, all_dts[i], cc * xc * 3, cc * xc * 3, 1, cc);
        run_select(&c, all_dts[i], 60, 1, 60, 60);
    }
    /* masked_fill of a 2 x 4 x 16 x 16 attention score by a full mask. */
    run_select(&c, KNPU_DT_FP32, 2 * 4 * 16 * 16, 2 * 4 * 16 * 16, 1,
               2 * 4 * 16 * 16);
    cx_stop(&c);
}

/* A valid FP32 COMPARE of 16 elements with b of 4. */
static const BadOperands compare_bad[] = {
    { 1, { CMP_COUNT }, { 0 }, KNPU_ERR_OPERAND_INVALID, CMP_COUNT },
    { 1, { CMP_BCOUNT }, { 0 }, KNPU_ERR_OPERAND_INVALID, CMP_BCOUNT },
    { 1, { CMP_BCOUNT }, { 5 }, KNPU_ERR_OPERAND_INVALID, CMP_BCOUNT },
    /* 2^24 + 1 FP32 (4 bytes past 64 MiB) */
    { 2, { CMP_COUNT, CMP_BCOUNT }, { (1u << 24) + 1, 1 },
      KNPU_ERR_OPERAND_INVALID, CMP_A },
    /* a and b of 2^24 FP32 (64 MiB each, allowed) run off their pages */
    { 2, { CMP_COUNT, CMP_BCOUNT }, { 1u << 24, 1u << 24 },
      KNPU_ERR_MMU_FAULT, CMP_A },
    /* 2^26 + 1 elements: a too large before the 1-byte mask */
    { 2, { CMP_COUNT, CMP_BCOUNT }, { (1u << 26) + 1, 1 },
      KNPU_ERR_OPERAND_INVALID, CMP_A },
    { 1, { CMP_MASK }, { 7 }, KNPU_ERR_ARG_INDEX_INVALID, CMP_MASK },
};

/* A valid FP32 SELECT of 16 elements: cond 16, x 4, y 1. */
static const BadOperands select_bad[] = {
    { 1, { SEL_COUNT }, { 0 }, KNPU_ERR_OPERAND_INVALID, SEL_COUNT },
    { 1, { SEL_CCOUNT }, { 0 }, KNPU_ERR_OPERAND_INVALID, SEL_CCOUNT },
    { 1, { SEL_CCOUNT }, { 3 }, KNPU_ERR_OPERAND_INVALID, SEL_CCOUNT },
    { 1, { SEL_XCOUNT }, { 0 }, KNPU_ERR_OPERAND_INVALID, SEL_XCOUNT },
    { 1, { SEL_XCOUNT }, { 32 }, KNPU_ERR_OPERAND_INVALID, SEL_XCOUNT },
    { 1, { SEL_YCOUNT }, { 0 }, KNPU_ERR_OPERAND_INVALID, SEL_YCOUNT },
    { 1, { SEL_YCOUNT }, { 6 }, KNPU_ERR_OPERAND_INVALID, SEL_YCOUNT },
    /* cond of 2^26 + 4 bytes, past 64 MiB (x_count 4 still divides) */
    { 2, { SEL_COUNT, SEL_CCOUNT }, { (1u << 26) + 4, (1u << 26) + 4 },
      KNPU_ERR_OPERAND_INVALID, SEL_COND },
    /* x of 2^24 + 1 FP32 */
    { 3, { SEL_COUNT, SEL_CCOUNT, SEL_XCOUNT },
      { (1u << 24) + 1, 1, (1u << 24) + 1 }, KNPU_ERR_OPERAND_INVALID,
      SEL_X },
    /* out of 2^24 + 1 FP32, the inputs scalars */
    { 3, { SEL_COUNT, SEL_CCOUNT, SEL_XCOUNT }, { (1u << 24) + 1, 1, 1 },
      KNPU_ERR_OPERAND_INVALID, SEL_OUT },
    /* a 2^24-byte cond runs off its page */
    { 2, { SEL_COUNT, SEL_CCOUNT }, { 1u << 24, 1u << 24 },
      KNPU_ERR_MMU_FAULT, SEL_COND },
    { 1, { SEL_OUT }, { 9 }, KNPU_ERR_ARG_INDEX_INVALID, SEL_OUT },
};

/* Run @p, which must fail with @code at @operand; @out untouched. */
static Err run_bad_untouched(Cx *c, const Prog *p, const uint64_t *args,
                             unsigned nargs, const TBuf *out, uint32_t code,
                             unsigned operand)
{
    uint8_t before[64], after[64];
    Err e;

    qtest_memread(c->k.qts, out->pa, before, sizeof(before));
    e = cx_run_bad(c, p, args, nargs, code);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, operand);
    qtest_memread(c->k.qts, out->pa, after, sizeof(after));
    g_assert_cmpmem(before, sizeof(before), after, sizeof(after));
    return e;
}

static void test_compare_errors(void)
{
    const uint32_t ops[] = { 0, 1, 2, 16, 4 };
    const Insn valid = { KNPU_OP_COMPARE, KNPU_DT_FP32, KNPU_COMPARE_LT,
                         CMP_ARGMASK, 5, ops };
    const float zeros[16] = { 0 };
    g_autofree uint8_t *got = NULL;
    uint8_t canary[64];
    TBuf ta, tb, tmask, ro;
    uint64_t args[3];
    Prog p;
    Err e;
    Cx c;

    cx_start(&c);
    ta = cx_input(&c, KNPU_DT_FP32, 16, zeros);
    tb = cx_input(&c, KNPU_DT_FP32, 16, zeros);
    tmask = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    args[0] = ta.va;
    args[1] = tb.va;
    args[2] = tmask.va;
    memset(canary, 0x5a, sizeof(canary));
    tbuf_write(&c, &tmask, canary, sizeof(canary));

    cx_run_bad_operands(&c, &valid, args, 3, compare_bad,
                        G_N_ELEMENTS(compare_bad));

    /* OP 6 and 15: invalid, operand 0xff, nothing written. */
    p.n = 0;
    emit(&p, KNPU_OP_COMPARE, KNPU_DT_FP32, 6, CMP_ARGMASK, 5, ops);
    run_bad_untouched(&c, &p, args, 3, &tmask, KNPU_ERR_OPERAND_INVALID,
                      KNPU_ERR_OPERAND_NONE);
    p.n = 0;
    emit(&p, KNPU_OP_COMPARE, KNPU_DT_FP32, 15, CMP_ARGMASK, 5, ops);
    run_bad_untouched(&c, &p, args, 3, &tmask, KNPU_ERR_OPERAND_INVALID,
                      KNPU_ERR_OPERAND_NONE);
    /* Undefined flag bits; wrong nops; dtype NONE and 6. */
    p.n = 0;
    emit(&p, KNPU_OP_COMPARE, KNPU_DT_FP32, 0x10, CMP_ARGMASK, 5, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    emit(&p, KNPU_OP_COMPARE, KNPU_DT_FP32, 0, CMP_ARGMASK, 4, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    emit(&p, KNPU_OP_COMPARE, KNPU_DT_NONE, 0, CMP_ARGMASK, 5, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    emit(&p, KNPU_OP_COMPARE, 6, 0, CMP_ARGMASK, 5, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPCODE_UNSUPPORTED);
    /* b as an immediate: an address without its slot. */
    p.n = 0;
    emit(&p, KNPU_OP_COMPARE, KNPU_DT_FP32, 0, 0x5, 5, ops);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CMP_B);

    /* Misaligned a and b; the mask may be at any byte. */
    p.n = 0;
    emit(&p, KNPU_OP_COMPARE, KNPU_DT_FP32, 0, CMP_ARGMASK, 5, ops);
    args[0] = ta.va + 2;
    e = run_bad_untouched(&c, &p, args, 3, &tmask, KNPU_ERR_ALIGNMENT, CMP_A);
    g_assert_cmphex(e.addr, ==, ta.va + 2);
    args[0] = ta.va;
    args[1] = tb.va + 1;
    e = run_bad_untouched(&c, &p, args, 3, &tmask, KNPU_ERR_ALIGNMENT, CMP_B);
    g_assert_cmphex(e.addr, ==, tb.va + 1);
    args[1] = tb.va;
    args[2] = tmask.va + 1;
    cx_run(&c, &p, args, 3);
    got = tbuf_read(&c, &tmask, 17);
    g_assert_cmpuint(got[0], ==, 0x5a);
    g_assert_cmpuint(got[1], ==, 1);     /* 0 == 0 */
    tbuf_write(&c, &tmask, canary, sizeof(canary));
    args[2] = tmask.va;

    /* Read-only and unmapped mask: a write fault at the mask. */
    args[2] = ro.va;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, CMP_MASK);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmphex(e.addr, ==, ro.va);
    args[2] = tmask.va;
    /* Unmapped b: a read fault, nothing written. */
    args[1] = 0x7fff0000;
    e = run_bad_untouched(&c, &p, args, 3, &tmask, KNPU_ERR_MMU_FAULT, CMP_B);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    cx_stop(&c);
}

static void test_select_errors(void)
{
    const uint32_t ops[] = { 0, 1, 2, 3, 16, 16, 4, 1 };
    const Insn valid = { KNPU_OP_SELECT, KNPU_DT_FP32, 0, SEL_ARGMASK, 8,
                         ops };
    const float zeros[16] = { 0 };
    const uint8_t ones[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    uint8_t canary[64];
    TBuf tcond, tx, ty, tout, ro;
    uint64_t args[4];
    Prog p;
    Err e;
    Cx c;

    cx_start(&c);
    tcond = cx_input(&c, KNPU_DT_INT8, 16, ones);
    tx = cx_input(&c, KNPU_DT_FP32, 16, zeros);
    ty = cx_input(&c, KNPU_DT_FP32, 16, zeros);
    tout = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    args[0] = tcond.va;
    args[1] = tx.va;
    args[2] = ty.va;
    args[3] = tout.va;
    memset(canary, 0x5a, sizeof(canary));
    tbuf_write(&c, &tout, canary, sizeof(canary));

    cx_run_bad_operands(&c, &valid, args, 4, select_bad,
                        G_N_ELEMENTS(select_bad));

    /* Any flag bit is undefined; wrong nops; dtype NONE and 6. */
    p.n = 0;
    emit(&p, KNPU_OP_SELECT, KNPU_DT_FP32, 0x1, SEL_ARGMASK, 8, ops);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    emit(&p, KNPU_OP_SELECT, KNPU_DT_FP32, 0, SEL_ARGMASK, 7, ops);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    emit(&p, KNPU_OP_SELECT, KNPU_DT_NONE, 0, SEL_ARGMASK, 8, ops);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    emit(&p, KNPU_OP_SELECT, 6, 0, SEL_ARGMASK, 8, ops);
    cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPCODE_UNSUPPORTED);
    /* out as an immediate: an address without its slot. */
    p.n = 0;
    emit(&p, KNPU_OP_SELECT, KNPU_DT_FP32, 0, 0x7, 8, ops);
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, SEL_OUT);

    /* Misaligned x, y, out; cond may be at any byte. */
    p.n = 0;
    emit(&p, KNPU_OP_SELECT, KNPU_DT_FP32, 0, SEL_ARGMASK, 8, ops);
    args[1] = tx.va + 2;
    e = run_bad_untouched(&c, &p, args, 4, &tout, KNPU_ERR_ALIGNMENT, SEL_X);
    g_assert_cmphex(e.addr, ==, tx.va + 2);
    args[1] = tx.va;
    args[2] = ty.va + 1;
    run_bad_untouched(&c, &p, args, 4, &tout, KNPU_ERR_ALIGNMENT, SEL_Y);
    args[2] = ty.va;
    args[3] = tout.va + 2;
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_ALIGNMENT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, SEL_OUT);
    args[3] = tout.va;
    args[0] = tcond.va + 1;
    cx_run(&c, &p, args, 4);
    args[0] = tcond.va;
    tbuf_write(&c, &tout, canary, sizeof(canary));

    /* Unmapped cond, y: read faults with nothing written. */
    args[0] = 0x7fff0000;
    e = run_bad_untouched(&c, &p, args, 4, &tout, KNPU_ERR_MMU_FAULT,
                          SEL_COND);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    args[0] = tcond.va;
    args[2] = 0x7fff0000;
    run_bad_untouched(&c, &p, args, 4, &tout, KNPU_ERR_MMU_FAULT, SEL_Y);
    args[2] = ty.va;
    /* Read-only out: a write fault at out. */
    args[3] = ro.va;
    e = cx_run_bad(&c, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, SEL_OUT);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmphex(e.addr, ==, ro.va);
    cx_stop(&c);
}

void knpu_add_compute_mask_tests(void)
{
    qtest_add_func("/knpu/compute/compare", test_compare);
    qtest_add_func("/knpu/compute/select", test_select);
    qtest_add_func("/knpu/compute/compare-errors", test_compare_errors);
    qtest_add_func("/knpu/compute/select-errors", test_select_errors);
}
