/*
 * KNPU qtests under load: every queue busy, random registers and
 * programs, DMA bandwidth.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

/* Every queue busy at once, many batches: no completion is lost. */
static void test_stress(void)
{
    Knpu k;
    const uint64_t va = 0x80000000;
    const unsigned rounds = 6, batch = RING_ENTRIES - 1;
    uint64_t pa[NUM_QUEUES];
    unsigned q, r, b;
    uint32_t want;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    for (q = 0; q < NUM_QUEUES; q++) {
        queue_setup(&k, q, q % 4);
        pa[q] = galloc(&k, 4096);
        map_range(&k, va + q * 4096, pa[q], 4096,
                  KNPU_PTE_READ | KNPU_PTE_WRITE);
    }
    for (r = 0; r < rounds; r++) {
        for (q = 0; q < NUM_QUEUES; q++) {
            for (b = 0; b < batch; b++) {
                uint64_t args[1] = { va + q * 4096 + b * 256 };
                uint32_t n = r * batch + b + 1;
                Prog p = { .n = 0 };
                Job j;

                EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 256, q << 16 | n);
                load_kernel(&k, &j, &p, args, 1, n);
                j.d.flags = 0;
                qtest_memwrite(k.qts, k.q[q].ring +
                               (uint64_t)k.q[q].tail * KNPU_DESC_SIZE,
                               &j.d, sizeof(j.d));
                k.q[q].tail = (k.q[q].tail + 1) % RING_ENTRIES;
            }
            qwr(&k, q, KNPU_Q_TAIL, k.q[q].tail);
            qwr(&k, q, KNPU_Q_DOORBELL, 1);
        }
        for (q = 0; q < NUM_QUEUES; q++) {
            expect_done(&k, q, k.q[q].tail, (r + 1) * batch);
        }
    }
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==,
                     rounds * batch * NUM_QUEUES);
    for (q = 0; q < NUM_QUEUES; q++) {
        for (b = 0; b < batch; b++) {
            want = q << 16 | ((rounds - 1) * batch + b + 1);
            g_assert_cmphex(qtest_readl(k.qts, pa[q] + b * 256), ==, want);
            g_assert_cmphex(qtest_readl(k.qts, pa[q] + b * 256 + 252), ==,
                            want);
        }
    }
    knpu_stop(&k);
}

/*
 * Garbage in: random register writes, then random programs with random
 * operands and argument tables. The device must survive, keep every write
 * inside the job's mappings, and work normally afterwards.
 */
