/*
 * KNPU qtests: MSI-X messages of the queue and event vectors.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

/* Route MSI-X vector @v to a word of guest memory (unmasked). */
static uint64_t msix_to_memory(Knpu *k, unsigned v, uint32_t data)
{
    uint64_t addr = galloc(k, 8);
    uint64_t off = k->dev->msix_table_off + v * PCI_MSIX_ENTRY_SIZE;

    qpci_io_writel(k->dev, k->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr);
    qpci_io_writel(k->dev, k->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_UPPER_ADDR, addr >> 32);
    qpci_io_writel(k->dev, k->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_DATA, data);
    qpci_io_writel(k->dev, k->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
    return addr;
}

static bool wait_word(Knpu *k, uint64_t addr, uint32_t want)
{
    int64_t waited;

    for (waited = 0; waited < POLL_TIMEOUT_US; waited += 100) {
        if (qtest_readl(k->qts, addr) == want) {
            return true;
        }
        g_usleep(100);
    }
    return false;
}

/*
 * Interrupts: a message only when a status bit goes from 0 to 1 (and, for
 * events, is enabled in EVENT_MASK).
 */
static void test_interrupts(void)
{
    Knpu k;
    const unsigned q = 1;
    uint64_t qmsg, emsg;
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, q, 0);
    qmsg = msix_to_memory(&k, q, 0xa1);
    emsg = msix_to_memory(&k, NUM_QUEUES, 0xe1);

    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_NOP;
    j.d.flags = KNPU_DESC_FLAG_IRQ;
    j.d.fence_value = 1;
    submit(&k, q, &j.d);
    expect_done(&k, q, 1, 1);
    g_assert_true(wait_word(&k, qmsg, 0xa1));

    /* COMPLETE still set: the next completion sends no message. */
    qtest_writel(k.qts, qmsg, 0);
    j.d.fence_value = 2;
    submit(&k, q, &j.d);
    expect_done(&k, q, 2, 2);
    g_usleep(20000);
    g_assert_cmphex(qtest_readl(k.qts, qmsg), ==, 0);
    /* Cleared first: the next one does. */
    qwr(&k, q, KNPU_Q_IRQ_STATUS, KNPU_Q_IRQ_COMPLETE);
    j.d.fence_value = 3;
    submit(&k, q, &j.d);
    expect_done(&k, q, 3, 3);
    g_assert_true(wait_word(&k, qmsg, 0xa1));

    /* Events: masked, nothing; enabled, a message. */
    wr(&k, KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, KNPU_EVENT_RESET_DONE);
    g_usleep(20000);
    g_assert_cmphex(qtest_readl(k.qts, emsg), ==, 0);
    wr(&k, KNPU_REG_EVENT_MASK, KNPU_EVENT_CORRECTABLE);
    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-correctable', 'value': true}}");
    g_assert_true(wait_word(&k, emsg, 0xe1));
    knpu_stop(&k);
}

void knpu_add_irq_tests(void)
{
    qtest_add_func("/knpu/interrupts", test_interrupts);
}
