/*
 * KNPU qtests: REDUCE and TRANSPOSE (spec section 7.4) against reference
 * loops, and their invalid operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "hw/misc/knpu/tests/knpu-test-compute.h"

/* One REDUCE of @dt and @op over @outer×@length×@inner, checked. */
static void run_reduce(Cx *c, uint32_t dt, uint32_t op, uint32_t outer,
                       uint32_t length, uint32_t inner)
{
    uint64_t n_in = (uint64_t)outer * length * inner;
    g_autofree void *x = rand_tensor(c, dt, n_in);
    g_autofree double *ref = g_new(double, outer * inner);
    g_autofree void *out = NULL;
    TBuf tx = cx_input(c, dt, n_in, x);
    TBuf to = cx_output(c, dt, outer * inner);
    uint64_t args[2] = { tx.va, to.va };
    Prog p = { .n = 0 };
    unsigned o, l, i;

    EMIT(&p, KNPU_OP_REDUCE, dt, op, 3, 0, 1, outer, length, inner);
    cx_run(c, &p, args, 2);
    for (o = 0; o < outer; o++) {
        for (i = 0; i < inner; i++) {
            double acc = elem(dt, x, (uint64_t)o * length * inner + i);

            for (l = 1; l < length; l++) {
                double v = elem(dt, x, ((uint64_t)o * length + l) * inner +
                                i);

                acc = op == KNPU_REDUCE_MAX ? MAX(acc, v) :
                      op == KNPU_REDUCE_MIN ? MIN(acc, v) : acc + v;
            }
            if (op == KNPU_REDUCE_MEAN) {
                acc /= length;
                if (dt == KNPU_DT_INT32) {
                    acc = rne(acc);
                }
            }
            ref[o * inner + i] = acc;
        }
    }
    out = tbuf_read(c, &to, outer * inner * dt_size(dt));
    check_close(dt, out, ref, outer * inner, "reduce");
}

static void test_reduce(void)
{
    static const uint32_t dts[] = {
        KNPU_DT_FP32, KNPU_DT_FP16, KNPU_DT_BF16, KNPU_DT_INT32,
    };
    /*
     * outer, length, inner: the innermost dimension reduced (inner 1) or
     * not, windows wider than oneDNN's vectors and blocks, a length of 1
     */
    static const uint32_t shapes[][3] = {
        { 3, 5, 4 }, { 6, 37, 1 }, { 2, 300, 24 }, { 1, 7, 1 }, { 4, 1, 3 },
        { 5, 1, 1 },
    };
    Cx c;
    unsigned d, op, sh;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(dts); d++) {
        for (op = KNPU_REDUCE_SUM; op <= KNPU_REDUCE_MIN; op++) {
            for (sh = 0; sh < ARRAY_SIZE(shapes); sh++) {
                run_reduce(&c, dts[d], op, shapes[sh][0], shapes[sh][1],
                           shapes[sh][2]);
            }
        }
    }
    cx_stop(&c);
}

static void test_transpose(void)
{
    const unsigned batch = 2, rows = 3, cols = 5, n = 2 * 3 * 5;
    Cx c;
    unsigned d, b, r, k;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(all_dts); d++) {
        uint32_t dt = all_dts[d];
        size_t es = dt_size(dt);
        g_autofree uint8_t *x = rand_tensor(&c, dt, n);
        g_autofree uint8_t *out = NULL;
        TBuf tx, to;
        uint64_t args[2];
        Prog p = { .n = 0 };

        if (dt == KNPU_DT_FP16 || dt == KNPU_DT_BF16) {
            /* Elements move bit for bit: a NaN keeps its payload. */
            uint16_t nan = dt == KNPU_DT_FP16 ? 0x7d23 : 0x7f91;

            memcpy(x + 2 * 7, &nan, 2);
        }
        tx = cx_input(&c, dt, n, x);
        to = cx_output(&c, dt, n);
        args[0] = tx.va;
        args[1] = to.va;
        EMIT(&p, KNPU_OP_TRANSPOSE, dt, 0, 3, 0, 1, batch, rows, cols);
        cx_run(&c, &p, args, 2);
        out = tbuf_read(&c, &to, n * es);
        for (b = 0; b < batch; b++) {
            for (r = 0; r < rows; r++) {
                for (k = 0; k < cols; k++) {
                    g_assert_cmpmem(out + ((b * cols + k) * rows + r) * es,
                                    es, x + ((b * rows + r) * cols + k) * es,
                                    es);
                }
            }
        }
    }
    cx_stop(&c);
}

static void test_reduce_errors(void)
{
    Cx c;
    TBuf a;
    uint64_t args[2];
    Prog p;
    Err e;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = args[1] = a.va;

    p.n = 0;
    EMIT(&p, KNPU_OP_REDUCE, KNPU_DT_FP32, 0, 3, 0, 1, 2, 0, 2);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 3);
    p.n = 0;
    EMIT(&p, KNPU_OP_REDUCE, KNPU_DT_INT8, 0, 3, 0, 1, 2, 2, 2);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    EMIT(&p, KNPU_OP_REDUCE, KNPU_DT_FP32, 4, 3, 0, 1, 2, 2, 2);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    /* 2^96 elements: the 64-bit overflow check catches it */
    p.n = 0;
    EMIT(&p, KNPU_OP_REDUCE, KNPU_DT_FP32, 0, 3, 0, 1, 0xffffffff,
         0xffffffff, 0xffffffff);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_TRANSPOSE, KNPU_DT_FP32, 0, 3, 0, 1, 0xffffffff,
         0xffffffff, 0xffffffff);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_TRANSPOSE, KNPU_DT_NONE, 0, 3, 0, 1, 1, 1, 1);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    EMIT(&p, KNPU_OP_TRANSPOSE, KNPU_DT_INT8, 0, 3, 0, 1, 1, 0, 1);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 3);
    /* Misaligned INT32 input. */
    args[0] = a.va + 2;
    p.n = 0;
    EMIT(&p, KNPU_OP_TRANSPOSE, KNPU_DT_INT32, 0, 3, 0, 1, 1, 2, 2);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_ALIGNMENT);
    g_assert_cmphex(e.addr, ==, a.va + 2);
    cx_stop(&c);
}

void knpu_add_compute_reduce_tests(void)
{
    qtest_add_func("/knpu/compute/reduce", test_reduce);
    qtest_add_func("/knpu/compute/transpose", test_transpose);
    qtest_add_func("/knpu/compute/reduce-errors", test_reduce_errors);
}
