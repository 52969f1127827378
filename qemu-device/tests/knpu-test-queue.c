/*
 * KNPU qtests: queue configuration and control, scheduling by priority.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

static void test_queue_config(void)
{
    Knpu k;
    const unsigned q = 3;
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);

    /* Ring size not a power of two: stays disabled, CONFIG_INVALID. */
    queue_setup(&k, q, 0);
    qwr(&k, q, KNPU_Q_CTRL, 0);
    qwr(&k, q, KNPU_Q_RING_SIZE, 3);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ERROR);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_ERROR), ==, KNPU_ERR_CONFIG_INVALID);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_ERROR_PC), ==, KNPU_ERR_PC_NONE);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_IRQ_STATUS), ==, 0);
    /* Ring base misaligned; ASID out of range; fence misaligned. */
    qwr(&k, q, KNPU_Q_RING_SIZE, 4096 * 2);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ERROR);
    qwr(&k, q, KNPU_Q_RING_SIZE, RING_ENTRIES);
    qwr(&k, q, KNPU_Q_RING_BASE_LO, (uint32_t)k.q[q].ring + 8);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ERROR);
    qwr(&k, q, KNPU_Q_RING_BASE_LO, (uint32_t)k.q[q].ring);
    qwr(&k, q, KNPU_Q_CONFIG, 64);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ERROR);
    qwr(&k, q, KNPU_Q_CONFIG, TEST_ASID);
    qwr(&k, q, KNPU_Q_FENCE_ADDR_LO, (uint32_t)k.q[q].fence + 4);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ERROR);
    qwr(&k, q, KNPU_Q_FENCE_ADDR_LO, (uint32_t)k.q[q].fence);
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ENABLED);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_ERROR), ==, 0);

    /* Configuration is frozen while enabled. */
    qwr(&k, q, KNPU_Q_RING_SIZE, 16);
    g_assert_cmpuint(qrd(&k, q, KNPU_Q_RING_SIZE), ==, RING_ENTRIES);

    /* Doorbell with a tail beyond the ring: TAIL_INVALID, queue stopped. */
    qwr(&k, q, KNPU_Q_TAIL, RING_ENTRIES);
    qwr(&k, q, KNPU_Q_DOORBELL, 1);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_ERROR);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_ERROR), ==, KNPU_ERR_TAIL_INVALID);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_ERROR_PC), ==, KNPU_ERR_PC_NONE);
    g_assert_cmphex(rd64(&k, KNPU_REG_Q(q, KNPU_Q_ERROR_ADDR_LO)), ==, 0);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_IRQ_STATUS), ==, KNPU_Q_IRQ_ERROR);
    g_assert_cmpuint(qrd(&k, q, KNPU_Q_HEAD), ==, 0);
    qwr(&k, q, KNPU_Q_TAIL, 0xffffffff);
    qwr(&k, q, KNPU_Q_DOORBELL, 1);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_ERROR), ==, KNPU_ERR_TAIL_INVALID);
    /* RESUME after a tail error skips nothing: no descriptor failed. */
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESUME);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ENABLED);
    g_assert_cmpuint(qrd(&k, q, KNPU_Q_HEAD), ==, 0);
    k.q[q].tail = 0;
    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_NOP;
    j.d.fence_value = 0x70;
    submit(&k, q, &j.d);
    expect_done(&k, q, 1, 0x70);
    /* RESET wins over ENABLE in the same write. */
    qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESET);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, 0);
    queue_reset(&k, q);

    /* A doorbell on a disabled queue does nothing. */
    qwr(&k, q, KNPU_Q_TAIL, 1);
    qwr(&k, q, KNPU_Q_DOORBELL, 1);
    g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==, 0);

    /* Working again after the reset. */
    queue_setup(&k, q, 0);
    run_good_job(&k, q, 1);

    /* DEV_CTRL.ENABLE clear: nothing is fetched until it is set. */
    wr(&k, KNPU_REG_DEV_CTRL, 0);
    memset(&j, 0, sizeof(j));
    j.d.type = KNPU_DESC_TYPE_NOP;
    j.d.fence_value = 2;
    submit(&k, q, &j.d);
    g_usleep(20000);
    g_assert_cmpuint(qrd(&k, q, KNPU_Q_HEAD), ==, 1);
    wr(&k, KNPU_REG_DEV_CTRL, KNPU_DEV_CTRL_ENABLE);
    expect_done(&k, q, 2, 2);
    knpu_stop(&k);
}

