/*
 * QTest for the KNPU device model: the helpers every test file shares
 * (machine and PCI setup, page tables, programs, job submission, waits).
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

static void save_fn(QPCIDevice *dev, int devfn, void *data)
{
    *(QPCIDevice **)data = dev;
}

uint64_t galloc(Knpu *k, size_t size)
{
    uint64_t pa = guest_alloc(&k->qs->alloc, size);

    g_assert(pa);
    qtest_memset(k->qts, pa, 0, size);
    return pa;
}

/*
 * Boot a machine with one KNPU: "pc" with the device on the root bus, or
 * with @q35 a q35 machine with the device behind a PCIe root port (as the
 * guest harness does).
 */
void knpu_boot(Knpu *k, bool q35, const char *extra)
{
    uint64_t size;

    memset(k, 0, sizeof(*k));
    k->qs = qtest_pc_boot("%s -device knpu,id=npu%s,cores=%d,queues=%d,"
                          "devmem-size=%d,serial=0x1122334455667788%s",
                          q35 ? "-M q35 -device pcie-root-port,id=rp0,"
                          "bus=pcie.0,addr=0x4,chassis=1" : "",
                          q35 ? ",bus=rp0" : "",
                          NUM_CORES, NUM_QUEUES, DEVMEM_SIZE,
                          extra ? extra : "");
    k->qts = k->qs->qts;
    if (q35) {
        QPCIDevice *rp;

        g_assert_cmpint(qpci_secondary_buses_init(k->qs->pcibus), ==, 1);
        /*
         * libqos assigns BARs from 0xe0000000 up but programs no bridge
         * windows: open both memory windows of the root port there.
         */
        rp = qpci_device_find(k->qs->pcibus, QPCI_DEVFN(4, 0));
        g_assert(rp);
        qpci_config_writew(rp, PCI_MEMORY_BASE, 0xe000);
        qpci_config_writew(rp, PCI_MEMORY_LIMIT, 0xeff0);
        qpci_config_writew(rp, PCI_PREF_MEMORY_BASE, 0xe000);
        qpci_config_writew(rp, PCI_PREF_MEMORY_LIMIT, 0xeff0);
        qpci_config_writel(rp, PCI_PREF_BASE_UPPER32, 0);
        qpci_config_writel(rp, PCI_PREF_LIMIT_UPPER32, 0);
        qpci_device_enable(rp);
        g_free(rp);
        k->dev = qpci_device_find(k->qs->pcibus, 1 << 8);
        g_assert(k->dev);
        g_assert_cmphex(qpci_config_readw(k->dev, PCI_VENDOR_ID), ==,
                        KNPU_VENDOR_ID);
    } else {
        qpci_device_foreach(k->qs->pcibus, KNPU_VENDOR_ID, KNPU_DEVICE_ID,
                            save_fn, &k->dev);
    }
    g_assert(k->dev);
    qpci_device_enable(k->dev);
    k->bar0 = qpci_iomap(k->dev, KNPU_BAR_REGS, &size);
    g_assert_cmpuint(size, ==, KNPU_REGS_SIZE);
    k->bar2 = qpci_iomap(k->dev, KNPU_BAR_DEVMEM, &size);
    g_assert_cmpuint(size, >=, DEVMEM_SIZE);    /* @extra may enlarge it */
    qpci_msix_enable(k->dev);
}

/* Function-level reset through the PCIe capability. */
void knpu_flr(Knpu *k)
{
    uint8_t exp = qpci_find_capability(k->dev, PCI_CAP_ID_EXP, 0);

    g_assert_cmphex(exp, !=, 0);
    qpci_config_writew(k->dev, exp + PCI_EXP_DEVCTL,
                       qpci_config_readw(k->dev, exp + PCI_EXP_DEVCTL) |
                       PCI_EXP_DEVCTL_BCR_FLR);
}

/*
 * After a reset of configuration space (FLR, system reset): memory decoding,
 * bus mastering and the BARs again.
 */
void knpu_remap(Knpu *k)
{
    qpci_device_enable(k->dev);
    k->bar0 = qpci_iomap(k->dev, KNPU_BAR_REGS, NULL);
    k->bar2 = qpci_iomap(k->dev, KNPU_BAR_DEVMEM, NULL);
}

void knpu_start(Knpu *k, const char *extra)
{
    knpu_boot(k, false, extra);
}

void knpu_stop(Knpu *k)
{
    g_free(k->dev);
    qtest_shutdown(k->qs);
}

