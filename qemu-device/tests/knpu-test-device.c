/*
 * KNPU qtests: PCI identity, the register file, resets (soft, FLR,
 * system), the device behind a q35 root port, hot-unplug.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

static void test_identity(void)
{
    Knpu k;
    unsigned q;

    knpu_start(&k, NULL);

    g_assert_cmphex(qpci_config_readw(k.dev, PCI_VENDOR_ID), ==,
                    KNPU_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(k.dev, PCI_DEVICE_ID), ==,
                    KNPU_DEVICE_ID);
    g_assert_cmphex(qpci_config_readb(k.dev, PCI_REVISION_ID), ==,
                    KNPU_REVISION);
    g_assert_cmphex(qpci_config_readw(k.dev, PCI_CLASS_DEVICE), ==,
                    KNPU_CLASS_ACCEL);
    g_assert_cmphex(qpci_config_readb(k.dev, PCI_CLASS_PROG), ==, 0);
    g_assert_cmphex(qpci_config_readw(k.dev, PCI_SUBSYSTEM_VENDOR_ID), ==,
                    KNPU_SUBSYS_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(k.dev, PCI_SUBSYSTEM_ID), ==,
                    KNPU_SUBSYS_ID);
    g_assert_cmphex(qpci_config_readb(k.dev, PCI_INTERRUPT_PIN), ==, 0);
    g_assert_cmphex(qpci_config_readl(k.dev, PCI_BASE_ADDRESS_2) &
                    (PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH), ==,
                    PCI_BASE_ADDRESS_MEM_TYPE_64 |
                    PCI_BASE_ADDRESS_MEM_PREFETCH);
    g_assert_cmpuint(qpci_msix_table_size(k.dev), ==, NUM_QUEUES + 1);
    g_assert_cmphex(qpci_find_capability(k.dev, PCI_CAP_ID_MSI, 0), ==, 0);
    {
        uint8_t exp = qpci_find_capability(k.dev, PCI_CAP_ID_EXP, 0);

        g_assert_cmphex(exp, !=, 0);
        g_assert_cmphex(qpci_config_readl(k.dev, exp + PCI_EXP_DEVCAP) &
                        PCI_EXP_DEVCAP_FLR, ==, PCI_EXP_DEVCAP_FLR);
    }

    /* 3.1 */
    g_assert_cmphex(rd(&k, KNPU_REG_ID), ==, 0x55504e4b);
    g_assert_cmphex(rd(&k, KNPU_REG_HW_VERSION), ==, 0x00010008);
    g_assert_cmphex(rd(&k, KNPU_REG_FW_VERSION), ==, 0x01000000);
    g_assert_cmphex(rd(&k, KNPU_REG_CONFIG0), ==,
                    NUM_CORES | NUM_QUEUES << 8 | 64 << 16 | 48 << 24);
    g_assert_cmphex(rd(&k, KNPU_REG_SRAM_SIZE), ==, 0x00400000);
    g_assert_cmphex(rd64(&k, KNPU_REG_DEVMEM_SIZE_LO), ==, DEVMEM_SIZE);
    g_assert_cmphex(rd(&k, KNPU_REG_DTYPES), ==,
                    1u << KNPU_DT_NONE | 1u << KNPU_DT_FP32 |
                    1u << KNPU_DT_FP16 | 1u << KNPU_DT_BF16 |
                    1u << KNPU_DT_INT8 | 1u << KNPU_DT_INT32);
    g_assert_cmphex(rd(&k, KNPU_REG_OPS_LO), ==,
                    1u << KNPU_OP_NOP | 1u << KNPU_OP_DMA_COPY |
                    1u << KNPU_OP_DMA_FILL | 1u << KNPU_OP_BARRIER |
                    1u << KNPU_OP_SEM_SIGNAL | 1u << KNPU_OP_SEM_WAIT |
                    1u << KNPU_OP_TIMESTAMP | 1u << KNPU_OP_GEMM |
                    1u << KNPU_OP_CONV2D | 1u << KNPU_OP_POOL2D |
                    1u << KNPU_OP_ELTWISE | 1u << KNPU_OP_ACTIVATION |
                    1u << KNPU_OP_SOFTMAX | 1u << KNPU_OP_LAYERNORM |
                    1u << KNPU_OP_RMSNORM | 1u << KNPU_OP_REDUCE |
                    1u << KNPU_OP_TRANSPOSE |
                    /* v1.1 */
                    1u << KNPU_OP_COPY_STRIDED | 1u << KNPU_OP_GEMM_BATCHED |
                    1u << KNPU_OP_CONV_TRANSPOSE | 1u << KNPU_OP_RESIZE |
                    1u << KNPU_OP_ACTIVATION_PARAM |
                    /* v1.2 */
                    1u << KNPU_OP_CONVERT |
                    /* v1.3 */
                    1u << KNPU_OP_GATHER);
    /* v1.4 */
    g_assert_cmphex(rd(&k, KNPU_REG_OPS_HI), ==,
                    1u << (KNPU_OP_COMPARE - 32) |
                    1u << (KNPU_OP_SELECT - 32));
    g_assert_cmphex(rd(&k, KNPU_REG_FEATURES), ==, 0x3f);
    g_assert_cmphex(rd64(&k, KNPU_REG_SERIAL_LO), ==, 0x1122334455667788ull);
    g_assert_cmphex(rd(&k, KNPU_REG_SCRATCH), ==, 0);

    /* 3.2 - 3.4 reset values */
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_CTRL), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS), ==, KNPU_DEV_STATUS_READY);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_MASK), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_SOFT_RESET), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_MMU_CTRL), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_MMU_TLB_INVAL), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_MMU_FAULT_COUNT), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_AS_ROOT_LO(0)), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_AS_ROOT_HI(63)), ==, 0);
    g_assert_cmpuint(rd(&k, KNPU_REG_TEMP), ==, 40000);
    g_assert_cmpuint(rd(&k, KNPU_REG_POWER), ==, 25000);
    g_assert_cmpuint(rd(&k, KNPU_REG_CLOCK), ==, 1000);
    g_assert_cmpuint(rd(&k, KNPU_REG_ERR_CORRECTABLE), ==, 0);
    g_assert_cmpuint(rd(&k, KNPU_REG_ERR_UNCORRECTABLE), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_BYTES_MOVED_LO), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_CORE_BUSY_LO(0)), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_CORE_BUSY_LO(NUM_CORES - 1)), ==, 0);
    for (q = 0; q < NUM_QUEUES; q++) {
        uint64_t r;

        for (r = 0; r <= KNPU_Q_COMPLETED_HI; r += 4) {
            g_assert_cmphex(qrd(&k, q, r), ==, 0);
        }
    }
    /* Beyond the last queue: unassigned, reads 0, writes ignored. */
    wr(&k, KNPU_REG_Q(NUM_QUEUES, KNPU_Q_RING_SIZE), 4);
    g_assert_cmphex(rd(&k, KNPU_REG_Q(NUM_QUEUES, KNPU_Q_RING_SIZE)), ==, 0);

    /* The device clock runs with the virtual clock. */
    {
        uint64_t t0 = rd64(&k, KNPU_REG_TIMESTAMP_LO);

        qtest_clock_step(k.qts, 1000000);
        g_assert_cmpuint(rd64(&k, KNPU_REG_TIMESTAMP_LO), >=, t0 + 1000000);
    }

    /* RW, RO, W1C and bad accesses */
    wr(&k, KNPU_REG_SCRATCH, 0xdeadbeef);
    g_assert_cmphex(rd(&k, KNPU_REG_SCRATCH), ==, 0xdeadbeef);
    wr(&k, KNPU_REG_ID, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_ID), ==, 0x55504e4b);
    wr(&k, KNPU_REG_CONFIG0, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_CONFIG0), ==,
                    NUM_CORES | NUM_QUEUES << 8 | 64 << 16 | 48 << 24);
    wr(&k, KNPU_REG_EVENT_MASK, 0xffffffff);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_MASK), ==, KNPU_EVENT_ALL);
    wr(&k, KNPU_REG_EVENT_STATUS, 0xffffffff);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, 0);
    wr(&k, KNPU_REG_DEV_CTRL, 0xffffffff);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_CTRL), ==, KNPU_DEV_CTRL_ENABLE);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS), ==,
                    KNPU_DEV_STATUS_READY | KNPU_DEV_STATUS_ENABLED);
    wr(&k, KNPU_REG_AS_ROOT_LO(5), 0xffffffff);
    g_assert_cmphex(rd(&k, KNPU_REG_AS_ROOT_LO(5)), ==, 0xfffff001);
    qwr(&k, 0, KNPU_Q_CONFIG, 0xffffffff);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_CONFIG), ==, KNPU_Q_CONFIG_MASK);
    qwr(&k, 0, KNPU_Q_HEAD, 5);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_HEAD), ==, 0);
    /* Only aligned 32-bit accesses are honoured. */
    g_assert_cmphex(qpci_io_readb(k.dev, k.bar0, KNPU_REG_ID), ==, 0);
    g_assert_cmphex(qpci_io_readw(k.dev, k.bar0, KNPU_REG_ID), ==, 0);
    qpci_io_writew(k.dev, k.bar0, KNPU_REG_SCRATCH, 0x1234);
    qpci_io_writeb(k.dev, k.bar0, KNPU_REG_SCRATCH + 1, 0x12);
    qpci_io_writel(k.dev, k.bar0, KNPU_REG_SCRATCH + 2, 0x12345678);
    g_assert_cmphex(rd(&k, KNPU_REG_SCRATCH), ==, 0xdeadbeef);

    /* Device memory (BAR2) is plain memory. */
    qpci_io_writel(k.dev, k.bar2, DEVMEM_SIZE - 4, 0xcafef00d);
    g_assert_cmphex(qpci_io_readl(k.dev, k.bar2, DEVMEM_SIZE - 4), ==,
                    0xcafef00d);

    knpu_stop(&k);
}

