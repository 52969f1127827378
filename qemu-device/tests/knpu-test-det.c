/*
 * KNPU qtests: the deterministic engine (x-deterministic=on). Jobs run
 * only inside clock_step, on the main loop thread; a job that waits parks
 * on its core, and every reset still ends it. No test here sleeps: what
 * the device did is a function of the commands sent.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

/* A runnable queue is taken at the first tick, this long after its doorbell. */
#define DET_TICK_NS     1000
/* SEM_WAIT polls at most this far apart. */
#define DET_POLL_NS     200000

#define VA_A    0x50000000ull
#define VA_B    0x50001000ull

static void det_start(Knpu *k, const char *extra)
{
    g_autofree char *opts = g_strdup_printf(",x-deterministic=on%s",
                                            extra ? extra : "");

    knpu_start(k, opts);
    mmu_setup(k);
}

static uint32_t status(Knpu *k, unsigned q)
{
    return qrd(k, q, KNPU_Q_STATUS);
}

/*
 * A deterministic device with queues 0 to @nqueues - 1 set up, two zeroed
 * pages mapped at VA_A and VA_B and the semaphore page at VA_SEM. Returns
 * the address of the first page, and in *@sem_pa the semaphore's.
 */
static uint64_t det_setup(Knpu *k, unsigned nqueues, uint64_t *sem_pa)
{
    uint64_t pa;
    unsigned q;

    det_start(k, NULL);
    pa = galloc(k, 8192);
    map_range(k, VA_A, pa, 8192, KNPU_PTE_READ | KNPU_PTE_WRITE);
    *sem_pa = map_semaphore(k);
    for (q = 0; q < nqueues; q++) {
        queue_setup(k, q, 0);
    }
    return pa;
}

/* A job of queue @q is on a core: parked, in this engine. */
static void expect_running(Knpu *k, unsigned q)
{
    g_assert_cmphex(status(k, q), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_RUNNING);
}

/* Submit and step the clock to the first tick after the doorbell. */
static void submit_tick(Knpu *k, unsigned q, const KnpuDesc *d)
{
    submit(k, q, d);
    qtest_clock_step(k->qts, DET_TICK_NS);
}

/*
 * A job that fills 64 bytes at VA_A, waits until the semaphore at VA_SEM
 * reaches @sem, then fills 64 bytes at VA_B.
 */
static void load_fill_wait_fill(Knpu *k, Job *j, uint32_t sem, uint64_t fence)
{
    const uint64_t args[3] = { VA_SEM, VA_A, VA_B };
    Prog p = { .n = 0 };

    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 1, 64, 0x11111111);
    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, sem);
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 2, 64, 0x22222222);
    load_kernel(k, j, &p, args, 3, fence);
}