/* ------------------------------------------------------------------ */
/* Page tables                                                          */

/*
 * The table that holds @va's entry at the last of @levels table levels
 * below the root, created (zeroed) where missing.
 */
static uint64_t table_for(Knpu *k, uint64_t va, int levels)
{
    uint64_t table = k->root;
    int level;

    for (level = 0; level < levels; level++) {
        uint64_t idx = (va >> (39 - 9 * level)) & 511;
        uint64_t e = qtest_readq(k->qts, table + idx * 8);

        if (!(e & KNPU_PTE_VALID)) {
            e = galloc(k, 4096) | KNPU_PTE_VALID;
            qtest_writeq(k->qts, table + idx * 8, e);
        }
        table = e & KNPU_PTE_ADDR_MASK;
    }
    return table;
}

void map_one(Knpu *k, uint64_t va, uint64_t target, uint64_t flags,
             bool large)
{
    uint64_t table = table_for(k, va, large ? 2 : 3);
    uint64_t idx = (va >> (large ? 21 : 12)) & 511;

    qtest_writeq(k->qts, table + idx * 8, target | flags | KNPU_PTE_VALID |
                 (large ? KNPU_PTE_BLOCK : 0));
}

/*
 * 4 KiB pages, one table walk and one write for the entries of each leaf
 * table: a large buffer costs a few qtest commands, not four per page.
 */
void map_range(Knpu *k, uint64_t va, uint64_t pa, uint64_t size,
               uint64_t flags)
{
    uint64_t ptes[512];
    uint64_t off = 0;

    while (off < size) {
        uint64_t table = table_for(k, va + off, 3);
        unsigned first = ((va + off) >> 12) & 511, n;

        for (n = 0; first + n < 512 && off < size; n++, off += 4096) {
            ptes[n] = cpu_to_le64((pa + off) | flags | KNPU_PTE_VALID);
        }
        qtest_bufwrite(k->qts, table + first * 8, ptes, n * sizeof(*ptes));
    }
}

void mmu_setup(Knpu *k)
{
    k->root = galloc(k, 4096);
    wr(k, KNPU_REG_AS_ROOT_LO(TEST_ASID), (uint32_t)k->root |
       KNPU_AS_ROOT_VALID);
    wr(k, KNPU_REG_AS_ROOT_HI(TEST_ASID), k->root >> 32);
    wr(k, KNPU_REG_MMU_CTRL, KNPU_MMU_CTRL_ENABLE);
    wr(k, KNPU_REG_DEV_CTRL, KNPU_DEV_CTRL_ENABLE);
}

/* ------------------------------------------------------------------ */
/* Queues, programs and jobs                                            */

