/*
 * QTest for the KNPU device model (docs/hw-spec.md).
 *
 * Drives the registers directly, builds rings, page tables, programs and
 * argument tables in guest memory, and checks what the device wrote.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/libqos-pc.h"
#include "libqos/pci.h"
#include "qapi/qmp/qdict.h"
#include "standard-headers/linux/pci_regs.h"
#include "../../hw/misc/knpu/knpu-hw.h"

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

static void save_fn(QPCIDevice *dev, int devfn, void *data)
{
    *(QPCIDevice **)data = dev;
}

static uint32_t rd(Knpu *k, uint64_t reg)
{
    return qpci_io_readl(k->dev, k->bar0, reg);
}

static void wr(Knpu *k, uint64_t reg, uint32_t val)
{
    qpci_io_writel(k->dev, k->bar0, reg, val);
}

static uint32_t qrd(Knpu *k, unsigned q, uint64_t reg)
{
    return rd(k, KNPU_REG_Q(q, reg));
}

static void qwr(Knpu *k, unsigned q, uint64_t reg, uint32_t val)
{
    wr(k, KNPU_REG_Q(q, reg), val);
}

static uint64_t rd64(Knpu *k, uint64_t lo)
{
    uint64_t v = rd(k, lo);

    return v | (uint64_t)rd(k, lo + 4) << 32;
}

static uint64_t galloc(Knpu *k, size_t size)
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
static void knpu_boot(Knpu *k, bool q35, const char *extra)
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
    g_assert_cmpuint(size, ==, DEVMEM_SIZE);
    qpci_msix_enable(k->dev);
}

static void knpu_start(Knpu *k, const char *extra)
{
    knpu_boot(k, false, extra);
}

static void knpu_stop(Knpu *k)
{
    g_free(k->dev);
    qtest_shutdown(k->qs);
}

/* ------------------------------------------------------------------ */
/* Page tables                                                          */

static void map_one(Knpu *k, uint64_t va, uint64_t target, uint64_t flags,
                    bool large)
{
    uint64_t table = k->root;
    int level, levels = large ? 2 : 3;
    uint64_t idx, e;

    for (level = 0; level < levels; level++) {
        idx = (va >> (39 - 9 * level)) & 511;
        e = qtest_readq(k->qts, table + idx * 8);
        if (!(e & KNPU_PTE_VALID)) {
            e = galloc(k, 4096) | KNPU_PTE_VALID;
            qtest_writeq(k->qts, table + idx * 8, e);
        }
        table = e & KNPU_PTE_ADDR_MASK;
    }
    idx = (va >> (large ? 21 : 12)) & 511;
    qtest_writeq(k->qts, table + idx * 8, target | flags | KNPU_PTE_VALID |
                 (large ? KNPU_PTE_BLOCK : 0));
}

/* Map [va, va + size) to host memory at pa, 4 KiB pages. */
static void map_range(Knpu *k, uint64_t va, uint64_t pa, uint64_t size,
                      uint64_t flags)
{
    uint64_t off;

    for (off = 0; off < size; off += 4096) {
        map_one(k, va + off, pa + off, flags, false);
    }
}

static void mmu_setup(Knpu *k)
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

static void queue_setup(Knpu *k, unsigned q, uint32_t prio)
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

typedef struct Prog {
    uint32_t w[256];
    unsigned n;
} Prog;

static void emit(Prog *p, uint32_t opcode, uint32_t dtype, uint32_t flags,
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

#define EMIT(p, op, dt, fl, am, ...) do {                           \
        const uint32_t ops_[] = { __VA_ARGS__ };                    \
        emit(p, op, dt, fl, am, G_N_ELEMENTS(ops_), ops_);          \
    } while (0)

/*
 * Each job's program and argument table get pages of their own, mapped
 * read-only from VA_KERNELS on, so that jobs queued together do not share
 * them.
 */
#define VA_KERNELS  0x10000000000ull

typedef struct Job {
    KnpuDesc d;
} Job;