/* A job becomes runnable at the doorbell but runs only inside clock_step. */
static void test_det_clock_step(void)
{
    const uint64_t args[1] = { VA_A };
    uint64_t pa, times[2];
    Prog p = { .n = 0 };
    Knpu k;
    Job j;
    uint64_t sem_pa;
    unsigned i, q;

    pa = det_setup(&k, 3, &sem_pa);
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 4096, 0x5a5a5a5a);
    load_kernel(&k, &j, &p, args, 1, 0x10);
    j.d.flags |= KNPU_DESC_FLAG_TIMESTAMPS;
    submit(&k, 0, &j.d);

    /* However many accesses: no clock step, no job. */
    for (i = 0; i < 100; i++) {
        g_assert_cmphex(status(&k, 0), ==, KNPU_Q_STATUS_ENABLED);
        g_assert_cmpuint(qrd(&k, 0, KNPU_Q_HEAD), ==, 0);
    }
    qtest_clock_step(k.qts, DET_TICK_NS - 1);
    g_assert_cmpuint(qrd(&k, 0, KNPU_Q_HEAD), ==, 0);
    g_assert_cmphex(qtest_readl(k.qts, pa), ==, 0);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0);

    qtest_clock_step(k.qts, 1);
    g_assert_cmphex(status(&k, 0), ==, KNPU_Q_STATUS_ENABLED);
    g_assert_cmpuint(qrd(&k, 0, KNPU_Q_HEAD), ==, 1);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0x10);
    g_assert_cmphex(qtest_readl(k.qts, pa + 4092), ==, 0x5a5a5a5a);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_IRQ_STATUS), ==, KNPU_Q_IRQ_COMPLETE);
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==, 1);
    g_assert_cmpuint(rd64(&k, KNPU_REG_BYTES_MOVED_LO), ==, 4096);
    /* It started and ended in the same tick: no device time went by. */
    qtest_memread(k.qts, k.q[0].ring + KNPU_DESC_TIMES_OFFSET, times,
                  sizeof(times));
    g_assert_cmpuint(times[0], ==, times[1]);
    g_assert_cmpuint(rd64(&k, KNPU_REG_CORE_BUSY_LO(0)) +
                     rd64(&k, KNPU_REG_CORE_BUSY_LO(1)), ==, 0);

    /* Three queues at once: all done in the tick after their doorbells. */
    for (q = 0; q < 3; q++) {
        Job nop = { .d = { .type = KNPU_DESC_TYPE_NOP,
                           .fence_value = 0x20 + q } };

        submit(&k, q, &nop.d);
    }
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==, 1);
    qtest_clock_step(k.qts, DET_TICK_NS);
    for (q = 0; q < 3; q++) {
        g_assert_cmpuint(qrd(&k, q, KNPU_Q_HEAD), ==, q ? 1 : 2);
        g_assert_cmpuint(qtest_readq(k.qts, k.q[q].fence), ==, 0x20 + q);
    }
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==, 4);
    knpu_stop(&k);
}

/*
 * A SEM_WAIT on a semaphore not yet signalled parks its job: it holds its
 * core and its queue (RUNNING) across any number of clock steps, and goes
 * on at a tick after the semaphore is set, by the CPU or by a job.
 */
static void test_det_sem_wait(void)
{
    const uint64_t sig_args[1] = { VA_SEM };
    uint64_t pa, sem_pa;
    Prog p = { .n = 0 };
    Knpu k;
    Job j;

    pa = det_setup(&k, 2, &sem_pa);
    load_fill_wait_fill(&k, &j, 1, 0x30);
    submit_tick(&k, 0, &j.d);
    expect_running(&k, 0);
    g_assert_cmphex(qtest_readl(k.qts, pa + 60), ==, 0x11111111);
    g_assert_cmphex(qtest_readl(k.qts, pa + 4096), ==, 0);
    qtest_clock_step(k.qts, 10 * 1000 * 1000);
    expect_running(&k, 0);
    /* A core was busy for exactly the 10 ms. */
    g_assert_cmpuint(rd64(&k, KNPU_REG_CORE_BUSY_LO(0)) +
                     rd64(&k, KNPU_REG_CORE_BUSY_LO(1)), ==,
                     10 * 1000 * 1000);

    /* Set by the CPU: seen at the next poll, not before a tick. */
    qtest_writeq(k.qts, sem_pa, 1);
    expect_running(&k, 0);
    qtest_clock_step(k.qts, DET_POLL_NS);
    expect_done(&k, 0, 1, 0x30);
    g_assert_cmphex(qtest_readl(k.qts, pa + 4096 + 60), ==, 0x22222222);

    /* Set by a job of another queue, on the other core. */
    qtest_writeq(k.qts, sem_pa, 0);
    qtest_memset(k.qts, pa, 0, 8192);
    load_fill_wait_fill(&k, &j, 2, 0x31);
    submit_tick(&k, 0, &j.d);
    expect_running(&k, 0);
    EMIT(&p, KNPU_OP_SEM_SIGNAL, 0, KNPU_SEM_SIGNAL_ADD, 1, 0, 2);
    load_kernel(&k, &j, &p, sig_args, 1, 0x40);
    submit_tick(&k, 1, &j.d);
    expect_done(&k, 1, 1, 0x40);
    qtest_clock_step(k.qts, DET_POLL_NS);
    expect_done(&k, 0, 2, 0x31);
    g_assert_cmpuint(qtest_readq(k.qts, sem_pa), ==, 2);
    g_assert_cmphex(qtest_readl(k.qts, pa + 4096), ==, 0x22222222);
    knpu_stop(&k);
}