static void test_fuzz(void)
{
    static const uint8_t opcodes[] = {
        KNPU_OP_NOP, KNPU_OP_DMA_COPY, KNPU_OP_DMA_FILL, KNPU_OP_BARRIER,
        KNPU_OP_SEM_SIGNAL, KNPU_OP_SEM_WAIT, KNPU_OP_TIMESTAMP,
        KNPU_OP_GEMM, KNPU_OP_TRANSPOSE, 0x05, 0x3f, 0xff,
    };
    static const uint8_t fuzz_nops[] = { 0, 3, 3, 0, 2, 2, 1, 3, 3, 0, 1, 2 };
    static const uint8_t fuzz_amask[] = { 0, 3, 1, 0, 1, 1, 1, 7, 3, 0, 1, 0 };
    Knpu k;
    const uint64_t va = 0x90000000, size = 64 * 1024;
    uint64_t pa, canary;
    uint8_t *buf;
    unsigned i, n, jobs = 0, errors = 0;
    uint64_t regs_end = KNPU_REG_Q(NUM_QUEUES, 0x100);

    knpu_start(&k, NULL);
    for (i = 0; i < 2000; i++) {
        uint64_t reg = g_test_rand_int_range(0, regs_end / 4) * 4;
        uint32_t val = g_test_rand_bit() ? g_test_rand_int() :
                       g_test_rand_int_range(0, 16);

        if (reg == KNPU_REG_SOFT_RESET) {
            continue;   /* covered below, and it would undo the setup */
        }
        wr(&k, reg, val);
        rd(&k, g_test_rand_int_range(0, regs_end / 4) * 4);
    }
    g_assert_cmphex(rd(&k, KNPU_REG_ID), ==, KNPU_ID_VALUE);
    wr(&k, KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS), ==, KNPU_DEV_STATUS_READY);

    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    pa = galloc(&k, size);
    canary = galloc(&k, 4096);
    qtest_memset(k.qts, canary, 0xcc, 4096);
    map_range(&k, va, pa, size, KNPU_PTE_READ | KNPU_PTE_WRITE);

    for (n = 0; n < 150; n++) {
        uint64_t args[8];
        Prog p = { .n = 0 };
        unsigned ninsn = g_test_rand_int_range(1, 4), a;
        uint32_t head = qrd(&k, 0, KNPU_Q_HEAD), st;
        Job j;

        for (a = 0; a < 8; a++) {
            switch (g_test_rand_int_range(0, 6)) {
            case 0:
                args[a] = g_test_rand_int() | (uint64_t)g_test_rand_int() << 32;
                break;
            case 1:
                args[a] = g_test_rand_int_range(0, 70000);
                break;
            default:
                args[a] = va + g_test_rand_int_range(-4096, size + 4096);
                break;
            }
        }
        for (i = 0; i < ninsn; i++) {
            unsigned o = g_test_rand_int_range(0, sizeof(opcodes));
            uint32_t opc = opcodes[o];
            /* Mostly well-formed: the right count, addresses from slots. */
            bool good = g_test_rand_int_range(0, 10) < 8;
            uint32_t nops = good ? fuzz_nops[o] : g_test_rand_int_range(0, 4);
            uint32_t argmask = good ? fuzz_amask[o] :
                               g_test_rand_int_range(0, 16);
            uint32_t ops[4];

            for (a = 0; a < nops; a++) {
                ops[a] = (argmask >> a) & 1 ? g_test_rand_int_range(0, 9) :
                         g_test_rand_int_range(0, 9000);
            }
            if (opc == KNPU_OP_SEM_WAIT && nops > 1) {
                ops[1] = 0;     /* a wait that ends */
                argmask &= 1;
            }
            emit(&p, opc, good || g_test_rand_bit() ? 0 : 1,
                 good || g_test_rand_bit() ? 0 : 1, argmask, nops, ops);
        }
        load_kernel(&k, &j, &p, args, 8, n + 1);
        if (!g_test_rand_int_range(0, 10)) {
            j.d.program_size = g_test_rand_int_range(0, 80);
        }
        submit(&k, 0, &j.d);
        st = wait_queue_for(&k, 0, (head + 1) % RING_ENTRIES, 2000000);
        jobs++;
        if (st & KNPU_Q_STATUS_ERROR) {
            errors++;
            qwr(&k, 0, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESUME);
        } else if (st & KNPU_Q_STATUS_RUNNING) {
            queue_reset(&k, 0);
            queue_setup(&k, 0, 0);
        }
        g_assert_cmphex(rd(&k, KNPU_REG_ID), ==, KNPU_ID_VALUE);
    }
    g_test_message("fuzz: %u jobs, %u errors", jobs, errors);
    g_assert_cmpuint(errors, >, 0);
    g_assert_cmpuint(errors, <, jobs);

    buf = g_malloc(4096);
    qtest_memread(k.qts, canary, buf, 4096);
    for (i = 0; i < 4096; i++) {
        g_assert_cmphex(buf[i], ==, 0xcc);
    }
    g_free(buf);
    queue_reset(&k, 0);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 1000);
    knpu_stop(&k);
}

/*
 * DMA bandwidth through 2 MiB pages: not a pass/fail criterion beyond
 * correctness, but printed so that regressions show.
 */
static void test_dma_bandwidth(void)
{
    Knpu k;
    const uint64_t size = 16 * 1024 * 1024, big = 2 * 1024 * 1024;
    const uint64_t va_src = 0x200000000ull, va_dst = 0x300000000ull;
    uint64_t src, dst, off, args[2] = { va_dst, va_src };
    Prog p = { .n = 0 };
    Job j;
    gint64 t0, t1;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    src = QEMU_ALIGN_UP(guest_alloc(&k.qs->alloc, size + big), big);
    dst = QEMU_ALIGN_UP(guest_alloc(&k.qs->alloc, size + big), big);
    qtest_memset(k.qts, src, 0x3c, size);
    for (off = 0; off < size; off += big) {
        map_one(&k, va_src + off, src + off, KNPU_PTE_READ, true);
        map_one(&k, va_dst + off, dst + off, KNPU_PTE_WRITE, true);
    }
    EMIT(&p, KNPU_OP_DMA_COPY, 0, 0, 3, 0, 1, size);
    load_kernel(&k, &j, &p, args, 2, 1);
    t0 = g_get_monotonic_time();
    submit(&k, 0, &j.d);
    expect_done(&k, 0, 1, 1);
    t1 = g_get_monotonic_time();
    g_test_message("DMA_COPY of %" PRIu64 " MiB: %" PRId64 " us, %.0f MB/s",
                   size >> 20, t1 - t0, (double)size / MAX(t1 - t0, 1));
    g_assert_cmphex(qtest_readb(k.qts, dst), ==, 0x3c);
    g_assert_cmphex(qtest_readb(k.qts, dst + size - 1), ==, 0x3c);
    g_assert_cmphex(qtest_readb(k.qts, dst + size), ==, 0);
    knpu_stop(&k);
}

void knpu_add_stress_tests(void)
{
    qtest_add_func("/knpu/queue/stress", test_stress);
    qtest_add_func("/knpu/fuzz", test_fuzz);
    qtest_add_func("/knpu/dma-bandwidth", test_dma_bandwidth);
}
