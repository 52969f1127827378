/*
 * KNPU qtests: the device MMU's TLB, DMA that does not reach RAM, and DMA
 * in runs of pages.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

/* TLB: after remapping a page and invalidating, the new target is used. */
static void test_tlb(void)
{
    Knpu k;
    const uint64_t va = 0x70000000;
    uint64_t pa1, pa2, args[1] = { va };
    Prog p = { .n = 0 };
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    pa1 = galloc(&k, 4096);
    pa2 = galloc(&k, 4096);
    map_one(&k, va, pa1, KNPU_PTE_READ | KNPU_PTE_WRITE, false);
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 4, 0x11111111);
    load_kernel(&k, &j, &p, args, 1, 1);
    submit(&k, 0, &j.d);
    expect_done(&k, 0, 1, 1);
    g_assert_cmphex(qtest_readl(k.qts, pa1), ==, 0x11111111);

    map_one(&k, va, pa2, KNPU_PTE_READ | KNPU_PTE_WRITE, false);
    wr(&k, KNPU_REG_MMU_TLB_INVAL, TEST_ASID);
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 4, 0x22222222);
    load_kernel(&k, &j, &p, args, 1, 2);
    submit(&k, 0, &j.d);
    expect_done(&k, 0, 2, 2);
    g_assert_cmphex(qtest_readl(k.qts, pa1), ==, 0x11111111);
    g_assert_cmphex(qtest_readl(k.qts, pa2), ==, 0x22222222);
    knpu_stop(&k);
}

/* Bus errors: descriptor fetch, fence write, page-table walk. */
static void test_bus_errors(void)
{
    Knpu k;
    const unsigned q = 2;
    uint64_t bar0, buf, va = 0x50000000, args[1] = { va };
    Prog p = { .n = 0 };
    Job j;
    Err e;

    knpu_start(&k, NULL);
    bar0 = qpci_config_readl(k.dev, PCI_BASE_ADDRESS_0) & ~0xfull;
    mmu_setup(&k);

    /* A ring in the device's own registers. */
    qwr(&k, q, KNPU_Q_RING_BASE_LO, (uint32_t)bar0);
    qwr(&k, q, KNPU_Q_RING_SIZE, RING_ENTRIES);
    qwr(&k, q, KNPU_Q_CONFIG, TEST_ASID);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    qwr(&k, q, KNPU_Q_TAIL, 1);
    qwr(&k, q, KNPU_Q_DOORBELL, 1);
    e = expect_error(&k, q, 0, KNPU_ERR_BUS_ERROR);
    g_assert_cmphex(e.addr, ==, bar0);
    g_assert_cmphex(e.pc, ==, KNPU_ERR_PC_NONE);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    queue_reset(&k, q);

    /* A fence in the device's own registers: the job ran, no fence. */
    buf = galloc(&k, 4096);
    map_range(&k, va, buf, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    queue_setup(&k, q, 0);
    qwr(&k, q, KNPU_Q_CTRL, 0);
    qwr(&k, q, KNPU_Q_FENCE_ADDR_LO, (uint32_t)bar0 + KNPU_REG_SERIAL_LO);
    qwr(&k, q, KNPU_Q_FENCE_ADDR_HI, 0);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    k.q[q].tail = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 8, 0x77777777);
    load_kernel(&k, &j, &p, args, 1, 0x5e1f);
    submit(&k, q, &j.d);
    e = expect_error(&k, q, 0, KNPU_ERR_BUS_ERROR);
    g_assert_cmphex(e.addr, ==, bar0 + KNPU_REG_SERIAL_LO);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmphex(e.pc, ==, KNPU_ERR_PC_NONE);
    g_assert_cmphex(qtest_readl(k.qts, buf), ==, 0x77777777);
    g_assert_cmphex(rd64(&k, KNPU_REG_SERIAL_LO), ==, 0x1122334455667788ull);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESUME);
    g_assert_cmpuint(qrd(&k, q, KNPU_Q_HEAD), ==, 1);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ENABLED);
    queue_reset(&k, q);

    /* Page tables in the device's own registers: WALK_ERROR at the VA. */
    queue_setup(&k, q, 0);
    wr(&k, KNPU_REG_AS_ROOT_LO(TEST_ASID), (uint32_t)bar0 |
       KNPU_AS_ROOT_VALID);
    wr(&k, KNPU_REG_MMU_TLB_INVAL, KNPU_TLB_INVAL_ALL);
    submit(&k, q, &j.d);
    e = expect_error(&k, q, 0, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_WALK_ERROR);
    g_assert_cmphex(e.addr, ==, j.d.args_va);
    knpu_stop(&k);
}

/*
 * DMA_COPY of @len bytes from @src to @dst (VAs) on queue 0, expected to
 * fail with @code: its error, and the queue ready for the next job.
 */