/* Place @p and @args in guest memory and map them for the device. */
static void load_kernel(Knpu *k, Job *j, const Prog *p, const uint64_t *args,
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

static void submit(Knpu *k, unsigned q, const KnpuDesc *d)
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
static uint32_t wait_queue_for(Knpu *k, unsigned q, uint32_t head,
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

static uint32_t wait_queue(Knpu *k, unsigned q, uint32_t head)
{
    return wait_queue_for(k, q, head, POLL_TIMEOUT_US);
}

/* Wait (bounded) until a job of queue @q is on a core. */
static void wait_running(Knpu *k, unsigned q)
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

static void expect_done(Knpu *k, unsigned q, uint32_t head, uint64_t fence)
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

typedef struct Err {
    uint32_t code;
    uint32_t info;
    uint64_t addr;
    uint32_t pc;
} Err;

/* Wait for queue @q to stop on an error at descriptor @head; return it. */
static Err expect_error(Knpu *k, unsigned q, uint32_t head, uint32_t code)
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
static void queue_reset(Knpu *k, unsigned q)
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
static void run_good_job(Knpu *k, unsigned q, uint64_t fence)
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

/* ------------------------------------------------------------------ */
/* Tests                                                                */

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
    g_assert_cmphex(rd(&k, KNPU_REG_HW_VERSION), ==, 0x00010000);
    g_assert_cmphex(rd(&k, KNPU_REG_FW_VERSION), ==, 0x01000000);
    g_assert_cmphex(rd(&k, KNPU_REG_CONFIG0), ==,
                    NUM_CORES | NUM_QUEUES << 8 | 64 << 16 | 48 << 24);
    g_assert_cmphex(rd(&k, KNPU_REG_SRAM_SIZE), ==, 0x00400000);
    g_assert_cmphex(rd64(&k, KNPU_REG_DEVMEM_SIZE_LO), ==, DEVMEM_SIZE);
    g_assert_cmphex(rd(&k, KNPU_REG_DTYPES), ==, 1u << KNPU_DT_NONE);
    g_assert_cmphex(rd(&k, KNPU_REG_OPS_LO), ==,
                    1u << KNPU_OP_NOP | 1u << KNPU_OP_DMA_COPY |
                    1u << KNPU_OP_DMA_FILL | 1u << KNPU_OP_BARRIER |
                    1u << KNPU_OP_SEM_SIGNAL | 1u << KNPU_OP_SEM_WAIT |
                    1u << KNPU_OP_TIMESTAMP);
    g_assert_cmphex(rd(&k, KNPU_REG_OPS_HI), ==, 0);
    g_assert_cmphex(rd(&k, KNPU_REG_FEATURES), ==, 0x1f);
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
    uint8_t exp;
    uint16_t msix;

    knpu_start(&k, NULL);
    set_everything(&k);
    exp = qpci_find_capability(k.dev, PCI_CAP_ID_EXP, 0);
    msix = qpci_find_capability(k.dev, PCI_CAP_ID_MSIX, 0);
    g_assert(qpci_config_readw(k.dev, msix + PCI_MSIX_FLAGS) &
             PCI_MSIX_FLAGS_ENABLE);

    qpci_config_writew(k.dev, exp + PCI_EXP_DEVCTL,
                       qpci_config_readw(k.dev, exp + PCI_EXP_DEVCTL) |
                       PCI_EXP_DEVCTL_BCR_FLR);

    /* FLR also resets configuration space: MSI-X off, BARs unassigned. */
    g_assert_false(qpci_config_readw(k.dev, msix + PCI_MSIX_FLAGS) &
                   PCI_MSIX_FLAGS_ENABLE);
    g_assert_false(qpci_config_readw(k.dev, PCI_COMMAND) &
                   PCI_COMMAND_MEMORY);
    qpci_device_enable(k.dev);
    k.bar0 = qpci_iomap(k.dev, KNPU_BAR_REGS, NULL);
    k.bar2 = qpci_iomap(k.dev, KNPU_BAR_DEVMEM, NULL);
    qpci_msix_enable(k.dev);

    check_reset_state(&k);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, KNPU_EVENT_RESET_DONE);

    mmu_setup(&k);
    queue_setup(&k, 1, 0);
    run_good_job(&k, 1, 7);
    knpu_stop(&k);
}

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

