/*
 * KNPU qtests: the command processor: instructions, their results and
 * the errors of malformed descriptors, programs and operands.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

static void test_fill_copy(void)
{
    Knpu k;
    const unsigned q = 2;
    const uint32_t nbytes = 6000;
    uint64_t a_pa, b_pa, ts_pa, big_pa, big_alloc;
    const uint64_t va_a = 0x10000000, va_b = 0x10100000, va_ts = 0x10200000;
    const uint64_t va_dev = 0x10300000, va_big = 0x20000000;
    uint8_t *a, *b;
    uint32_t i, devword;
    uint64_t ts, jobs, bytes;
    Prog p = { .n = 0 };
    Job j;
    uint64_t args[5];

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, q, 3);

    a_pa = galloc(&k, 2 * 4096);
    b_pa = galloc(&k, 2 * 4096);
    ts_pa = galloc(&k, 4096);
    /* A's two VA pages map to its physical pages in reverse order. */
    map_one(&k, va_a, a_pa + 4096, KNPU_PTE_READ | KNPU_PTE_WRITE, false);
    map_one(&k, va_a + 4096, a_pa, KNPU_PTE_READ | KNPU_PTE_WRITE, false);
    map_range(&k, va_b, b_pa, 2 * 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    map_range(&k, va_ts, ts_pa, 4096, KNPU_PTE_WRITE);
    /* A device-memory page, and a 2 MiB page in host memory. */
    map_one(&k, va_dev, 0x20000, KNPU_PTE_READ | KNPU_PTE_WRITE |
            KNPU_PTE_DEVMEM, false);
    big_alloc = galloc(&k, 4 * 1024 * 1024);
    big_pa = QEMU_ALIGN_UP(big_alloc, 2 * 1024 * 1024);
    map_one(&k, va_big, big_pa, KNPU_PTE_READ | KNPU_PTE_WRITE, true);

    args[0] = va_a;
    args[1] = va_b;
    args[2] = va_ts;
    args[3] = va_dev + 0x10;
    args[4] = va_big + 0x1ff000 - 8;    /* crosses 4 KiB inside 2 MiB */
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, nbytes, 0xd8c7b6a5);
    EMIT(&p, KNPU_OP_DMA_COPY, 0, 0, 3, 1, 0, nbytes);
    EMIT(&p, KNPU_OP_BARRIER, 0, 0, 0);
    EMIT(&p, KNPU_OP_TIMESTAMP, 0, 0, 1, 2);
    EMIT(&p, KNPU_OP_DMA_COPY, 0, 0, 3, 3, 0, 100);
    EMIT(&p, KNPU_OP_DMA_COPY, 0, 0, 3, 4, 0, 64);
    EMIT(&p, KNPU_OP_NOP, 0, 0, 0);
    load_kernel(&k, &j, &p, args, 5, 0x1234567890abcdefull);

    qtest_clock_step(k.qts, 5000000);
    submit(&k, q, &j.d);
    expect_done(&k, q, 1, 0x1234567890abcdefull);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_IRQ_STATUS), ==, KNPU_Q_IRQ_COMPLETE);
    g_assert_true(qpci_msix_pending(k.dev, q));
    g_assert_false(qpci_msix_pending(k.dev, q + 1));

    a = g_malloc(2 * 4096);
    b = g_malloc(2 * 4096);
    qtest_memread(k.qts, a_pa, a, 2 * 4096);
    qtest_memread(k.qts, b_pa, b, 2 * 4096);
    for (i = 0; i < nbytes; i++) {
        /* byte i of VA A lives at a[(i + 4096) % 8192] */
        uint8_t want = (0xd8c7b6a5 >> (8 * (i % 4))) & 0xff;

        g_assert_cmphex(a[(i + 4096) % 8192], ==, want);
        g_assert_cmphex(b[i], ==, want);
    }
    for (i = nbytes; i < 8192; i++) {
        g_assert_cmphex(b[i], ==, 0);
        g_assert_cmphex(a[(i + 4096) % 8192], ==, 0);
    }
    ts = qtest_readq(k.qts, ts_pa);
    g_assert_cmpuint(ts, >=, 5000000);
    devword = qpci_io_readl(k.dev, k.bar2, 0x20000 + 0x10);
    g_assert_cmphex(devword, ==, 0xd8c7b6a5);
    g_assert_cmphex(qpci_io_readl(k.dev, k.bar2, 0x20000 + 0x10 + 96), ==,
                    0xd8c7b6a5);
    g_assert_cmphex(qpci_io_readl(k.dev, k.bar2, 0x20000 + 0x10 + 100), ==,
                    0);
    g_assert_cmphex(qtest_readl(k.qts, big_pa + 0x1ff000 - 8), ==,
                    0xd8c7b6a5);
    g_assert_cmphex(qtest_readl(k.qts, big_pa + 0x1ff000 + 52), ==,
                    0xd8c7b6a5);
    g_assert_cmphex(qtest_readl(k.qts, big_pa + 0x1ff000 + 56), ==, 0);

    jobs = rd64(&k, KNPU_REG_JOBS_COMPLETED_LO);
    bytes = rd64(&k, KNPU_REG_BYTES_MOVED_LO);
    g_assert_cmpuint(jobs, ==, 1);
    g_assert_cmpuint(bytes, ==, nbytes + 2 * nbytes + 8 + 200 + 128);

    /*
     * A NOP descriptor completes and writes its fence; without IRQ no
     * interrupt status is raised.
     */
    qwr(&k, q, KNPU_Q_IRQ_STATUS, KNPU_Q_IRQ_COMPLETE);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_IRQ_STATUS), ==, 0);
    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_NOP;
    j.d.fence_value = 42;
    submit(&k, q, &j.d);
    expect_done(&k, q, 2, 42);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_IRQ_STATUS), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==, 2);

    /* Several jobs in one doorbell, wrapping around the ring. */
    for (i = 0; i < RING_ENTRIES + 3; i++) {
        memset(&j, 0, sizeof(j));
        j.d.type = KNPU_DESC_TYPE_NOP;
        j.d.fence_value = 100 + i;
        qtest_memwrite(k.qts, k.q[q].ring +
                       (uint64_t)k.q[q].tail * KNPU_DESC_SIZE, &j.d,
                       sizeof(j.d));
        k.q[q].tail = (k.q[q].tail + 1) % RING_ENTRIES;
        if (i % 4 == 3 || i == RING_ENTRIES + 2) {
            qwr(&k, q, KNPU_Q_TAIL, k.q[q].tail);
            qwr(&k, q, KNPU_Q_DOORBELL, 0);
            expect_done(&k, q, k.q[q].tail, 100 + i);
        }
    }
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==,
                     2 + RING_ENTRIES + 3);
    g_free(a);
    g_free(b);
    knpu_stop(&k);
}