/*
 * Clearing Q_CTRL.ENABLE stops fetching but lets the running job finish;
 * the queue fetches again once re-enabled.
 */
static void test_disable_running(void)
{
    Knpu k;
    uint64_t sem_pa;
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    sem_pa = map_semaphore(&k);
    load_sem_wait_job(&k, &j, 1);
    submit(&k, 0, &j.d);
    load_sem_wait_job(&k, &j, 2);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);

    qwr(&k, 0, KNPU_Q_CTRL, 0);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_RUNNING);
    qtest_writeq(k.qts, sem_pa, 1);
    g_assert_cmphex(wait_queue(&k, 0, 1), ==, 0);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 1);
    g_usleep(20000);
    g_assert_cmpuint(qrd(&k, 0, KNPU_Q_HEAD), ==, 1);   /* job 2 waits */
    knpu_stop(&k);
}

/* The device's start and end times in ring slot @slot of queue @q. */
static void read_job_times(Knpu *k, unsigned q, unsigned slot, uint64_t *start,
                           uint64_t *end)
{
    uint64_t desc = k->q[q].ring + (uint64_t)slot * KNPU_DESC_SIZE;

    *start = qtest_readq(k->qts, desc + KNPU_DESC_TIMES_OFFSET);
    *end = qtest_readq(k->qts, desc + KNPU_DESC_TIMES_OFFSET + 8);
}

/*
 * FLAG_TIMESTAMPS (5.1): a completed job's descriptor gets when a core took
 * it and when it ended, on the device clock; without the flag, and for a
 * job that fails, the descriptor is left as written.
 */
static void test_job_timestamps(void)
{
    uint64_t sem_pa, start, end, now;
    uint64_t unmapped[1] = { 0x7000000000ull };
    Prog fill = { .n = 0 };
    Knpu k;
    Job j;

    knpu_start(&k, NULL);
    g_assert_cmphex(rd(&k, KNPU_REG_FEATURES) & KNPU_FEAT_JOB_TIMESTAMPS, ==,
                    KNPU_FEAT_JOB_TIMESTAMPS);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    sem_pa = map_semaphore(&k);

    /*
     * Slot 0: timed, taken by a core 1 ms after power-on (the virtual
     * clock moves only when stepped) and held by a semaphore for 3 ms.
     */
    qtest_clock_step(k.qts, 1000000);
    load_sem_wait_job(&k, &j, 1);
    j.d.flags |= KNPU_DESC_FLAG_TIMESTAMPS;
    submit(&k, 0, &j.d);
    wait_running(&k, 0);
    qtest_clock_step(k.qts, 3000000);
    qtest_writeq(k.qts, sem_pa, 1);
    expect_done(&k, 0, 1, 1);
    read_job_times(&k, 0, 0, &start, &end);
    now = rd64(&k, KNPU_REG_TIMESTAMP_LO);
    g_assert_cmpuint(start, >=, 1000000);
    g_assert_cmpuint(end - start, >=, 3000000);
    g_assert_cmpuint(end, <=, now);

    /* Slot 1: the same job untimed. */
    load_sem_wait_job(&k, &j, 2);
    submit(&k, 0, &j.d);
    expect_done(&k, 0, 2, 2);
    read_job_times(&k, 0, 1, &start, &end);
    g_assert_cmpuint(start, ==, 0);
    g_assert_cmpuint(end, ==, 0);

    /* Slot 2: timed, but it faults: no times. */
    EMIT(&fill, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 64, 0);
    load_kernel(&k, &j, &fill, unmapped, 1, 3);
    j.d.flags |= KNPU_DESC_FLAG_TIMESTAMPS;
    submit(&k, 0, &j.d);
    expect_error(&k, 0, 2, KNPU_ERR_MMU_FAULT);
    read_job_times(&k, 0, 2, &start, &end);
    g_assert_cmpuint(start, ==, 0);
    g_assert_cmpuint(end, ==, 0);
    knpu_stop(&k);
}

