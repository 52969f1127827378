/*
 * KNPU qtests: fault injection (spec section 10), at run time and from
 * the -device command line.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

/* Fault injection through QOM properties (section 10). */
static void test_inject(void)
{
    Knpu k;
    Job j;
    Err e;
    Prog p = { .n = 0 };
    uint64_t sem_pa, args[1] = { 0x60000000 };

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);

    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-mmu-fault-queue', 'value': 0}}");
    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_KERNEL;
    j.d.program_va = 0x1234000;
    j.d.program_size = 12;
    submit(&k, 0, &j.d);
    e = expect_error(&k, 0, 0, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_NOT_PRESENT);
    g_assert_cmphex(e.addr, ==, 0x1234000);
    recover(&k, 0, 1);

    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-hang-queue', 'value': 0}}");
    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_NOP;
    j.d.fence_value = 2;
    submit(&k, 0, &j.d);
    wait_running(&k, 0);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_RUNNING);
    queue_reset(&k, 0);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 1);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 3);

    wr(&k, KNPU_REG_EVENT_MASK, KNPU_EVENT_ALL);
    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-correctable', 'value': true}}");
    g_assert_cmpuint(rd(&k, KNPU_REG_ERR_CORRECTABLE), ==, 1);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==,
                    KNPU_EVENT_CORRECTABLE);
    g_assert_true(qpci_msix_pending(k.dev, NUM_QUEUES));

    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-overheat', 'value': true}}");
    g_assert_cmpuint(rd(&k, KNPU_REG_TEMP), >, 100000);
    g_assert_cmpuint(rd(&k, KNPU_REG_CLOCK), ==, 500);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS) & KNPU_DEV_STATUS_THROTTLED,
                    ==, KNPU_DEV_STATUS_THROTTLED);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS) & KNPU_EVENT_THERMAL, ==,
                    KNPU_EVENT_THERMAL);
    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-overheat', 'value': false}}");
    g_assert_cmpuint(rd(&k, KNPU_REG_CLOCK), ==, 1000);

    /* A job running when the uncorrectable error hits fails with it. */
    sem_pa = galloc(&k, 4096);
    map_range(&k, 0x60000000, sem_pa, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 1);
    load_kernel(&k, &j, &p, args, 1, 4);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_RUNNING);
    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-uncorrectable', 'value': true}}");
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS) & KNPU_DEV_STATUS_FATAL, ==,
                    KNPU_DEV_STATUS_FATAL);
    g_assert_cmpuint(rd(&k, KNPU_REG_ERR_UNCORRECTABLE), ==, 1);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS) & KNPU_EVENT_UNCORRECTABLE,
                    ==, KNPU_EVENT_UNCORRECTABLE);
    e = expect_error(&k, 0, 1, KNPU_ERR_UNCORRECTABLE);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 3);

    /* No queue fetches until a reset. */
    queue_reset(&k, 0);
    queue_setup(&k, 0, 0);
    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_NOP;
    j.d.fence_value = 5;
    submit(&k, 0, &j.d);
    g_usleep(20000);
    g_assert_cmpuint(qrd(&k, 0, KNPU_Q_HEAD), ==, 0);
    wr(&k, KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS), ==, KNPU_DEV_STATUS_READY);
    g_assert_cmpuint(rd(&k, KNPU_REG_ERR_UNCORRECTABLE), ==, 1);

    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-surprise-removal', 'value': true}}");
    g_assert_cmphex(rd(&k, KNPU_REG_ID), ==, 0xffffffff);
    wr(&k, KNPU_REG_SCRATCH, 1);
    g_assert_cmphex(rd(&k, KNPU_REG_SCRATCH), ==, 0xffffffff);
    knpu_stop(&k);
}

/*
 * A throttled device really runs slower (section 3.4): with an injected
 * overheat a job stalls on the device clock (QEMU's virtual clock, which
 * qtest moves only on clock_step) after its work and completes only as
 * the clock advances; at the nominal clock it needs no clock at all.
 */
static void test_overheat_slows(void)
{
    const uint64_t va = 0x50000000, size = 256 * 1024;
    uint64_t buf, busy, args[1] = { va };
    Prog p = { .n = 0 };
    unsigned i;
    Knpu k;
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    buf = galloc(&k, size);
    map_range(&k, va, buf, size, KNPU_PTE_READ | KNPU_PTE_WRITE);
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, size, 0x11111111);
    load_kernel(&k, &j, &p, args, 1, 1);
    submit(&k, 0, &j.d);
    for (i = 0; i < 100000 && qrd(&k, 0, KNPU_Q_HEAD) != 1; i++) {
        g_usleep(100);
    }
    g_assert_cmpuint(qrd(&k, 0, KNPU_Q_HEAD), ==, 1);

    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-overheat', 'value': true}}");
    g_assert_cmpuint(rd(&k, KNPU_REG_CLOCK), ==, 500);
    busy = rd64(&k, KNPU_REG_CORE_BUSY_LO(0)) +
           rd64(&k, KNPU_REG_CORE_BUSY_LO(1));
    load_kernel(&k, &j, &p, args, 1, 2);
    submit(&k, 0, &j.d);
    g_usleep(100 * 1000);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_RUNNING);
    g_assert_cmpuint(qrd(&k, 0, KNPU_Q_HEAD), ==, 1);
    expect_done(&k, 0, 2, 2);
    /* The stall is device time: the busy counter shows it. */
    g_assert_cmpuint(rd64(&k, KNPU_REG_CORE_BUSY_LO(0)) +
                     rd64(&k, KNPU_REG_CORE_BUSY_LO(1)), >, busy);
    g_assert_cmphex(qtest_readl(k.qts, buf + size - 4), ==, 0x11111111);
    knpu_stop(&k);
}

/* Injections on the -device command line are in force at power-on. */
static void test_inject_boot(void)
{
    Knpu k;
    Job j;

    knpu_start(&k, ",inject-overheat=on,inject-correctable=on,"
               "inject-hang-queue=1");
    g_assert_cmpuint(rd(&k, KNPU_REG_TEMP), >, 100000);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS), ==,
                    KNPU_DEV_STATUS_READY | KNPU_DEV_STATUS_THROTTLED);
    g_assert_cmpuint(rd(&k, KNPU_REG_ERR_CORRECTABLE), ==, 1);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==,
                    KNPU_EVENT_CORRECTABLE | KNPU_EVENT_THERMAL);

    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    queue_setup(&k, 1, 0);
    run_good_job(&k, 0, 1);
    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_NOP;
    j.d.fence_value = 5;
    submit(&k, 1, &j.d);
    wait_running(&k, 1);
    g_assert_cmphex(qrd(&k, 1, KNPU_Q_STATUS), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_RUNNING);
    queue_reset(&k, 1);
    queue_setup(&k, 1, 0);
    submit(&k, 1, &j.d);
    expect_done(&k, 1, 1, 5);
    knpu_stop(&k);

    knpu_start(&k, ",inject-uncorrectable=on");
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS), ==,
                    KNPU_DEV_STATUS_READY | KNPU_DEV_STATUS_FATAL);
    g_assert_cmpuint(rd(&k, KNPU_REG_ERR_UNCORRECTABLE), ==, 1);
    knpu_stop(&k);
}

void knpu_add_inject_tests(void)
{
    qtest_add_func("/knpu/inject", test_inject);
    qtest_add_func("/knpu/inject-boot", test_inject_boot);
    qtest_add_func("/knpu/inject-overheat-slows", test_overheat_slows);
}