static void recover(Knpu *k, unsigned q, uint64_t fence)
{
    queue_reset(k, q);
    queue_setup(k, q, 0);
    run_good_job(k, q, fence);
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

    /* Opcode defined but not implemented: GEMM (12 operands). */
    p.n = 0;
    EMIT(&p, KNPU_OP_GEMM, KNPU_DT_FP32, 0, 0xf, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
         0x3f800000, 0);
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
 * SEM_WAIT holds a core until the semaphore is signalled; busy time and
 * Q_STATUS.RUNNING show it; Q_CTRL.RESET aborts such a job.
 */
static void test_semaphores(void)
{
    Knpu k;
    const uint64_t va_sem = 0x60000000;
    uint64_t sem_pa, args[1], busy;
    Prog p = { .n = 0 };
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    queue_setup(&k, 1, 0);
    sem_pa = galloc(&k, 4096);
    map_range(&k, va_sem, sem_pa, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    args[0] = va_sem;

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

/*
 * Clearing Q_CTRL.ENABLE stops fetching but lets the running job finish;
 * the queue fetches again once re-enabled.
 */
static void test_disable_running(void)
{
    Knpu k;
    const uint64_t va_sem = 0x60000000;
    uint64_t sem_pa, args[1] = { va_sem };
    Prog p = { .n = 0 };
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    sem_pa = galloc(&k, 4096);
    map_range(&k, va_sem, sem_pa, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 1);
    load_kernel(&k, &j, &p, args, 1, 1);
    submit(&k, 0, &j.d);
    load_kernel(&k, &j, &p, args, 1, 2);
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

/*
 * System reset (power-on) with a busy core: the job dies, and unlike soft
 * reset and FLR, device memory and the telemetry counters are cleared.
 */
static void test_system_reset(void)
{
    Knpu k;
    const uint64_t va_sem = 0x60000000;
    uint64_t sem_pa, args[1] = { va_sem };
    Prog p = { .n = 0 };
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 1);
    qpci_io_writel(k.dev, k.bar2, 0x1000, 0xfeedface);
    sem_pa = galloc(&k, 4096);
    map_range(&k, va_sem, sem_pa, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 1);
    load_kernel(&k, &j, &p, args, 1, 2);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);

    qtest_qmp_assert_success(k.qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(k.qts, "RESET");
    qtest_writeq(k.qts, sem_pa, 1);
    g_usleep(20000);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 1);

    qpci_device_enable(k.dev);
    k.bar0 = qpci_iomap(k.dev, KNPU_BAR_REGS, NULL);
    k.bar2 = qpci_iomap(k.dev, KNPU_BAR_DEVMEM, NULL);
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
    uint8_t exp;

    knpu_boot(&k, true, NULL);
    g_assert_cmphex(qpci_config_readw(k.dev, PCI_CLASS_DEVICE), ==,
                    KNPU_CLASS_ACCEL);
    g_assert_cmphex(rd(&k, KNPU_REG_ID), ==, KNPU_ID_VALUE);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 1);
    g_assert_true(qpci_msix_pending(k.dev, 0));

    exp = qpci_find_capability(k.dev, PCI_CAP_ID_EXP, 0);
    g_assert_cmphex(exp, !=, 0);
    qpci_config_writew(k.dev, exp + PCI_EXP_DEVCTL,
                       qpci_config_readw(k.dev, exp + PCI_EXP_DEVCTL) |
                       PCI_EXP_DEVCTL_BCR_FLR);
    qpci_device_enable(k.dev);
    k.bar0 = qpci_iomap(k.dev, KNPU_BAR_REGS, NULL);
    qpci_msix_enable(k.dev);
    g_assert_cmphex(rd(&k, KNPU_REG_EVENT_STATUS), ==, KNPU_EVENT_RESET_DONE);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==, 0);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 2);
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

/* Hot-unplug while a core is busy with a job that never ends. */
static void test_unplug(void)
{
    Knpu k;
    const uint64_t va_sem = 0x60000000;
    uint64_t sem_pa, args[1] = { va_sem };
    Prog p = { .n = 0 };
    Job j;

    knpu_start(&k, ",addr=06.0");
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    sem_pa = galloc(&k, 4096);
    map_range(&k, va_sem, sem_pa, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 1);
    load_kernel(&k, &j, &p, args, 1, 1);
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/knpu/identity", test_identity);
    qtest_add_func("/knpu/soft-reset", test_soft_reset);
    qtest_add_func("/knpu/flr", test_flr);
    qtest_add_func("/knpu/system-reset", test_system_reset);
    qtest_add_func("/knpu/q35", test_q35);
    qtest_add_func("/knpu/queue/fill-copy", test_fill_copy);
    qtest_add_func("/knpu/queue/errors", test_errors);
    qtest_add_func("/knpu/queue/config", test_queue_config);
    qtest_add_func("/knpu/queue/semaphores", test_semaphores);
    qtest_add_func("/knpu/queue/disable-running", test_disable_running);
    qtest_add_func("/knpu/mmu/tlb", test_tlb);
    qtest_add_func("/knpu/queue/priority", test_priority);
    qtest_add_func("/knpu/queue/stress", test_stress);
    qtest_add_func("/knpu/fuzz", test_fuzz);
    qtest_add_func("/knpu/dma-bandwidth", test_dma_bandwidth);
    qtest_add_func("/knpu/interrupts", test_interrupts);
    qtest_add_func("/knpu/queue/bus-errors", test_bus_errors);
    qtest_add_func("/knpu/inject", test_inject);
    qtest_add_func("/knpu/inject-boot", test_inject_boot);
    qtest_add_func("/knpu/unplug", test_unplug);
    return g_test_run();
}