/*
 * Queue reset in the middle of a job, its first instruction done and the
 * second waiting on a semaphore: the register write ends the job, which
 * writes nothing more, not even once the semaphore is set.
 */
static void test_det_queue_reset_mid_job(void)
{
    uint64_t pa, sem_pa;
    Knpu k;
    Job j;

    pa = det_setup(&k, 1, &sem_pa);
    load_fill_wait_fill(&k, &j, 1, 0x50);
    submit_tick(&k, 0, &j.d);
    expect_running(&k, 0);
    g_assert_cmphex(qtest_readl(k.qts, pa), ==, 0x11111111);

    queue_reset(&k, 0);
    qtest_writeq(k.qts, sem_pa, 1);
    qtest_clock_step(k.qts, 10 * DET_POLL_NS);
    g_assert_cmphex(qtest_readl(k.qts, pa + 4096), ==, 0);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0);
    g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==, 0);

    /* Disable and enable again under a parked job: aborted the same way. */
    qtest_writeq(k.qts, sem_pa, 0);
    queue_setup(&k, 0, 0);
    load_fill_wait_fill(&k, &j, 1, 0x51);
    submit_tick(&k, 0, &j.d);
    expect_running(&k, 0);
    qwr(&k, 0, KNPU_Q_CTRL, 0);
    g_assert_cmphex(status(&k, 0), ==, KNPU_Q_STATUS_RUNNING);
    qwr(&k, 0, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    g_assert_cmphex(status(&k, 0), ==, KNPU_Q_STATUS_ENABLED);
    qtest_writeq(k.qts, sem_pa, 1);
    qtest_clock_step(k.qts, 10 * DET_POLL_NS);
    g_assert_cmphex(qtest_readl(k.qts, pa + 4096), ==, 0);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0);

    k.q[0].tail = 0;
    run_good_job(&k, 0, 0x52);
    knpu_stop(&k);
}

/*
 * Both cores held by jobs hung by injection, parked for good: a third
 * queue's job waits for a core, and takes the one a queue reset frees at
 * the next tick.
 */
static void test_det_core_freed(void)
{
    Job nop = { .d = { .type = KNPU_DESC_TYPE_NOP, .fence_value = 0x58 } };
    Knpu k;
    unsigned q;

    det_start(&k, NULL);
    for (q = 0; q < 3; q++) {
        queue_setup(&k, q, 0);
    }
    for (q = 0; q < 2; q++) {
        qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', "
                                 "'arguments': {'path': 'npu', 'property': "
                                 "'inject-hang-queue', 'value': %u}}", q);
        submit(&k, q, &nop.d);
    }
    qtest_clock_step(k.qts, DET_TICK_NS);
    submit(&k, 2, &nop.d);
    qtest_clock_step(k.qts, 10 * DET_POLL_NS);
    for (q = 0; q < 2; q++) {
        expect_running(&k, q);
    }
    g_assert_cmpuint(qrd(&k, 2, KNPU_Q_HEAD), ==, 0);

    queue_reset(&k, 0);
    qtest_clock_step(k.qts, DET_TICK_NS);
    g_assert_cmpuint(qrd(&k, 2, KNPU_Q_HEAD), ==, 1);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[2].fence), ==, 0x58);
    knpu_stop(&k);
}

enum { RESET_QUEUE, RESET_SOFT, RESET_FLR, RESET_SYSTEM, RESET_COUNT };