/* Run a program that must fail with @code; no fence may be written. */
static Err run_bad(Knpu *k, unsigned q, const Prog *p, const uint64_t *args,
                   unsigned nargs, uint32_t code)
{
    Job j;
    uint64_t fence_before = qtest_readq(k->qts, k->q[q].fence);
    uint32_t head = qrd(k, q, KNPU_Q_HEAD);
    Err e;

    load_kernel(k, &j, p, args, nargs, 0xbad);
    submit(k, q, &j.d);
    e = expect_error(k, q, head, code);
    /* No fence for a failed job. */
    g_assert_cmphex(qtest_readq(k->qts, k->q[q].fence), ==, fence_before);
    return e;
}

static void test_errors(void)
{
    Knpu k;
    const unsigned q = 0;
    const uint64_t va_buf = 0x30000000, va_ro = 0x30100000;
    uint64_t buf_pa, ro_pa, args[4];
    uint32_t faults;
    Prog p;
    Job j;
    Err e;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, q, 0);
    buf_pa = galloc(&k, 4096);
    ro_pa = galloc(&k, 4096);
    map_range(&k, va_buf, buf_pa, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    map_range(&k, va_ro, ro_pa, 4096, KNPU_PTE_READ);
    args[0] = va_buf;
    args[1] = va_ro;
    args[2] = 0x7fff0000;               /* not mapped */
    args[3] = 1ull << 40;               /* not a 32-bit value */

    /* Invalid opcode, after a valid instruction: PC points at it. */
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 16, 0x01010101);
    EMIT(&p, 0x3f, 0, 0, 0);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_OPCODE_INVALID);
    g_assert_cmphex(e.pc, ==, 24);
    g_assert_cmphex(KNPU_ERR_INFO_OPERAND(e.info), ==, 0xff);
    g_assert_cmphex(qtest_readl(k.qts, buf_pa), ==, 0x01010101);
    /* The queue stays stopped until software acts. */
    qwr(&k, q, KNPU_Q_DOORBELL, 0);
    g_usleep(10000);
    g_assert_cmpuint(qrd(&k, q, KNPU_Q_HEAD), ==, 0);
    g_assert_true(qpci_msix_pending(k.dev, q));
    recover(&k, q, 1);

    /* Bad descriptor: reserved field set. */
    p.n = 0;
    EMIT(&p, KNPU_OP_NOP, 0, 0, 0);
    load_kernel(&k, &j, &p, NULL, 0, 0xbad);
    j.d.rsvd1[1] = 1;
    submit(&k, q, &j.d);
    e = expect_error(&k, q, 1, KNPU_ERR_DESC_INVALID);
    g_assert_cmphex(e.pc, ==, KNPU_ERR_PC_NONE);
    g_assert_cmphex(e.addr, ==, 0);
    /* RESUME skips the bad descriptor and runs the next one. */
    load_kernel(&k, &j, &p, NULL, 0, 0x77);
    j.d.program_size = 6;               /* not a multiple of 4 */
    submit(&k, q, &j.d);
    qwr(&k, q, KNPU_Q_IRQ_STATUS, ~0u);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESUME);
    e = expect_error(&k, q, 2, KNPU_ERR_DESC_INVALID);
    load_kernel(&k, &j, &p, NULL, 0, 0x78);
    submit(&k, q, &j.d);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESUME);
    expect_done(&k, q, 4, 0x78);
    recover(&k, q, 2);

    /* Unmapped destination: MMU fault at the exact VA, write access. */
    faults = rd(&k, KNPU_REG_MMU_FAULT_COUNT);
    p.n = 0;
    EMIT(&p, KNPU_OP_NOP, 0, 0, 0);
    EMIT(&p, KNPU_OP_DMA_COPY, 0, 0, 3, 2, 0, 64);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, 0x7fff0000);
    g_assert_cmphex(e.pc, ==, 12);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_NOT_PRESENT);
    g_assert_cmpuint(rd(&k, KNPU_REG_MMU_FAULT_COUNT), ==, faults + 1);
    recover(&k, q, 3);

    /*
     * Copy running off the end of a mapping: faults at the first unmapped
     * byte, after the mapped part was written.
     */
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 8192, 0xabababab);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmphex(e.addr, ==, va_buf + 4096);
    g_assert_cmphex(qtest_readl(k.qts, buf_pa + 4092), ==, 0xabababab);
    recover(&k, q, 4);

    /* Write to a read-only page: permission fault. */
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 1, 4, 0);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_PERMISSION);
    g_assert_cmphex(e.addr, ==, va_ro);
    recover(&k, q, 5);

    /* Opcode defined, data type not allowed for it: GEMM on INT32. */
    p.n = 0;
    EMIT(&p, KNPU_OP_GEMM, KNPU_DT_INT32, 0, 0x7, 0, 0, 0, 0, 1, 1, 1, 1, 1,
         1, 0x3f800000, 0);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_OPCODE_UNSUPPORTED);
    g_assert_cmphex(e.pc, ==, 0);
    recover(&k, q, 6);

    /* A data type on a byte-oriented instruction. */
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, KNPU_DT_FP32, 0, 1, 0, 4, 0);
    run_bad(&k, q, &p, args, 4, KNPU_ERR_OPCODE_UNSUPPORTED);
    recover(&k, q, 7);

    /*
     * Wrong operand count; undefined flags; address operand immediate;
     * value slot >= 2^32.
     */
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 4);
    run_bad(&k, q, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    recover(&k, q, 8);
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0x10, 1, 0, 4, 0);
    run_bad(&k, q, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    recover(&k, q, 9);
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 0, 0x1000, 4, 0);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 0);
    recover(&k, q, 10);
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 3, 0, 3, 0);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    recover(&k, q, 11);
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1 << 5, 0, 4, 0);
    run_bad(&k, q, &p, args, 4, KNPU_ERR_OPERAND_INVALID);
    recover(&k, q, 12);

    /* Slot index past the argument table. */
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 4, 4, 0);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_ARG_INDEX_INVALID);
    g_assert_cmphex(e.addr, ==, 4);
    recover(&k, q, 13);

    /* Misaligned semaphore. */
    args[3] = va_buf + 4;
    p.n = 0;
    EMIT(&p, KNPU_OP_SEM_SIGNAL, 0, 0, 1, 3, 1);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_ALIGNMENT);
    g_assert_cmphex(e.addr, ==, va_buf + 4);
    recover(&k, q, 14);

    /* Program truncated: an instruction running past program_size. */
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 4, 0);
    p.n--;
    run_bad(&k, q, &p, args, 4, KNPU_ERR_PROGRAM_INVALID);
    recover(&k, q, 15);
    p.n = 0;
    EMIT(&p, KNPU_OP_NOP, 0, 0, 0);
    p.w[0] |= 1u << 24;                 /* reserved bits of word 0 */
    run_bad(&k, q, &p, args, 4, KNPU_ERR_PROGRAM_INVALID);
    recover(&k, q, 16);

    /* A page table entry with reserved bits set. */
    map_one(&k, 0x31000000, buf_pa, KNPU_PTE_READ | (1ull << 60), false);
    args[3] = 0x31000000;
    p.n = 0;
    EMIT(&p, KNPU_OP_DMA_COPY, 0, 0, 3, 0, 3, 4);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_PTE_INVALID);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_READ);
    g_assert_cmpuint(KNPU_ERR_INFO_OPERAND(e.info), ==, 1);
    recover(&k, q, 17);

    /* A device-memory page outside device memory. */
    map_one(&k, 0x31001000, DEVMEM_SIZE, KNPU_PTE_READ | KNPU_PTE_DEVMEM,
            false);
    args[3] = 0x31001000;
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_PTE_INVALID);
    recover(&k, q, 18);

    /* A VA beyond 48 bits. */
    args[3] = 1ull << 48;
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_OUT_OF_RANGE);
    g_assert_cmphex(e.addr, ==, 1ull << 48);
    recover(&k, q, 19);

    /* A host page that is not RAM (the device's own BAR0): bus error. */
    {
        uint64_t bar0 = qpci_config_readl(k.dev, PCI_BASE_ADDRESS_0) & ~0xfull;

        map_one(&k, 0x31002000, bar0, KNPU_PTE_READ, false);
        args[3] = 0x31002000;
        e = run_bad(&k, q, &p, args, 4, KNPU_ERR_BUS_ERROR);
        g_assert_cmphex(e.addr, ==, bar0);
        g_assert_cmphex(rd(&k, KNPU_REG_SCRATCH), ==, 0);
        recover(&k, q, 20);
    }

    /*
     * Program fetch fault: the second instruction's page is not mapped.
     * The first instruction ran; PC is the second one.
     */
    {
        uint64_t prog_pa = galloc(&k, 4096);
        const uint64_t va_prog = 0x32000000 + 4096 - 24;
        uint32_t w[] = {
            KNPU_INSN_WORD0(KNPU_OP_DMA_FILL, 0, 3), 0, 1, 0, 4, 0x99999999,
        };
        unsigned i;

        for (i = 0; i < G_N_ELEMENTS(w); i++) {
            qtest_writel(k.qts, prog_pa + 4096 - 24 + 4 * i, w[i]);
        }
        map_one(&k, 0x32000000, prog_pa, KNPU_PTE_READ, false);
        load_kernel(&k, &j, &p, args, 4, 0xbad);
        j.d.program_va = va_prog;
        j.d.program_size = 24 + 12;
        submit(&k, q, &j.d);
        e = expect_error(&k, q, 1, KNPU_ERR_MMU_FAULT);
        g_assert_cmphex(e.addr, ==, 0x32001000);
        g_assert_cmphex(e.pc, ==, 24);
        g_assert_cmphex(qtest_readl(k.qts, buf_pa), ==, 0x99999999);
        recover(&k, q, 21);
    }

    /* Address space without a valid root, and MMU off. */
    wr(&k, KNPU_REG_AS_ROOT_LO(TEST_ASID), 0);
    p.n = 0;
    EMIT(&p, KNPU_OP_NOP, 0, 0, 0);
    e = run_bad(&k, q, &p, args, 4, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_AS_INVALID);
    g_assert_cmphex(e.addr, ==, k.last_args_va);
    g_assert_cmphex(e.pc, ==, KNPU_ERR_PC_NONE);
    queue_reset(&k, q);
    wr(&k, KNPU_REG_AS_ROOT_LO(TEST_ASID), (uint32_t)k.root |
       KNPU_AS_ROOT_VALID);
    wr(&k, KNPU_REG_MMU_CTRL, 0);
    queue_setup(&k, q, 0);
    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_NOP;
    submit(&k, q, &j.d);
    e = expect_error(&k, q, 0, KNPU_ERR_MMU_FAULT);
    g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==, KNPU_MMU_AS_INVALID);
    wr(&k, KNPU_REG_MMU_CTRL, KNPU_MMU_CTRL_ENABLE);
    recover(&k, q, 22);

    /* Other queues were never affected. */
    queue_setup(&k, 5, 0);
    run_good_job(&k, 5, 23);
    knpu_stop(&k);
}