void queue_setup(Knpu *k, unsigned q, uint32_t prio)
{
    KnpuQ *kq = &k->q[q];

    if (!kq->ring) {
        kq->ring = galloc(k, RING_ENTRIES * KNPU_DESC_SIZE);
        kq->fence = galloc(k, 8);
    }
    kq->tail = 0;
    qwr(k, q, KNPU_Q_RING_BASE_LO, (uint32_t)kq->ring);
    qwr(k, q, KNPU_Q_RING_BASE_HI, kq->ring >> 32);
    qwr(k, q, KNPU_Q_RING_SIZE, RING_ENTRIES);
    qwr(k, q, KNPU_Q_CONFIG, TEST_ASID | prio << 16);
    qwr(k, q, KNPU_Q_FENCE_ADDR_LO, (uint32_t)kq->fence);
    qwr(k, q, KNPU_Q_FENCE_ADDR_HI, kq->fence >> 32);
    qwr(k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    g_assert_cmphex(qrd(k, q, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ENABLED);
    g_assert_cmpuint(qrd(k, q, KNPU_Q_HEAD), ==, 0);
    g_assert_cmpuint(qrd(k, q, KNPU_Q_TAIL), ==, 0);
}

void emit(Prog *p, uint32_t opcode, uint32_t dtype, uint32_t flags,
          uint32_t argmask, unsigned nops, const uint32_t *ops)
{
    unsigned i;

    g_assert(p->n + 3 + nops <= G_N_ELEMENTS(p->w));
    p->w[p->n++] = KNPU_INSN_WORD0(opcode, dtype, nops);
    p->w[p->n++] = flags;
    p->w[p->n++] = argmask;
    for (i = 0; i < nops; i++) {
        p->w[p->n++] = ops[i];
    }
}

/* Place @p and @args in guest memory and map them for the device. */
void load_kernel(Knpu *k, Job *j, const Prog *p, const uint64_t *args,
                 unsigned nargs, uint64_t fence_value)
{
    uint64_t prog_pa = galloc(k, 4096);
    uint64_t args_pa = galloc(k, 4096);
    uint64_t prog_va, args_va;
    unsigned i;

    g_assert(p->n * 4 <= 4096 && nargs * 8 <= 4096);
    for (i = 0; i < p->n; i++) {
        qtest_writel(k->qts, prog_pa + 4 * i, p->w[i]);
    }
    for (i = 0; i < nargs; i++) {
        qtest_writeq(k->qts, args_pa + 8 * i, args[i]);
    }
    prog_va = VA_KERNELS + k->nkernels * 0x2000;
    args_va = prog_va + 0x1000;
    k->nkernels++;
    k->last_args_va = args_va;
    map_one(k, prog_va, prog_pa, KNPU_PTE_READ, false);
    map_one(k, args_va, args_pa, KNPU_PTE_READ, false);

    memset(j, 0, sizeof(*j));
    j->d.type = KNPU_DESC_TYPE_KERNEL;
    j->d.flags = KNPU_DESC_FLAG_IRQ;
    j->d.program_va = prog_va;
    j->d.program_size = p->n * 4;
    j->d.args_size = nargs * 8;
    j->d.args_va = nargs ? args_va : 0;
    j->d.fence_value = fence_value;
    j->d.job_id = fence_value;
}

/* Maps a zeroed page at VA_SEM; returns its guest address. */
uint64_t map_semaphore(Knpu *k)
{
    uint64_t pa = galloc(k, 4096);

    map_range(k, VA_SEM, pa, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    return pa;
}

/* A job that waits until the semaphore at VA_SEM reaches 1. */
void load_sem_wait_job(Knpu *k, Job *j, uint64_t fence_value)
{
    const uint64_t args[1] = { VA_SEM };
    Prog p = { .n = 0 };

    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 1);
    load_kernel(k, j, &p, args, 1, fence_value);
}

void submit(Knpu *k, unsigned q, const KnpuDesc *d)
{
    KnpuQ *kq = &k->q[q];
    uint64_t slot = kq->ring + (uint64_t)kq->tail * KNPU_DESC_SIZE;

    /* The descriptor is little-endian, like the host running the test. */
    qtest_memwrite(k->qts, slot, d, sizeof(*d));
    kq->tail = (kq->tail + 1) % RING_ENTRIES;
    qwr(k, q, KNPU_Q_TAIL, kq->tail);
    qwr(k, q, KNPU_Q_DOORBELL, 1);
}

/*
 * Wait (bounded) until queue @q has completed up to @head or stopped.
 * Jobs run on the device's worker threads: poll, stepping the clock.
 */
uint32_t wait_queue_for(Knpu *k, unsigned q, uint32_t head,
                        int64_t timeout_us)
{
    int64_t waited;
    uint32_t st = 0;

    for (waited = 0; waited < timeout_us; waited += 100) {
        st = qrd(k, q, KNPU_Q_STATUS);
        if (st & KNPU_Q_STATUS_ERROR) {
            return st;
        }
        if (qrd(k, q, KNPU_Q_HEAD) == head &&
            !(st & KNPU_Q_STATUS_RUNNING)) {
            return st;
        }
        qtest_clock_step(k->qts, 1000);
        g_usleep(100);
    }
    g_test_message("queue %u: timeout, status 0x%x head %u", q, st,
                   qrd(k, q, KNPU_Q_HEAD));
    return st;
}

uint32_t wait_queue(Knpu *k, unsigned q, uint32_t head)
{
    return wait_queue_for(k, q, head, POLL_TIMEOUT_US);
}

/* Wait (bounded) until a job of queue @q is on a core. */
void wait_running(Knpu *k, unsigned q)
{
    int64_t waited;

    for (waited = 0; waited < POLL_TIMEOUT_US; waited += 100) {
        if (qrd(k, q, KNPU_Q_STATUS) & KNPU_Q_STATUS_RUNNING) {
            return;
        }
        g_usleep(100);
    }
    g_assert_cmphex(qrd(k, q, KNPU_Q_STATUS) & KNPU_Q_STATUS_RUNNING, ==,
                    KNPU_Q_STATUS_RUNNING);
}

void expect_done(Knpu *k, unsigned q, uint32_t head, uint64_t fence)
{
    uint32_t st = wait_queue(k, q, head);

    if (st & KNPU_Q_STATUS_ERROR) {
        g_test_message("unexpected error 0x%x info 0x%x addr 0x%" PRIx64
                       " pc 0x%x", qrd(k, q, KNPU_Q_ERROR),
                       qrd(k, q, KNPU_Q_ERROR_INFO),
                       rd64(k, KNPU_REG_Q(q, KNPU_Q_ERROR_ADDR_LO)),
                       qrd(k, q, KNPU_Q_ERROR_PC));
    }
    g_assert_cmphex(st, ==, KNPU_Q_STATUS_ENABLED);
    g_assert_cmpuint(qrd(k, q, KNPU_Q_HEAD), ==, head);
    g_assert_cmphex(qtest_readq(k->qts, k->q[q].fence), ==, fence);
    g_assert_cmphex(rd64(k, KNPU_REG_Q(q, KNPU_Q_COMPLETED_LO)), ==, fence);
}

/* Wait for queue @q to stop on an error at descriptor @head; return it. */
Err expect_error(Knpu *k, unsigned q, uint32_t head, uint32_t code)
{
    uint32_t st = wait_queue(k, q, ~0u);
    Err e;

    g_assert_cmphex(st & KNPU_Q_STATUS_ERROR, ==, KNPU_Q_STATUS_ERROR);
    e.code = qrd(k, q, KNPU_Q_ERROR);
    e.info = qrd(k, q, KNPU_Q_ERROR_INFO);
    e.addr = rd64(k, KNPU_REG_Q(q, KNPU_Q_ERROR_ADDR_LO));
    e.pc = qrd(k, q, KNPU_Q_ERROR_PC);
    g_test_message("queue %u error 0x%x info 0x%x addr 0x%" PRIx64 " pc 0x%x",
                   q, e.code, e.info, e.addr, e.pc);
    g_assert_cmphex(e.code, ==, code);
    g_assert_cmpuint(qrd(k, q, KNPU_Q_HEAD), ==, head);
    g_assert_cmphex(qrd(k, q, KNPU_Q_IRQ_STATUS) & KNPU_Q_IRQ_ERROR, ==,
                    KNPU_Q_IRQ_ERROR);
    g_assert_cmpuint(KNPU_ERR_INFO_ASID(e.info), ==, TEST_ASID);
    return e;
}

/* Q_CTRL.RESET, then check the queue's registers are back to idle. */
void queue_reset(Knpu *k, unsigned q)
{
    qwr(k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_RESET);
    g_assert_cmphex(qrd(k, q, KNPU_Q_STATUS), ==, 0);
    g_assert_cmpuint(qrd(k, q, KNPU_Q_HEAD), ==, 0);
    g_assert_cmpuint(qrd(k, q, KNPU_Q_TAIL), ==, 0);
    g_assert_cmphex(qrd(k, q, KNPU_Q_ERROR), ==, 0);
    g_assert_cmphex(qrd(k, q, KNPU_Q_ERROR_INFO), ==, 0);
    g_assert_cmphex(qrd(k, q, KNPU_Q_ERROR_PC), ==, 0);
    qwr(k, q, KNPU_Q_IRQ_STATUS, ~0u);
}

/* A small job that must succeed: fill 64 bytes and check them. */
void run_good_job(Knpu *k, unsigned q, uint64_t fence)
{
    uint64_t buf = galloc(k, 4096);
    uint64_t va = 0x50000000ull + (fence << 12);
    uint64_t args[] = { va };
    uint8_t data[64];
    Prog p = { .n = 0 };
    Job j;
    uint32_t head = qrd(k, q, KNPU_Q_HEAD);

    map_range(k, va, buf, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 64, 0x5a5a5a5a);
    load_kernel(k, &j, &p, args, 1, fence);
    submit(k, q, &j.d);
    expect_done(k, q, (head + 1) % RING_ENTRIES, fence);
    qtest_memread(k->qts, buf, data, sizeof(data));
    g_assert_cmpuint(data[0], ==, 0x5a);
    g_assert_cmpuint(data[63], ==, 0x5a);
}

/* Reset queue @q, set it up again and check it runs a job. */
void recover(Knpu *k, unsigned q, uint64_t fence)
{
    queue_reset(k, q);
    queue_setup(k, q, 0);
    run_good_job(k, q, fence);
}