static Err copy_fails(Knpu *k, uint64_t dst, uint64_t src, uint64_t len,
                      uint32_t code)
{
    uint64_t args[2] = { src, dst };
    Prog p = { .n = 0 };
    Job j;
    Err e;

    EMIT(&p, KNPU_OP_DMA_COPY, 0, 0, 3, 1, 0, len);
    load_kernel(k, &j, &p, args, 2, 0xbad);
    submit(k, 0, &j.d);
    e = expect_error(k, 0, 0, code);
    g_assert_cmphex(e.pc, ==, 0);
    queue_reset(k, 0);
    queue_setup(k, 0, 0);
    return e;
}

/* @len bytes at @pa are (@expect_same) or are not those at @ref. */
static void assert_bytes(Knpu *k, uint64_t pa, uint64_t ref, size_t len,
                         bool expect_same)
{
    g_autofree uint8_t *a = g_malloc(len), *b = g_malloc(len);

    qtest_memread(k->qts, pa, a, len);
    qtest_memread(k->qts, ref, b, len);
    g_assert_cmpint(!memcmp(a, b, len), ==, expect_same);
}

/* @len bytes at @pa are all zero. */
static void assert_zero(Knpu *k, uint64_t pa, size_t len)
{
    g_autofree uint8_t *a = g_malloc(len), *z = g_malloc0(len);

    qtest_memread(k->qts, pa, a, len);
    g_assert_cmpint(memcmp(a, z, len), ==, 0);
}

/*
 * Accesses move run by run: pages that follow each other in the VA space
 * and in the target are copied together. A run still ends where the
 * target stops being RAM (BUS_ERROR at the first bus address that is not)
 * and at a page that faults (MMU_FAULT at its VA, counted once), and
 * DMA_COPY writes its destination up to the failing byte, nothing beyond.
 */
static void test_dma_runs(void)
{
    const uint64_t ram_end = 128 * 1024 * 1024, pg = 4096;
    const uint64_t va_src = 0x60000000, va_dst = 0x61000000;
    const uint64_t va_edge = 0x62000000, va_holes = 0x63000000;
    const uint64_t va_gap = 0x64000000;
    const uint64_t rw = KNPU_PTE_READ | KNPU_PTE_WRITE;
    uint64_t src, dst, i;
    uint32_t faults;
    Knpu k;
    Err e;

    knpu_start(&k, " -m 128M");
    src = galloc(&k, 4 * pg);
    dst = galloc(&k, 4 * pg);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    for (i = 0; i < 4 * pg; i += 4) {
        qtest_writel(k.qts, src + i, 0x5eed0000 + i);
    }
    map_range(&k, va_src, src, 4 * pg, rw);
    map_range(&k, va_dst, dst, 4 * pg, rw);
    /* The last two pages of RAM and the first page past its end. */
    map_range(&k, va_edge, ram_end - 2 * pg, 3 * pg, rw);
    qtest_memset(k.qts, ram_end - 2 * pg, 0, 2 * pg);

    /* Writing across the end of RAM: both RAM pages written. */
    e = copy_fails(&k, va_edge, va_src, 3 * pg, KNPU_ERR_BUS_ERROR);
    g_assert_cmphex(e.addr, ==, ram_end);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);
    assert_bytes(&k, ram_end - 2 * pg, src, 2 * pg, true);

    /* Reading across it: the destination written up to there only. */
    e = copy_fails(&k, va_dst, va_edge + 100, 3 * pg, KNPU_ERR_BUS_ERROR);
    g_assert_cmphex(e.addr, ==, ram_end);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    assert_bytes(&k, dst, ram_end - 2 * pg + 100, 2 * pg - 100, true);
    assert_zero(&k, dst + 2 * pg - 100, 2 * pg + 100);

    /*
     * A destination whose third page is read-only: a permission fault
     * there, counted once, the two pages before it written from byte 100.
     */
    map_range(&k, va_holes, dst, 4 * pg, rw);
    map_one(&k, va_holes + 2 * pg, dst + 2 * pg, KNPU_PTE_READ, false);
    wr(&k, KNPU_REG_MMU_TLB_INVAL, KNPU_TLB_INVAL_ALL);
    qtest_memset(k.qts, dst, 0, 4 * pg);
    faults = rd(&k, KNPU_REG_MMU_FAULT_COUNT);
    e = copy_fails(&k, va_holes + 100, va_src, 4 * pg - 100,
                   KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, va_holes + 2 * pg);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_PERMISSION);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);
    g_assert_cmpuint(rd(&k, KNPU_REG_MMU_FAULT_COUNT), ==, faults + 1);
    assert_zero(&k, dst, 100);
    assert_bytes(&k, dst + 100, src, 2 * pg - 100, true);
    assert_zero(&k, dst + 2 * pg, 2 * pg);

    /* A source whose third page is not mapped: nothing written past it. */
    map_range(&k, va_gap, src, 2 * pg, rw);
    map_one(&k, va_gap + 3 * pg, src + 3 * pg, rw, false);
    qtest_memset(k.qts, dst, 0, 4 * pg);
    e = copy_fails(&k, va_dst, va_gap, 4 * pg, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, va_gap + 2 * pg);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_NOT_PRESENT);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    g_assert_cmpuint(rd(&k, KNPU_REG_MMU_FAULT_COUNT), ==, faults + 2);
    assert_bytes(&k, dst, src, 2 * pg, true);
    assert_zero(&k, dst + 2 * pg, 2 * pg);
    knpu_stop(&k);
}