static void set_everything(Knpu *k)
{
    wr(k, KNPU_REG_SCRATCH, 0x12345678);
    wr(k, KNPU_REG_DEV_CTRL, KNPU_DEV_CTRL_ENABLE);
    wr(k, KNPU_REG_EVENT_MASK, KNPU_EVENT_ALL);
    wr(k, KNPU_REG_MMU_CTRL, KNPU_MMU_CTRL_ENABLE);
    wr(k, KNPU_REG_AS_ROOT_LO(7), 0x1000 | KNPU_AS_ROOT_VALID);
    wr(k, KNPU_REG_AS_ROOT_HI(7), 0x1);
    queue_setup(k, 1, 2);
    qpci_io_writel(k->dev, k->bar2, 0x100, 0xfeedface);
}

static void check_reset_state(Knpu *k)
{
    g_assert_cmphex(rd(k, KNPU_REG_DEV_STATUS), ==, KNPU_DEV_STATUS_READY);
    g_assert_cmphex(rd(k, KNPU_REG_SCRATCH), ==, 0);
    g_assert_cmphex(rd(k, KNPU_REG_DEV_CTRL), ==, 0);
    g_assert_cmphex(rd(k, KNPU_REG_EVENT_MASK), ==, 0);
    g_assert_cmphex(rd(k, KNPU_REG_MMU_CTRL), ==, 0);
    g_assert_cmphex(rd(k, KNPU_REG_AS_ROOT_LO(7)), ==, 0);
    g_assert_cmphex(rd(k, KNPU_REG_AS_ROOT_HI(7)), ==, 0);
    g_assert_cmphex(qrd(k, 1, KNPU_Q_STATUS), ==, 0);
    g_assert_cmphex(qrd(k, 1, KNPU_Q_RING_BASE_LO), ==, 0);
    g_assert_cmphex(qrd(k, 1, KNPU_Q_RING_SIZE), ==, 0);
    g_assert_cmphex(qrd(k, 1, KNPU_Q_CONFIG), ==, 0);
    g_assert_cmphex(qrd(k, 1, KNPU_Q_FENCE_ADDR_LO), ==, 0);
    /* Device memory survives soft reset and FLR. */
    g_assert_cmphex(qpci_io_readl(k->dev, k->bar2, 0x100), ==, 0xfeedface);
}

