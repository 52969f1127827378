/*
 * QTest for the KNPU device model (docs/hw-spec.md): what the test files
 * share.
 *
 * The tests drive the registers directly, build rings, page tables,
 * programs and argument tables in guest memory, and check what the device
 * wrote. Each tests file registers its tests with a knpu_add_*_tests()
 * function called from main() in knpu-test.c.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef KNPU_QTEST_H
#define KNPU_QTEST_H

#include "tests/qtest/libqtest.h"
#include "tests/qtest/libqos/libqos-pc.h"
#include "tests/qtest/libqos/pci.h"
#include "qapi/qmp/qdict.h"
#include "standard-headers/linux/pci_regs.h"
#include "hw/misc/knpu/knpu-hw.h"

#define NUM_CORES       2
#define NUM_QUEUES      8
#define DEVMEM_SIZE     (16 * 1024 * 1024)
#define RING_ENTRIES    8
#define TEST_ASID       3
#define POLL_TIMEOUT_US (10 * 1000 * 1000)

typedef struct KnpuQ {
    uint64_t ring;
    uint64_t fence;
    uint32_t tail;
} KnpuQ;

typedef struct Knpu {
    QOSState *qs;
    QTestState *qts;
    QPCIDevice *dev;
    QPCIBar bar0;
    QPCIBar bar2;
    uint64_t root;          /* level-0 table of TEST_ASID */
    unsigned nkernels;      /* programs loaded so far */
    uint64_t last_args_va;
    KnpuQ q[NUM_QUEUES];
} Knpu;

typedef struct Prog {
    uint32_t w[256];
    unsigned n;
} Prog;

typedef struct Job {
    KnpuDesc d;
} Job;

typedef struct Err {
    uint32_t code;
    uint32_t info;
    uint64_t addr;
    uint32_t pc;
} Err;

/*
 * Each job's program and argument table get pages of their own, mapped
 * read-only from VA_KERNELS on, so that jobs queued together do not share
 * them.
 */
#define VA_KERNELS  0x10000000000ull

/* Registers of BAR0 */

static inline uint32_t rd(Knpu *k, uint64_t reg)
{
    return qpci_io_readl(k->dev, k->bar0, reg);
}

static inline void wr(Knpu *k, uint64_t reg, uint32_t val)
{
    qpci_io_writel(k->dev, k->bar0, reg, val);
}

static inline uint32_t qrd(Knpu *k, unsigned q, uint64_t reg)
{
    return rd(k, KNPU_REG_Q(q, reg));
}

static inline void qwr(Knpu *k, unsigned q, uint64_t reg, uint32_t val)
{
    wr(k, KNPU_REG_Q(q, reg), val);
}

static inline uint64_t rd64(Knpu *k, uint64_t lo)
{
    uint64_t v = rd(k, lo);

    return v | (uint64_t)rd(k, lo + 4) << 32;
}

/* Machine and guest memory (knpu-qtest.c) */
void knpu_boot(Knpu *k, bool q35, const char *extra);
void knpu_start(Knpu *k, const char *extra);
void knpu_stop(Knpu *k);
void knpu_flr(Knpu *k);
void knpu_remap(Knpu *k);
uint64_t galloc(Knpu *k, size_t size);

/* Page tables of TEST_ASID */
void map_one(Knpu *k, uint64_t va, uint64_t target, uint64_t flags,
             bool large);
void map_range(Knpu *k, uint64_t va, uint64_t pa, uint64_t size,
               uint64_t flags);
void mmu_setup(Knpu *k);

/* Queues, programs and jobs */
void queue_setup(Knpu *k, unsigned q, uint32_t prio);
void queue_reset(Knpu *k, unsigned q);
void emit(Prog *p, uint32_t opcode, uint32_t dtype, uint32_t flags,
          uint32_t argmask, unsigned nops, const uint32_t *ops);
#define EMIT(p, op, dt, fl, am, ...) do {                           \
        const uint32_t ops_[] = { __VA_ARGS__ };                    \
        emit(p, op, dt, fl, am, G_N_ELEMENTS(ops_), ops_);          \
    } while (0)
void load_kernel(Knpu *k, Job *j, const Prog *p, const uint64_t *args,
                 unsigned nargs, uint64_t fence_value);
void submit(Knpu *k, unsigned q, const KnpuDesc *d);

/* A semaphore page, and jobs that keep a core busy until it is written */
#define VA_SEM 0x60000000ULL
uint64_t map_semaphore(Knpu *k);
void load_sem_wait_job(Knpu *k, Job *j, uint64_t fence_value);

/* Waiting for and checking results */
uint32_t wait_queue_for(Knpu *k, unsigned q, uint32_t head,
                        int64_t timeout_us);
uint32_t wait_queue(Knpu *k, unsigned q, uint32_t head);
void wait_running(Knpu *k, unsigned q);
void expect_done(Knpu *k, unsigned q, uint32_t head, uint64_t fence);
Err expect_error(Knpu *k, unsigned q, uint32_t head, uint32_t code);
void run_good_job(Knpu *k, unsigned q, uint64_t fence);
void recover(Knpu *k, unsigned q, uint64_t fence);

/* The tests, by area */
void knpu_add_device_tests(void);
void knpu_add_irq_tests(void);
void knpu_add_inject_tests(void);
void knpu_add_cp_tests(void);
void knpu_add_queue_tests(void);
void knpu_add_mmu_tests(void);
void knpu_add_stress_tests(void);
void knpu_add_hostile_tests(void);
void knpu_add_det_tests(void);

#endif /* KNPU_QTEST_H */