/* DMA_FILL of 4 bytes of @pattern at @va on queue 0, job @id. */
static void fill_word(Knpu *k, uint64_t va, uint32_t pattern, uint32_t id)
{
    uint64_t args[1] = { va };
    Prog p = { .n = 0 };
    Job j;

    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 4, pattern);
    load_kernel(k, &j, &p, args, 1, id);
    submit(k, 0, &j.d);
    expect_done(k, 0, id, id);
}

/*
 * The walk cache (the last-level table of the last 2 MiB walked) goes
 * with the TLBs. Data, programs and arguments share one 2 MiB, so every
 * walk of a job goes through its level-2 entry; after that entry is
 * pointed at a copy of the table with other targets and MMU_TLB_INVAL (or
 * an AS_ROOT write) is written, the pages are walked through the new
 * table.
 */
static void test_walk_cache(void)
{
    const uint64_t va = VA_KERNELS + 0x100000;
    const uint64_t rw = KNPU_PTE_READ | KNPU_PTE_WRITE;
    const uint64_t pg = 4096;
    uint64_t pa1[3], pa2, t1, t2, l2_entry;
    unsigned i;
    Knpu k;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    for (i = 0; i < 3; i++) {
        pa1[i] = galloc(&k, pg);
        map_one(&k, va + i * pg, pa1[i], rw, false);
    }
    pa2 = galloc(&k, pg);
    /* The level-2 entry of va, and the table t1 it points to. */
    l2_entry = k.root;
    for (i = 0; i < 2; i++) {
        l2_entry = qtest_readq(k.qts, l2_entry +
                               ((va >> (39 - 9 * i)) & 511) * 8) &
                   KNPU_PTE_ADDR_MASK;
    }
    l2_entry += ((va >> 21) & 511) * 8;
    t1 = qtest_readq(k.qts, l2_entry) & KNPU_PTE_ADDR_MASK;

    fill_word(&k, va, 0x11111111, 1);       /* walks through t1 */
    g_assert_cmphex(qtest_readl(k.qts, pa1[0]), ==, 0x11111111);

    /* t2: t1's entries, but va + 4 KiB elsewhere and va + 8 KiB unmapped. */
    t2 = galloc(&k, pg);
    for (i = 0; i < 512; i++) {
        qtest_writeq(k.qts, t2 + i * 8, qtest_readq(k.qts, t1 + i * 8));
    }
    qtest_writeq(k.qts, t2 + ((va + pg) >> 12 & 511) * 8,
                 pa2 | rw | KNPU_PTE_VALID);
    qtest_writeq(k.qts, t2 + ((va + 2 * pg) >> 12 & 511) * 8, 0);
    qtest_writeq(k.qts, l2_entry, t2 | KNPU_PTE_VALID);
    wr(&k, KNPU_REG_MMU_TLB_INVAL, KNPU_TLB_INVAL_ALL);
    fill_word(&k, va + pg, 0x22222222, 2);
    g_assert_cmphex(qtest_readl(k.qts, pa2), ==, 0x22222222);
    g_assert_cmphex(qtest_readl(k.qts, pa1[1]), ==, 0);

    /* Back to t1 (which now maps job 3's kernel too), by an AS_ROOT write. */
    qtest_writeq(k.qts, l2_entry, t1 | KNPU_PTE_VALID);
    wr(&k, KNPU_REG_AS_ROOT_LO(TEST_ASID), (uint32_t)k.root |
       KNPU_AS_ROOT_VALID);
    fill_word(&k, va + 2 * pg, 0x33333333, 3);
    g_assert_cmphex(qtest_readl(k.qts, pa1[2]), ==, 0x33333333);
    knpu_stop(&k);
}

void knpu_add_mmu_tests(void)
{
    qtest_add_func("/knpu/mmu/tlb", test_tlb);
    qtest_add_func("/knpu/queue/bus-errors", test_bus_errors);
    qtest_add_func("/knpu/mmu/dma-runs", test_dma_runs);
    qtest_add_func("/knpu/mmu/walk-cache", test_walk_cache);
}
