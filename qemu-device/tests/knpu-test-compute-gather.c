/*
 * KNPU qtests: GATHER (spec section 7.4.3, v1.3) against a reference
 * loop, and its invalid and hostile operands.
 *
 * The reference copies the bytes of row r(i) of the table to row i of the
 * output, r(i) = index, or index + rows for a negative one: the result
 * must be identical bit for bit, for every data type and both index
 * widths.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-test-compute.h"

enum { GA_TABLE, GA_INDICES, GA_OUT, GA_ROWS, GA_ROW_ELEMS, GA_COUNT };

/* Argument slots of the tests: table, indices, out. */
#define GA_ARGMASK 0x7

/* @count random indices in [-rows, rows), as INT32 or INT64. */
static void *rand_indices(Cx *c, bool int64, uint32_t rows, uint64_t count)
{
    uint8_t *raw = g_malloc(count * (int64 ? 8 : 4));
    uint64_t i;

    for (i = 0; i < count; i++) {
        int64_t idx = g_rand_int_range(c->rand, -(int32_t)rows, rows);

        if (int64) {
            memcpy(raw + 8 * i, &idx, 8);
        } else {
            int32_t idx32 = idx;

            memcpy(raw + 4 * i, &idx32, 4);
        }
    }
    return raw;
}

/* A read-only buffer holding @bytes of @data. */
static TBuf input_bytes(Cx *c, const void *data, uint64_t bytes)
{
    TBuf b = cx_buf(c, bytes, KNPU_PTE_READ);

    tbuf_write(c, &b, data, bytes);
    return b;
}

static int64_t index_at(const void *raw, bool int64, uint64_t i)
{
    int64_t v64;
    int32_t v32;

    if (int64) {
        memcpy(&v64, (const uint8_t *)raw + 8 * i, 8);
        return v64;
    }
    memcpy(&v32, (const uint8_t *)raw + 4 * i, 4);
    return v32;
}

/*
 * One GATHER of @count rows of a rows x row_elems table of @dt by random
 * indices (the first and last rows by index 0 and -1 included), checked
 * byte for byte.
 */
static void run_gather(Cx *c, uint32_t dt, bool int64, uint32_t rows,
                       uint32_t row_elems, uint32_t count)
{
    size_t row_bytes = (size_t)row_elems * dt_size(dt);
    g_autofree void *table = rand_tensor(c, dt, (uint64_t)rows * row_elems);
    g_autofree void *idx = rand_indices(c, int64, rows, count);
    g_autofree uint8_t *ref = g_malloc(count * row_bytes);
    g_autofree uint8_t *got = NULL;
    TBuf ttable, tidx, tout;
    uint64_t args[3], i;
    Prog p = { .n = 0 };

    if (count >= 2) {
        int64_t first = 0, last = -1;

        if (int64) {
            memcpy(idx, &first, 8);
            memcpy((uint8_t *)idx + 8, &last, 8);
        } else {
            memcpy(idx, &(int32_t){ 0 }, 4);
            memcpy((uint8_t *)idx + 4, &(int32_t){ -1 }, 4);
        }
    }
    ttable = cx_input(c, dt, (uint64_t)rows * row_elems, table);
    tidx = input_bytes(c, idx, count * (int64 ? 8 : 4));
    tout = cx_output(c, dt, (uint64_t)count * row_elems);
    args[0] = ttable.va;
    args[1] = tidx.va;
    args[2] = tout.va;
    EMIT(&p, KNPU_OP_GATHER, dt, int64 ? KNPU_FLAG_GATHER_INDEX_INT64 : 0,
         GA_ARGMASK, 0, 1, 2, rows, row_elems, count);
    cx_run(c, &p, args, 3);
    for (i = 0; i < count; i++) {
        int64_t v = index_at(idx, int64, i);
        uint64_t r = v < 0 ? v + rows : v;

        memcpy(ref + i * row_bytes, (uint8_t *)table + r * row_bytes,
               row_bytes);
    }
    got = tbuf_read(c, &tout, count * row_bytes);
    g_assert_cmpmem(got, count * row_bytes, ref, count * row_bytes);
}