/*
 * When more queues wait than cores are idle, higher priority wins: with
 * both cores held by semaphore waits, a priority-0 job is queued before a
 * priority-3 job; freeing one core runs the priority-3 job first.
 */
static void test_priority(void)
{
    Knpu k;
    const uint64_t va = 0x60000000;
    uint64_t pa, args[2];
    Prog p;
    Job j;
    unsigned q;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    pa = galloc(&k, 4096);
    map_range(&k, va, pa, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    for (q = 0; q < 4; q++) {
        queue_setup(&k, q, q == 3 ? 3 : 0);
    }

    /* Queues 0 and 1 each hold a core: wait for sem[q] (at va + 8q). */
    for (q = 0; q < 2; q++) {
        args[0] = va + 8 * q;
        p.n = 0;
        EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 1);
        load_kernel(&k, &j, &p, args, 1, 1);
        submit(&k, q, &j.d);
    }
    for (q = 0; q < 2; q++) {
        wait_running(&k, q);
        g_assert_cmphex(qrd(&k, q, KNPU_Q_STATUS), ==,
                        KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_RUNNING);
    }

    /*
     * Queues 2 (low) then 3 (high): copy the counter at va + 64 to
     * va + 128 + 8q, then add 1 to it.
     */
    for (q = 2; q < 4; q++) {
        args[0] = va + 64;
        args[1] = va + 128 + 8 * q;
        p.n = 0;
        EMIT(&p, KNPU_OP_DMA_COPY, 0, 0, 3, 1, 0, 8);
        EMIT(&p, KNPU_OP_SEM_SIGNAL, 0, KNPU_SEM_SIGNAL_ADD, 1, 0, 1);
        load_kernel(&k, &j, &p, args, 2, 10 + q);
        submit(&k, q, &j.d);
    }
    g_usleep(20000);
    g_assert_cmpuint(qrd(&k, 2, KNPU_Q_HEAD), ==, 0);
    g_assert_cmpuint(qrd(&k, 3, KNPU_Q_HEAD), ==, 0);

    qtest_writeq(k.qts, pa, 1);         /* free queue 0's core */
    expect_done(&k, 0, 1, 1);
    expect_done(&k, 3, 1, 13);
    expect_done(&k, 2, 1, 12);
    g_assert_cmpuint(qtest_readq(k.qts, pa + 128 + 8 * 3), ==, 0);
    g_assert_cmpuint(qtest_readq(k.qts, pa + 128 + 8 * 2), ==, 1);
    g_assert_cmpuint(qtest_readq(k.qts, pa + 64), ==, 2);
    g_assert_cmphex(qrd(&k, 1, KNPU_Q_STATUS), ==,
                    KNPU_Q_STATUS_ENABLED | KNPU_Q_STATUS_RUNNING);
    qtest_writeq(k.qts, pa + 8, 1);
    expect_done(&k, 1, 1, 1);
    knpu_stop(&k);
}

void knpu_add_queue_tests(void)
{
    qtest_add_func("/knpu/queue/config", test_queue_config);
    qtest_add_func("/knpu/queue/disable-running", test_disable_running);
    qtest_add_func("/knpu/queue/priority", test_priority);
    qtest_add_func("/knpu/queue/job-timestamps", test_job_timestamps);
}
