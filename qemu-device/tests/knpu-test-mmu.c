/*
 * KNPU qtests: the device MMU's TLB, and DMA that does not reach RAM.
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

void knpu_add_mmu_tests(void)
{
    qtest_add_func("/knpu/mmu/tlb", test_tlb);
    qtest_add_func("/knpu/queue/bus-errors", test_bus_errors);
}
