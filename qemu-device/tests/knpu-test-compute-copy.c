/*
 * KNPU qtests: COPY_STRIDED (spec section 7.4.1, v1.1) against a reference
 * loop, bit for bit, and its invalid and hostile operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-test-compute.h"

#define SENTINEL 0x5a

typedef struct Copy {
    uint32_t size[4], src_stride[4], dst_stride[4];
} Copy;

static uint64_t span(const uint32_t *size, const uint32_t *stride)
{
    uint64_t s = 1;
    unsigned d;

    for (d = 0; d < 4; d++) {
        s += (uint64_t)(size[d] - 1) * stride[d];
    }
    return s;
}

static void emit_copy(Prog *p, uint32_t dt, const Copy *v)
{
    EMIT(p, KNPU_OP_COPY_STRIDED, dt, 0, 3, 0, 1,
         v->size[0], v->size[1], v->size[2], v->size[3],
         v->src_stride[0], v->src_stride[1], v->src_stride[2],
         v->src_stride[3], v->dst_stride[0], v->dst_stride[1],
         v->dst_stride[2], v->dst_stride[3]);
}

/*
 * Copy random bytes (any bit pattern: NaN payloads, subnormals) with @v
 * into a destination prefilled with SENTINEL; every byte of the
 * destination span must be the reference's: copied, or left alone.
 */
static void check_copy(Cx *c, uint32_t dt, const Copy *v)
{
    size_t es = dt_size(dt);
    uint64_t src_n = span(v->size, v->src_stride);
    uint64_t dst_n = span(v->size, v->dst_stride);
    g_autofree uint8_t *src = g_malloc(src_n * es);
    g_autofree uint8_t *want = g_malloc(dst_n * es);
    g_autofree uint8_t *got = NULL;
    uint64_t args[2], i;
    uint32_t i0, i1, i2, i3;
    Prog p = { .n = 0 };
    TBuf ts, td;

    for (i = 0; i < src_n * es; i++) {
        src[i] = g_rand_int(c->rand);
    }
    memset(want, SENTINEL, dst_n * es);
    for (i0 = 0; i0 < v->size[0]; i0++) {
        for (i1 = 0; i1 < v->size[1]; i1++) {
            for (i2 = 0; i2 < v->size[2]; i2++) {
                for (i3 = 0; i3 < v->size[3]; i3++) {
                    uint64_t s = (uint64_t)i0 * v->src_stride[0] +
                                 (uint64_t)i1 * v->src_stride[1] +
                                 (uint64_t)i2 * v->src_stride[2] +
                                 (uint64_t)i3 * v->src_stride[3];
                    uint64_t d = (uint64_t)i0 * v->dst_stride[0] +
                                 (uint64_t)i1 * v->dst_stride[1] +
                                 (uint64_t)i2 * v->dst_stride[2] +
                                 (uint64_t)i3 * v->dst_stride[3];

                    memcpy(want + d * es, src + s * es, es);
                }
            }
        }
    }
    ts = cx_input(c, dt, src_n, src);
    td = cx_output(c, dt, dst_n);
    qtest_memset(c->k.qts, td.pa, SENTINEL, dst_n * es);
    args[0] = td.va;
    args[1] = ts.va;
    emit_copy(&p, dt, v);
    cx_run(c, &p, args, 2);
    got = tbuf_read(c, &td, dst_n * es);
    for (i = 0; i < dst_n * es; i++) {
        if (got[i] != want[i]) {
            g_test_message("copy dtype %u: byte %" PRIu64 " is 0x%02x, "
                           "want 0x%02x", dt, i, got[i], want[i]);
            g_assert_cmphex(got[i], ==, want[i]);
        }
    }
}

static void test_copy_strided(void)
{
    static const Copy cases[] = {
        /* permutation (0, 2, 3, 1) of a dense 2×3×4×5 tensor */
        { { 2, 4, 5, 3 }, { 60, 5, 1, 20 }, { 60, 15, 3, 1 } },
        /* Concat along axis 1: 3 of 8 channels at channel 2 */
        { { 2, 3, 4, 5 }, { 60, 20, 5, 1 }, { 160, 20, 5, 1 } },
        /* Slice with steps: every other row, columns 1..3 */
        { { 1, 2, 3, 3 }, { 1, 60, 10, 1 }, { 1, 9, 3, 1 } },
        /* broadcast (Expand): one row to 6 rows, a gap after each */
        { { 1, 1, 6, 7 }, { 1, 1, 0, 1 }, { 1, 1, 9, 1 } },
        /* channel broadcast (a squeeze-and-excitation scale), odd and long */
        { { 1, 2, 3, 13 }, { 1, 3, 1, 0 }, { 1, 39, 13, 1 } },
        { { 1, 1, 2, 1000 }, { 1, 1, 1, 0 }, { 1, 1, 1000, 1 } },
        /* a single element, and a reversed-looking column walk */
        { { 1, 1, 1, 1 }, { 0, 0, 0, 0 }, { 0, 0, 0, 0 } },
        { { 1, 1, 5, 4 }, { 1, 1, 1, 5 }, { 1, 1, 1, 5 } },
    };
    Cx c;
    unsigned d, i;

    cx_start(&c);
    for (d = 0; d < ARRAY_SIZE(all_dts); d++) {
        for (i = 0; i < ARRAY_SIZE(cases); i++) {
            check_copy(&c, all_dts[d], &cases[i]);
        }
    }
    cx_stop(&c);
}