static void test_soft_reset(void)
{
    Knpu k;

    knpu_start(&k, NULL);
    set_everything(&k);

    wr(&k, KNPU_REG_SOFT_RESET, 0x12345678);   /* wrong magic: ignored */
    g_assert_cmphex(rd(&k, KNPU_REG_SCRATCH), ==, 0x12345678);
    g_assert_cmphex(qrd(&k, 1, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ENABLED);

    wr(&k, KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
    check_reset_state(&k);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, KNPU_EVENT_RESET_DONE);
    wr(&k, KNPU_REG_EVENT_STATUS, KNPU_EVENT_RESET_DONE);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, 0);

    /* The device works after the reset. */
    mmu_setup(&k);
    queue_setup(&k, 1, 0);
    run_good_job(&k, 1, 1);
    knpu_stop(&k);
}

static void test_flr(void)
{
    Knpu k;
    uint16_t msix;

    knpu_start(&k, NULL);
    set_everything(&k);
    msix = qpci_find_capability(k.dev, PCI_CAP_ID_MSIX, 0);
    g_assert(qpci_config_readw(k.dev, msix + PCI_MSIX_FLAGS) &
             PCI_MSIX_FLAGS_ENABLE);

    knpu_flr(&k);

    /* FLR also resets configuration space: MSI-X off, BARs unassigned. */
    g_assert_false(qpci_config_readw(k.dev, msix + PCI_MSIX_FLAGS) &
                   PCI_MSIX_FLAGS_ENABLE);
    g_assert_false(qpci_config_readw(k.dev, PCI_COMMAND) &
                   PCI_COMMAND_MEMORY);
    knpu_remap(&k);
    qpci_msix_enable(k.dev);

    check_reset_state(&k);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, KNPU_EVENT_RESET_DONE);

    mmu_setup(&k);
    queue_setup(&k, 1, 0);
    run_good_job(&k, 1, 7);
    knpu_stop(&k);
}