static void test_gather(void)
{
    unsigned i;
    Cx c;

    cx_start(&c);
    for (i = 0; i < G_N_ELEMENTS(all_dts); i++) {
        run_gather(&c, all_dts[i], false, g_rand_int_range(c.rand, 1, 50),
                   g_rand_int_range(c.rand, 1, 40),
                   g_rand_int_range(c.rand, 1, 60));
        run_gather(&c, all_dts[i], true, g_rand_int_range(c.rand, 1, 50),
                   g_rand_int_range(c.rand, 1, 40),
                   g_rand_int_range(c.rand, 1, 60));
    }
    /* A one-row table; one index; an embedding of a batch of tokens. */
    run_gather(&c, KNPU_DT_FP32, true, 1, 7, 5);
    run_gather(&c, KNPU_DT_INT8, false, 9, 3, 1);
    run_gather(&c, KNPU_DT_FP32, true, 1000, 64, 2 * 128);
    /* Rows of an odd byte count, thousands of them. */
    run_gather(&c, KNPU_DT_INT8, false, 17, 3, 5000);
    cx_stop(&c);
}

/*
 * A table of 2^20 rows of 256 bytes (256 MiB, past the 64 MiB staging
 * limit) of which only the first page is mapped: the device reads only
 * the rows the indices select.
 */
static void test_gather_large_table(void)
{
    const uint32_t rows = 1u << 20, row_elems = 64;
    g_autofree float *table = g_new(float, 16 * row_elems);
    const int64_t idx[4] = { 3, 0, 15, 3 };
    g_autofree float *got = NULL;
    TBuf ttable, tidx, tout;
    uint64_t args[3];
    unsigned i;
    Prog p = { .n = 0 };
    Cx c;

    cx_start(&c);
    for (i = 0; i < 16 * row_elems; i++) {
        table[i] = i;
    }
    ttable = cx_input(&c, KNPU_DT_FP32, 16 * row_elems, table);
    tidx = input_bytes(&c, idx, sizeof(idx));
    tout = cx_output(&c, KNPU_DT_FP32, 4 * row_elems);
    args[0] = ttable.va;
    args[1] = tidx.va;
    args[2] = tout.va;
    EMIT(&p, KNPU_OP_GATHER, KNPU_DT_FP32, KNPU_FLAG_GATHER_INDEX_INT64,
         GA_ARGMASK, 0, 1, 2, rows, row_elems, 4);
    cx_run(&c, &p, args, 3);
    got = tbuf_read(&c, &tout, 4 * row_elems * 4);
    for (i = 0; i < 4 * row_elems; i++) {
        g_assert_cmpfloat(got[i], ==, idx[i / row_elems] * row_elems +
                                      i % row_elems);
    }
    cx_stop(&c);
}

/* A valid FP32 GATHER of 4 rows x 4 elements by 2 INT32 indices. */
static const BadOperands gather_bad[] = {
    { 1, { GA_ROWS }, { 0 }, KNPU_ERR_OPERAND_INVALID, GA_ROWS },
    { 1, { GA_ROW_ELEMS }, { 0 }, KNPU_ERR_OPERAND_INVALID, GA_ROW_ELEMS },
    { 1, { GA_COUNT }, { 0 }, KNPU_ERR_OPERAND_INVALID, GA_COUNT },
    /* table (2^32 - 1)^2 x 4 bytes: beyond 2^40 (and 2^64 at 4 bytes) */
    { 2, { GA_ROWS, GA_ROW_ELEMS }, { 0xffffffff, 0xffffffff },
      KNPU_ERR_OPERAND_INVALID, GA_TABLE },
    /* table 2^28 x 2^12 x 4 bytes = 2^42: past 2^40 */
    { 2, { GA_ROWS, GA_ROW_ELEMS }, { 1u << 28, 1u << 12 },
      KNPU_ERR_OPERAND_INVALID, GA_TABLE },
    /* indices: 2^32 - 1 INT32, 16 GiB, past the staging limit */
    { 1, { GA_COUNT }, { 0xffffffff }, KNPU_ERR_OPERAND_INVALID, GA_INDICES },
    /* out: 2^20 rows of 2^10 FP32 (4 GiB), indices within the limit */
    { 2, { GA_COUNT, GA_ROW_ELEMS }, { 1u << 20, 1u << 10 },
      KNPU_ERR_OPERAND_INVALID, GA_OUT },
    /* 2^24 + 1 INT32 indices: 4 bytes past 64 MiB */
    { 2, { GA_COUNT, GA_ROW_ELEMS }, { (1u << 24) + 1, 1 },
      KNPU_ERR_OPERAND_INVALID, GA_INDICES },
    /* 2^24 INT32 indices (64 MiB, allowed) run off their page */
    { 2, { GA_COUNT, GA_ROW_ELEMS }, { 1u << 24, 1 },
      KNPU_ERR_MMU_FAULT, GA_INDICES },
    { 1, { GA_OUT }, { 7 }, KNPU_ERR_ARG_INDEX_INVALID, GA_OUT },
};