/*
 * SEM_WAIT holds a core until the semaphore is signalled; busy time and
 * Q_STATUS.RUNNING show it; Q_CTRL.RESET aborts such a job.
 */
static void test_semaphores(void)
{
    Knpu k;
    uint64_t sem_pa, args[1] = { VA_SEM }, busy;
    Prog p = { .n = 0 };
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    queue_setup(&k, 1, 0);
    sem_pa = map_semaphore(&k);

    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 5);
    EMIT(&p, KNPU_OP_SEM_SIGNAL, 0, KNPU_SEM_SIGNAL_ADD, 1, 0, 10);
    load_kernel(&k, &j, &p, args, 1, 1);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_RUNNING);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS) & KNPU_DEV_STATUS_BUSY, ==,
                    KNPU_DEV_STATUS_BUSY);
    qtest_clock_step(k.qts, 3000000);
    busy = rd64(&k, KNPU_REG_CORE_BUSY_LO(0)) +
           rd64(&k, KNPU_REG_CORE_BUSY_LO(1));
    g_assert_cmpuint(busy, >=, 3000000);

    /* Another queue signals it: set 5, then the waiter adds 10. */
    p.n = 0;
    EMIT(&p, KNPU_OP_SEM_SIGNAL, 0, 0, 1, 0, 5);
    load_kernel(&k, &j, &p, args, 1, 2);
    submit(&k, 1, &j.d);
    expect_done(&k, 1, 1, 2);
    expect_done(&k, 0, 1, 1);
    g_assert_cmpuint(qtest_readq(k.qts, sem_pa), ==, 15);

    /* A wait that never ends is stopped by Q_CTRL.RESET, without fence. */
    p.n = 0;
    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 1000);
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 8, 0);
    load_kernel(&k, &j, &p, args, 1, 3);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS) & KNPU_Q_STATUS_RUNNING, ==,
                    KNPU_Q_STATUS_RUNNING);
    queue_reset(&k, 0);
    qtest_writeq(k.qts, sem_pa, 2000);
    g_usleep(20000);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 1);
    g_assert_cmpuint(qtest_readq(k.qts, sem_pa), ==, 2000);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS) & KNPU_DEV_STATUS_BUSY, ==, 0);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 4);

    /* The same with a soft reset. */
    qtest_writeq(k.qts, sem_pa, 0);
    load_kernel(&k, &j, &p, args, 1, 5);
    submit(&k, 0, &j.d);
    g_usleep(20000);
    wr(&k, KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS), ==, KNPU_DEV_STATUS_READY);
    qtest_writeq(k.qts, sem_pa, 2000);
    g_usleep(20000);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 4);
    g_assert_cmpuint(qtest_readq(k.qts, sem_pa), ==, 2000);
    knpu_stop(&k);
}

void knpu_add_cp_tests(void)
{
    qtest_add_func("/knpu/queue/fill-copy", test_fill_copy);
    qtest_add_func("/knpu/queue/errors", test_errors);
    qtest_add_func("/knpu/queue/semaphores", test_semaphores);
}