static void test_copy_strided_errors(void)
{
    Copy ok = { { 1, 1, 4, 4 }, { 1, 1, 4, 1 }, { 1, 1, 4, 1 } }, v;
    TBuf a, ro, half;
    uint8_t after[16];
    uint64_t args[2];
    Prog p;
    Err e;
    Cx c;
    unsigned d;

    cx_start(&c);
    a = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    half = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = a.va;
    args[1] = a.va;

    /* A zero size, at its operand. */
    for (d = 0; d < 4; d++) {
        v = ok;
        v.size[d] = 0;
        p.n = 0;
        emit_copy(&p, KNPU_DT_FP32, &v);
        e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
        g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2 + d);
    }
    /*
     * Sizes whose product overflows 64 bits, at the size where it does
     * (the third); their spans would overflow too.
     */
    v = (Copy){ { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff },
                { 1, 1, 1, 1 },
                { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff } };
    p.n = 0;
    emit_copy(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 4);
    /* More elements than the device stages (2^40), nothing allocated. */
    v = (Copy){ { 1024, 1024, 1024, 1024 }, { 0, 0, 0, 0 },
                { 0, 0, 0, 0 } };
    p.n = 0;
    emit_copy(&p, KNPU_DT_INT8, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 2);
    /* A destination and a source span past 64 MiB. */
    v = (Copy){ { 1, 1, 1, 2 }, { 1, 1, 1, 1 }, { 1, 1, 1, 1u << 24 } };
    p.n = 0;
    emit_copy(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);
    v = (Copy){ { 1, 1, 1, 2 }, { 1, 1, 1, 1u << 24 }, { 1, 1, 1, 1 } };
    p.n = 0;
    emit_copy(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    /* dtype NONE and 6; a flag; the wrong operand count. */
    p.n = 0;
    emit_copy(&p, KNPU_DT_NONE, &ok);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    emit_copy(&p, 6, &ok);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    EMIT(&p, KNPU_OP_COPY_STRIDED, KNPU_DT_FP32, 1, 3, 0, 1,
         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    EMIT(&p, KNPU_OP_COPY_STRIDED, KNPU_DT_FP32, 0, 3, 0, 1, 1, 1, 1, 1);
    cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    /* An immediate address. */
    p.n = 0;
    EMIT(&p, KNPU_OP_COPY_STRIDED, KNPU_DT_FP32, 0, 2, 0, 1,
         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);

    /* Misaligned destination. */
    args[0] = a.va + 2;
    p.n = 0;
    emit_copy(&p, KNPU_DT_FP32, &ok);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_ALIGNMENT);
    g_assert_cmphex(e.addr, ==, a.va + 2);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);

    /* Read-only destination. */
    args[0] = ro.va;
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, ro.va);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_PERMISSION);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);

    /* Unmapped source span end. */
    args[0] = a.va;
    args[1] = half.va + 4096 - 16;
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, half.va + 4096);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);

    /* Destination rows running off the mapping: the next page intact. */
    qtest_memset(c.k.qts, half.pa + 4096, SENTINEL, sizeof(after));
    args[0] = half.va + 4096 - 32;
    args[1] = a.va;
    v = (Copy){ { 1, 1, 4, 4 }, { 1, 1, 4, 1 }, { 1, 1, 8, 1 } };
    p.n = 0;
    emit_copy(&p, KNPU_DT_FP32, &v);
    e = cx_run_bad(&c, &p, args, 2, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, half.va + 4096);
    qtest_memread(c.k.qts, half.pa + 4096, after, sizeof(after));
    g_assert_cmphex(after[0], ==, SENTINEL);
    g_assert_cmphex(after[15], ==, SENTINEL);
    cx_stop(&c);
}

void knpu_add_compute_copy_tests(void)
{
    qtest_add_func("/knpu/compute/copy-strided", test_copy_strided);
    qtest_add_func("/knpu/compute/copy-strided-errors",
                   test_copy_strided_errors);
}