/* Run @p, which must fail with @code at @operand; the output untouched. */
static Err run_bad_untouched(Cx *c, const Prog *p, const uint64_t *args,
                             const TBuf *out, uint32_t code, unsigned operand)
{
    uint8_t before[64], after[64];
    Err e;

    qtest_memread(c->k.qts, out->pa, before, sizeof(before));
    e = cx_run_bad(c, p, args, 3, code);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, operand);
    qtest_memread(c->k.qts, out->pa, after, sizeof(after));
    g_assert_cmpmem(before, sizeof(before), after, sizeof(after));
    return e;
}

static void test_gather_errors(void)
{
    const uint32_t ops[] = { 0, 1, 2, 4, 4, 2 };
    const Insn valid = { KNPU_OP_GATHER, KNPU_DT_FP32, 0, GA_ARGMASK, 6,
                         ops };
    const float table[16] = { 0 };
    uint8_t canary[64];
    TBuf ttable, tidx, tout, ro;
    uint64_t args[3];
    Prog p;
    Err e;
    Cx c;

    cx_start(&c);
    ttable = cx_input(&c, KNPU_DT_FP32, 16, table);
    tidx = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    tout = cx_buf(&c, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    ro = cx_buf(&c, 4096, KNPU_PTE_READ);
    args[0] = ttable.va;
    args[1] = tidx.va;
    args[2] = tout.va;
    memset(canary, 0x5a, sizeof(canary));
    tbuf_write(&c, &tout, canary, sizeof(canary));

    cx_run_bad_operands(&c, &valid, args, 3, gather_bad,
                        G_N_ELEMENTS(gather_bad));

    /* Undefined flag bits; wrong nops; dtype NONE and 6. */
    p.n = 0;
    emit(&p, KNPU_OP_GATHER, KNPU_DT_FP32, 0x2, GA_ARGMASK, 6, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    emit(&p, KNPU_OP_GATHER, KNPU_DT_FP32, 0, GA_ARGMASK, 5, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    p.n = 0;
    emit(&p, KNPU_OP_GATHER, KNPU_DT_NONE, 0, GA_ARGMASK, 6, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPCODE_UNSUPPORTED);
    p.n = 0;
    emit(&p, KNPU_OP_GATHER, 6, 0, GA_ARGMASK, 6, ops);
    cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPCODE_UNSUPPORTED);
    /* The indices as an immediate: an address without its slot. */
    p.n = 0;
    emit(&p, KNPU_OP_GATHER, KNPU_DT_FP32, 0, 0x5, 6, ops);
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, GA_INDICES);

    /*
     * Indices out of range, INT32 and INT64: rows (4), -rows - 1, and
     * values whose low 32 bits are in range; the error names the index's
     * address and nothing is written.
     */
    p.n = 0;
    emit(&p, KNPU_OP_GATHER, KNPU_DT_FP32, 0, GA_ARGMASK, 6, ops);
    tbuf_write(&c, &tidx, (const int32_t[]){ 1, 4 }, 8);
    e = run_bad_untouched(&c, &p, args, &tout, KNPU_ERR_OPERAND_INVALID,
                          GA_INDICES);
    g_assert_cmphex(e.addr, ==, tidx.va + 4);
    tbuf_write(&c, &tidx, (const int32_t[]){ -5, 0 }, 8);
    e = run_bad_untouched(&c, &p, args, &tout, KNPU_ERR_OPERAND_INVALID,
                          GA_INDICES);
    g_assert_cmphex(e.addr, ==, tidx.va);
    tbuf_write(&c, &tidx, (const int32_t[]){ INT32_MIN, 0 }, 8);
    run_bad_untouched(&c, &p, args, &tout, KNPU_ERR_OPERAND_INVALID,
                      GA_INDICES);
    p.n = 0;
    emit(&p, KNPU_OP_GATHER, KNPU_DT_FP32, KNPU_FLAG_GATHER_INDEX_INT64,
         GA_ARGMASK, 6, ops);
    tbuf_write(&c, &tidx, (const int64_t[]){ -4, 1ll << 32 }, 16);
    e = run_bad_untouched(&c, &p, args, &tout, KNPU_ERR_OPERAND_INVALID,
                          GA_INDICES);
    g_assert_cmphex(e.addr, ==, tidx.va + 8);
    tbuf_write(&c, &tidx, (const int64_t[]){ INT64_MIN, 0 }, 16);
    e = run_bad_untouched(&c, &p, args, &tout, KNPU_ERR_OPERAND_INVALID,
                          GA_INDICES);
    g_assert_cmphex(e.addr, ==, tidx.va);
    tbuf_write(&c, &tidx, (const int64_t[]){ -(1ll << 32) + 1, 0 }, 16);
    run_bad_untouched(&c, &p, args, &tout, KNPU_ERR_OPERAND_INVALID,
                      GA_INDICES);

    /* Misaligned table, INT64 indices at 4 bytes, out. */
    tbuf_write(&c, &tidx, (const int64_t[]){ -4, 3 }, 16);
    args[0] = ttable.va + 2;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_ALIGNMENT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, GA_TABLE);
    args[0] = ttable.va;
    args[1] = tidx.va + 4;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_ALIGNMENT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, GA_INDICES);
    g_assert_cmphex(e.addr, ==, tidx.va + 4);
    args[1] = tidx.va;
    args[2] = tout.va + 1;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_ALIGNMENT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, GA_OUT);
    args[2] = tout.va;

    /* The valid program runs: rows 0 and 3 of the zero table. */
    cx_run(&c, &p, args, 3);

    /* Read-only and unmapped output: a write fault. */
    args[2] = ro.va;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, GA_OUT);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmphex(e.addr, ==, ro.va);
    args[2] = 0x7fff0000;
    e = cx_run_bad(&c, &p, args, 3, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, GA_OUT);
    args[2] = tout.va;

    /*
     * A selected row past the table's mapping (rows says 2^20): a read
     * fault on the table, at that row, with nothing written.
     */
    p.n = 0;
    EMIT(&p, KNPU_OP_GATHER, KNPU_DT_FP32, KNPU_FLAG_GATHER_INDEX_INT64,
         GA_ARGMASK, 0, 1, 2, 1u << 20, 4, 2);
    tbuf_write(&c, &tidx, (const int64_t[]){ 1, 4096 }, 16);
    e = run_bad_untouched(&c, &p, args, &tout, KNPU_ERR_MMU_FAULT, GA_TABLE);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    g_assert_cmphex(e.addr, ==, ttable.va + 4096 * 16);
    cx_stop(&c);
}

void knpu_add_compute_gather_tests(void)
{
    qtest_add_func("/knpu/compute/gather", test_gather);
    qtest_add_func("/knpu/compute/gather-large-table",
                   test_gather_large_table);
    qtest_add_func("/knpu/compute/gather-errors", test_gather_errors);
}