/*
 * System reset (power-on) with a busy core: the job dies, and unlike soft
 * reset and FLR, device memory and the telemetry counters are cleared.
 */
static void test_system_reset(void)
{
    Knpu k;
    uint64_t sem_pa;
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 1);
    qpci_io_writel(k.dev, k.bar2, 0x1000, 0xfeedface);
    sem_pa = map_semaphore(&k);
    load_sem_wait_job(&k, &j, 2);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);

    qtest_qmp_assert_success(k.qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(k.qts, "RESET");
    qtest_writeq(k.qts, sem_pa, 1);
    g_usleep(20000);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 1);

    knpu_remap(&k);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS), ==, KNPU_DEV_STATUS_READY);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, 0);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_BYTES_MOVED_LO), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_CORE_BUSY_LO(0)) +
                     rd64(&k, KNPU_REG_CORE_BUSY_LO(1)), ==, 0);
    g_assert_cmphex(qpci_io_readl(k.dev, k.bar2, 0x1000), ==, 0);
    knpu_stop(&k);
}

/* Behind a PCIe root port of a q35 machine: identity, a job, FLR. */
static void test_q35(void)
{
    Knpu k;

    knpu_boot(&k, true, NULL);
    g_assert_cmphex(qpci_config_readw(k.dev, PCI_CLASS_DEVICE), ==,
                    KNPU_CLASS_ACCEL);
    g_assert_cmphex(rd(&k, KNPU_REG_ID), ==, KNPU_ID_VALUE);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 1);
    g_assert_true(qpci_msix_pending(k.dev, 0));

    knpu_flr(&k);
    knpu_remap(&k);
    qpci_msix_enable(k.dev);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, KNPU_EVENT_RESET_DONE);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==, 0);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 2);
    knpu_stop(&k);
}

/* Hot-unplug while a core is busy with a job that never ends. */
static void test_unplug(void)
{
    Knpu k;
    uint64_t sem_pa;
    Job j;

    knpu_start(&k, ",addr=06.0");
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    sem_pa = map_semaphore(&k);
    load_sem_wait_job(&k, &j, 1);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS) & KNPU_Q_STATUS_RUNNING, ==,
                    KNPU_Q_STATUS_RUNNING);

    qpci_unplug_acpi_device_test(k.qts, "npu", 0x06);
    /* The job died with the device: the semaphore makes it run no more. */
    qtest_writeq(k.qts, sem_pa, 1);
    g_usleep(20000);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0);
    knpu_stop(&k);
}

void knpu_add_device_tests(void)
{
    qtest_add_func("/knpu/identity", test_identity);
    qtest_add_func("/knpu/soft-reset", test_soft_reset);
    qtest_add_func("/knpu/flr", test_flr);
    qtest_add_func("/knpu/system-reset", test_system_reset);
    qtest_add_func("/knpu/q35", test_q35);
    qtest_add_func("/knpu/unplug", test_unplug);
}