/*
 * Every reset ends a parked job at once: one waiting on a semaphore, and
 * one hanging by injection. The device runs jobs afterwards.
 */
static void test_det_resets(void)
{
    unsigned how, hang;

    for (how = 0; how < RESET_COUNT; how++) {
        for (hang = 0; hang < 2; hang++) {
            uint64_t pa, sem_pa;
            Knpu k;
            Job j;

            g_test_message("reset %u, %s", how, hang ? "hang" : "SEM_WAIT");
            pa = det_setup(&k, 1, &sem_pa);
            if (hang) {
                qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', "
                                         "'arguments': {'path': 'npu', "
                                         "'property': 'inject-hang-queue', "
                                         "'value': 0}}");
            }
            load_fill_wait_fill(&k, &j, 1, 0x60);
            submit(&k, 0, &j.d);
            qtest_clock_step(k.qts, 100 * DET_POLL_NS);
            expect_running(&k, 0);

            switch (how) {
            case RESET_QUEUE:
                queue_reset(&k, 0);
                break;
            case RESET_SOFT:
                wr(&k, KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
                break;
            case RESET_FLR:
                knpu_flr(&k);
                knpu_remap(&k);
                qpci_msix_enable(k.dev);
                break;
            case RESET_SYSTEM:
                qtest_qmp_assert_success(k.qts,
                                         "{'execute': 'system_reset'}");
                qtest_qmp_eventwait(k.qts, "RESET");
                knpu_remap(&k);
                break;
            }
            g_assert_cmphex(status(&k, 0), ==, 0);
            qtest_writeq(k.qts, sem_pa, 1);
            qtest_clock_step(k.qts, 10 * DET_POLL_NS);
            g_assert_cmphex(qtest_readl(k.qts, pa + 4096), ==, 0);
            g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0);
            g_assert_cmpuint(rd64(&k, KNPU_REG_JOBS_COMPLETED_LO), ==, 0);

            if (how != RESET_QUEUE) {
                mmu_setup(&k);
            }
            queue_setup(&k, 0, 0);
            run_good_job(&k, 0, 0x61);
            knpu_stop(&k);
        }
    }
}

/* An uncorrectable error fails a parked job at its next poll. */
static void test_det_uncorrectable(void)
{
    uint64_t sem_pa;
    Knpu k;
    Job j;

    det_setup(&k, 1, &sem_pa);
    load_fill_wait_fill(&k, &j, 1, 0x70);
    submit_tick(&k, 0, &j.d);
    expect_running(&k, 0);
    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-uncorrectable', 'value': true}}");
    qtest_clock_step(k.qts, DET_POLL_NS);
    g_assert_cmphex(status(&k, 0), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_ERROR);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_ERROR), ==, KNPU_ERR_UNCORRECTABLE);
    /* At the SEM_WAIT, the second instruction (24 bytes each). */
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_ERROR_PC), ==, 24);
    knpu_stop(&k);
}

/*
 * While the VM is stopped no tick runs a job, however far the clock is
 * stepped; after "cont" the parked job and the queued one go on.
 */
static void test_det_vm_stop(void)
{
    const uint64_t args[1] = { VA_B };
    uint64_t pa, sem_pa;
    Prog p = { .n = 0 };
    Knpu k;
    Job j;

    pa = det_setup(&k, 2, &sem_pa);
    load_sem_wait_job(&k, &j, 1);
    submit_tick(&k, 0, &j.d);
    expect_running(&k, 0);

    qtest_qmp_assert_success(k.qts, "{'execute': 'stop'}");
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 64, 0x5a5a5a5a);
    load_kernel(&k, &j, &p, args, 1, 2);
    submit(&k, 1, &j.d);
    qtest_writeq(k.qts, sem_pa, 1);
    qtest_clock_step(k.qts, 10 * DET_POLL_NS);
    expect_running(&k, 0);
    g_assert_cmpuint(qrd(&k, 1, KNPU_Q_HEAD), ==, 0);
    g_assert_cmphex(qtest_readl(k.qts, pa + 4096), ==, 0);

    qtest_qmp_assert_success(k.qts, "{'execute': 'cont'}");
    qtest_clock_step(k.qts, DET_POLL_NS);
    expect_done(&k, 0, 1, 1);
    expect_done(&k, 1, 1, 2);
    g_assert_cmphex(qtest_readl(k.qts, pa + 4096 + 60), ==, 0x5a5a5a5a);
    knpu_stop(&k);
}

/*
 * A throttled device stalls its jobs on the virtual clock: in this engine
 * 1 ns per byte moved, paid between instructions by parking. A 64 KiB
 * fill completes only once that much device time has passed.
 */
static void test_det_throttle(void)
{
    const uint64_t args[1] = { VA_A };
    uint64_t pa = 0, times[2];
    Prog p = { .n = 0 };
    Knpu k;
    Job j;

    det_start(&k, NULL);
    pa = galloc(&k, 65536);
    map_range(&k, VA_A, pa, 65536, KNPU_PTE_READ | KNPU_PTE_WRITE);
    queue_setup(&k, 0, 0);
    qtest_qmp_assert_success(k.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': 'npu', 'property': "
                             "'inject-overheat', 'value': true}}");
    g_assert_cmphex(rd(&k, KNPU_REG_DEV_STATUS) & KNPU_DEV_STATUS_THROTTLED,
                    ==, KNPU_DEV_STATUS_THROTTLED);
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 65536, 0x77777777);
    load_kernel(&k, &j, &p, args, 1, 0x80);
    j.d.flags |= KNPU_DESC_FLAG_TIMESTAMPS;
    submit_tick(&k, 0, &j.d);
    qtest_clock_step(k.qts, 65536 / 2);
    expect_running(&k, 0);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0);
    qtest_clock_step(k.qts, 65536);
    expect_done(&k, 0, 1, 0x80);
    g_assert_cmphex(qtest_readl(k.qts, pa + 65532), ==, 0x77777777);
    qtest_memread(k.qts, k.q[0].ring + KNPU_DESC_TIMES_OFFSET, times,
                  sizeof(times));
    g_assert_cmpuint(times[1] - times[0], >=, 65536);
    g_assert_cmpuint(times[1] - times[0], <, 2 * 65536);
    knpu_stop(&k);
}

/* Hot-unplug with a parked job: the job ends with the device. */
static void test_det_unplug(void)
{
    uint64_t sem_pa;
    Knpu k;
    Job j;

    det_start(&k, ",addr=06.0");
    queue_setup(&k, 0, 0);
    sem_pa = map_semaphore(&k);
    load_sem_wait_job(&k, &j, 1);
    submit_tick(&k, 0, &j.d);
    expect_running(&k, 0);

    qpci_unplug_acpi_device_test(k.qts, "npu", 0x06);
    qtest_writeq(k.qts, sem_pa, 1);
    qtest_clock_step(k.qts, 10 * DET_POLL_NS);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0);
    knpu_stop(&k);
}

void knpu_add_det_tests(void)
{
    qtest_add_func("/knpu/det/clock-step", test_det_clock_step);
    qtest_add_func("/knpu/det/sem-wait", test_det_sem_wait);
    qtest_add_func("/knpu/det/queue-reset-mid-job",
                   test_det_queue_reset_mid_job);
    qtest_add_func("/knpu/det/core-freed", test_det_core_freed);
    qtest_add_func("/knpu/det/resets", test_det_resets);
    qtest_add_func("/knpu/det/uncorrectable", test_det_uncorrectable);
    qtest_add_func("/knpu/det/vm-stop", test_det_vm_stop);
    qtest_add_func("/knpu/det/throttle", test_det_throttle);
    qtest_add_func("/knpu/det/unplug", test_det_unplug);
}
