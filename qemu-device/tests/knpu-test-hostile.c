/*
 * KNPU qtests: what a hostile guest tries (issue 5, section 1). DMA into
 * ROM and other devices' BARs, resets racing the workers, invalidations
 * racing DMA, VM stop, queue re-enable under a running job, semaphore
 * stores racing adds. None may hang QEMU or write where it must not.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "hw/misc/knpu/tests/knpu-qtest.h"

/* The last 8 bytes below 4 GiB: the BIOS ROM, read-only RAM. */
#define ROM_ADDR        0xfffffff8ull
#define HOSTILE_QUEUES  16
#define HOSTILE_CORES   4
#define WATCHDOG_S      60

/* The QEMU process of the test: our only child. */
static pid_t find_qemu_pid(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *name;

    g_assert(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("/proc/%s/stat", name);
        g_autofree char *stat = NULL;
        const char *end;
        int ppid;

        if (!g_ascii_isdigit(name[0]) ||
            !g_file_get_contents(path, &stat, NULL, NULL)) {
            continue;
        }
        end = strrchr(stat, ')');   /* after the command name */
        if (end && sscanf(end + 1, " %*c %d", &ppid) == 1 &&
            ppid == getpid()) {
            return atoi(name);
        }
    }
    return 0;
}

static pid_t watched_qemu;

/*
 * A hung QEMU would hang the test (and libqtest's SIGTERM cannot end a
 * QEMU whose main loop is stuck): kill it and fail.
 */
static void watchdog_expired(int sig)
{
    static const char msg[] = "# watchdog: QEMU stopped answering\n";

    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing else to do: fail anyway */
    }
    if (watched_qemu > 0) {
        kill(watched_qemu, SIGKILL);
    }
    abort();
}

static void watchdog_arm(unsigned seconds)
{
    struct sigaction sa = { .sa_handler = watchdog_expired };

    watched_qemu = find_qemu_pid();
    g_assert_cmpint(watched_qemu, >, 0);
    sigemptyset(&sa.sa_mask);
    g_assert_cmpint(sigaction(SIGALRM, &sa, NULL), ==, 0);
    alarm(seconds);
}

static void watchdog_disarm(void)
{
    alarm(0);
}

/*
 * BAR2 (device memory) right below BAR0, so that one qtest write covers
 * both: QEMU performs it in one go with the BQL held, as it would a guest
 * store loop, and the device sees a long BQL hold ended by a register
 * write. The 8-byte accesses the write makes to the registers before the
 * last one are ignored by the device (section 3).
 */
#define BATCH_DEVMEM    (128 * 1024 * 1024)     /* devmem-size=128M */
#define BATCH_BAR2      0xe8000000ull
#define BATCH_BAR0      (BATCH_BAR2 + BATCH_DEVMEM)

static void bars_back_to_back(Knpu *k)
{
    qpci_config_writel(k->dev, PCI_BASE_ADDRESS_2, (uint32_t)BATCH_BAR2);
    qpci_config_writel(k->dev, PCI_BASE_ADDRESS_3, 0);
    qpci_config_writel(k->dev, PCI_BASE_ADDRESS_0, (uint32_t)BATCH_BAR0);
    k->bar0.addr = BATCH_BAR0;
    k->bar2.addr = BATCH_BAR2;
}

/*
 * One command that releases the semaphore at @sem (in device memory),
 * goes on writing device memory, then writes register @reg. For
 * Q_CTRL.RESET a memset does it (every byte 0x02: the semaphore becomes
 * non-zero, Q_CTRL gets RESET and reserved bits) and may cover all of
 * device memory; SOFT_RESET needs its magic, so the data is sent (base64,
 * which qtest parses slowly: the last MiB of device memory only).
 */
#define BATCH_TAIL      (1024 * 1024)

static uint64_t batch_sem(bool soft)
{
    return soft ? BATCH_DEVMEM - BATCH_TAIL : 0;
}

static void batch_reset(Knpu *k, bool soft)
{
    uint64_t reg = soft ? KNPU_REG_SOFT_RESET : KNPU_REG_Q(0, KNPU_Q_CTRL);
    uint64_t start = BATCH_BAR2 + batch_sem(soft);
    size_t len = BATCH_BAR0 + reg + 4 - start;
    g_autofree uint8_t *buf = NULL;

    g_assert_cmpuint(reg % 8, ==, 0);   /* the last access is 4 bytes */
    if (!soft) {
        qtest_memset(k->qts, start, KNPU_Q_CTRL_RESET, len);
        return;
    }
    buf = g_malloc0(len);
    stq_le_p(buf, 1);
    stl_le_p(buf + len - 4, KNPU_SOFT_RESET_MAGIC);
    qtest_bufwrite(k->qts, start, buf, len);
}

/*
 * Enable queue @q with one job in its ring: it waits for the semaphore at
 * @sem_va, then completes with its fence at @fence.
 */
static void queue_sem_job(Knpu *k, unsigned q, uint64_t ring,
                          uint64_t sem_va, uint64_t fence)
{
    const uint64_t args[1] = { sem_va };
    Prog p = { .n = 0 };
    Job j;

    EMIT(&p, KNPU_OP_SEM_WAIT, 0, 0, 1, 0, 1);
    load_kernel(k, &j, &p, args, 1, q + 1);
    qtest_memwrite(k->qts, ring, &j.d, sizeof(j.d));
    qwr(k, q, KNPU_Q_RING_BASE_LO, (uint32_t)ring);
    qwr(k, q, KNPU_Q_RING_BASE_HI, ring >> 32);
    qwr(k, q, KNPU_Q_RING_SIZE, RING_ENTRIES);
    qwr(k, q, KNPU_Q_CONFIG, TEST_ASID);
    qwr(k, q, KNPU_Q_FENCE_ADDR_LO, (uint32_t)fence);
    qwr(k, q, KNPU_Q_FENCE_ADDR_HI, fence >> 32);
    qwr(k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);
    qwr(k, q, KNPU_Q_TAIL, 1);
}

/*
 * The deadlock of issue 5. Every core runs a job that waits for a
 * semaphore in device memory, then writes its fence into the BIOS ROM.
 * One batch (a single qtest command, under the BQL throughout) releases
 * the semaphore, goes on writing device memory, and ends with a reset
 * that waits for the workers (SOFT_RESET, or Q_CTRL.RESET of queue 0,
 * whose job runs). A worker writing ROM must not need the BQL the
 * resetting thread holds: QEMU keeps answering, and the fence write fails
 * with BUS_ERROR instead of reaching the ROM. (Seen hanging before the
 * fix: always with Q_CTRL.RESET, whose batch writes all device memory
 * after the release; sometimes with SOFT_RESET, whose batch is shorter.)
 */
/*
 * Wait (bounded) until a job of one of the first @nq queues is on a core:
 * with more queues than cores, which ones the cores take is the device's
 * choice.
 */
static void wait_any_running(Knpu *k, unsigned nq)
{
    int64_t waited;
    unsigned q;

    for (waited = 0; waited < POLL_TIMEOUT_US; waited += 100) {
        for (q = 0; q < nq; q++) {
            if (qrd(k, q, KNPU_Q_STATUS) & KNPU_Q_STATUS_RUNNING) {
                return;
            }
        }
        g_usleep(100);
    }
    g_assert_not_reached();
}

static void reset_under_rom_fences(bool soft)
{
    const uint64_t sem_va = 0x40000000;
    uint64_t ring[HOSTILE_QUEUES], rom, sem = batch_sem(soft);
    unsigned round, q;
    Knpu k;
    Err e;

    knpu_start(&k, ",cores=" stringify(HOSTILE_CORES) ",queues="
               stringify(HOSTILE_QUEUES) ",devmem-size=128M");
    bars_back_to_back(&k);
    rom = qtest_readq(k.qts, ROM_ADDR);
    for (q = 0; q < HOSTILE_QUEUES; q++) {
        ring[q] = galloc(&k, RING_ENTRIES * KNPU_DESC_SIZE);
    }
    watchdog_arm(WATCHDOG_S);
    for (round = 0; round < 3; round++) {
        mmu_setup(&k);
        map_one(&k, sem_va, sem, KNPU_PTE_READ | KNPU_PTE_WRITE |
                KNPU_PTE_DEVMEM, false);
        qtest_writeq(k.qts, BATCH_BAR2 + sem, 0);
        for (q = 0; q < HOSTILE_QUEUES; q++) {
            queue_sem_job(&k, q, ring[q], sem_va, ROM_ADDR);
        }
        for (q = 0; q < HOSTILE_QUEUES; q++) {
            qwr(&k, q, KNPU_Q_DOORBELL, 1);
        }
        wait_any_running(&k, HOSTILE_QUEUES);
        batch_reset(&k, soft);
        if (!soft) {
            for (q = 0; q < HOSTILE_QUEUES; q++) {
                qwr(&k, q, KNPU_Q_CTRL, KNPU_Q_CTRL_RESET);
            }
        }
        g_assert_cmphex(rd(&k, KNPU_REG_ID), ==, KNPU_ID_VALUE);
    }
    watchdog_disarm();

    /* Without a reset in the way: BUS_ERROR at the fence, ROM intact. */
    mmu_setup(&k);
    map_one(&k, sem_va, sem, KNPU_PTE_READ | KNPU_PTE_WRITE |
            KNPU_PTE_DEVMEM, false);
    queue_sem_job(&k, 0, ring[0], sem_va, ROM_ADDR);
    qwr(&k, 0, KNPU_Q_DOORBELL, 1);
    e = expect_error(&k, 0, 0, KNPU_ERR_BUS_ERROR);
    g_assert_cmphex(e.addr, ==, ROM_ADDR);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    g_assert_cmphex(qtest_readq(k.qts, ROM_ADDR), ==, rom);
    knpu_stop(&k);
}

static void test_soft_reset_rom_fence(void)
{
    reset_under_rom_fences(true);
}

static void test_queue_reset_rom_fence(void)
{
    reset_under_rom_fences(false);
}

/* Section 7.5: a job's DMA into another device's RAM BAR is a BUS_ERROR. */
static void expect_bus_error_at(Knpu *k, uint64_t target, uint64_t fence)
{
    const uint64_t va = 0x40000000;
    uint64_t args[1] = { va };
    Prog p = { .n = 0 };
    Job j;
    Err e;

    map_one(k, va, target, KNPU_PTE_READ | KNPU_PTE_WRITE, false);
    wr(k, KNPU_REG_MMU_TLB_INVAL, KNPU_TLB_INVAL_ALL);
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 64, 0xdeadbeef);
    load_kernel(k, &j, &p, args, 1, fence);
    submit(k, 0, &j.d);
    e = expect_error(k, 0, 0, KNPU_ERR_BUS_ERROR);
    g_assert_cmphex(e.addr, ==, target);
    g_assert_cmpuint(KNPU_ERR_INFO_ACCESS(e.info), ==, KNPU_ACCESS_WRITE);
    queue_reset(k, 0);
    queue_setup(k, 0, 0);
}

/* The bus address of a KNPU's 64-bit BAR2 (device memory). */
static uint64_t bar2_addr(QPCIDevice *dev)
{
    return (qpci_config_readl(dev, PCI_BASE_ADDRESS_2) & ~0xfull) |
           (uint64_t)qpci_config_readl(dev, PCI_BASE_ADDRESS_3) << 32;
}

static void test_foreign_bars(void)
{
    Knpu k;
    QPCIDevice *vga, *other;
    QPCIBar vram, other_bar2;
    uint64_t size, vram_addr, other_addr, own_addr;

    /* Two NPUs; k.dev is the one at 05.0 (the last found). */
    knpu_start(&k, ",addr=04.0 -device knpu,id=npu2,addr=05.0,"
               "devmem-size=16M");
    g_assert_cmpuint(k.dev->devfn, ==, QPCI_DEVFN(5, 0));
    other = qpci_device_find(k.qs->pcibus, QPCI_DEVFN(4, 0));
    vga = qpci_device_find(k.qs->pcibus, QPCI_DEVFN(2, 0));
    g_assert(other && vga);
    g_assert_cmphex(qpci_config_readw(vga, PCI_CLASS_DEVICE), ==, 0x0300);
    qpci_device_enable(other);
    qpci_device_enable(vga);
    vram = qpci_iomap(vga, 0, &size);
    other_bar2 = qpci_iomap(other, KNPU_BAR_DEVMEM, &size);
    vram_addr = qpci_config_readl(vga, PCI_BASE_ADDRESS_0) & ~0xfull;
    other_addr = bar2_addr(other);
    own_addr = bar2_addr(k.dev);
    g_assert(vram_addr && other_addr && own_addr);
    qpci_io_writel(vga, vram, 0, 0x12345678);
    qpci_io_writel(other, other_bar2, 0, 0x9abcdef0);
    qpci_io_writel(k.dev, k.bar2, 0, 0x0badf00d);

    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    expect_bus_error_at(&k, vram_addr, 1);
    expect_bus_error_at(&k, other_addr, 2);
    expect_bus_error_at(&k, own_addr, 3);
    g_assert_cmphex(qpci_io_readl(vga, vram, 0), ==, 0x12345678);
    g_assert_cmphex(qpci_io_readl(other, other_bar2, 0), ==, 0x9abcdef0);
    g_assert_cmphex(qpci_io_readl(k.dev, k.bar2, 0), ==, 0x0badf00d);
    run_good_job(&k, 0, 4);
    g_free(vga);
    g_free(other);
    knpu_stop(&k);
}

/*
 * Section 5.2: a job still running from before a disable is aborted when
 * the queue is enabled again. It writes no fence afterwards and does not
 * hold up the jobs of the new enablement.
 */
static void test_reenable_running(void)
{
    Knpu k;
    uint64_t sem_pa;
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    sem_pa = map_semaphore(&k);
    load_sem_wait_job(&k, &j, 0x51);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);

    qwr(&k, 0, KNPU_Q_CTRL, 0);
    queue_setup(&k, 0, 0);
    run_good_job(&k, 0, 0x52);
    qtest_writeq(k.qts, sem_pa, 1);
    g_usleep(20000);
    g_assert_cmphex(qtest_readq(k.qts, k.q[0].fence), ==, 0x52);
    g_assert_cmphex(qrd(&k, 0, KNPU_Q_STATUS), ==, KNPU_Q_STATUS_ENABLED);
    g_assert_cmpuint(qrd(&k, 0, KNPU_Q_HEAD), ==, 1);
    knpu_stop(&k);
}

/* A program of any size (up to 1 MiB) at @va, with its argument table. */
typedef struct BigProg {
    uint32_t *w;
    unsigned n;
    unsigned max;
} BigProg;

static void big_emit(BigProg *p, uint32_t opcode, uint32_t flags,
                     uint32_t argmask, unsigned nops, const uint32_t *ops)
{
    unsigned i;

    g_assert(p->n + 3 + nops <= p->max);
    p->w[p->n++] = KNPU_INSN_WORD0(opcode, 0, nops);
    p->w[p->n++] = flags;
    p->w[p->n++] = argmask;
    for (i = 0; i < nops; i++) {
        p->w[p->n++] = ops[i];
    }
}

#define BIG_EMIT(p, op, fl, am, ...) do {                           \
        const uint32_t ops_[] = { __VA_ARGS__ };                    \
        big_emit(p, op, fl, am, G_N_ELEMENTS(ops_), ops_);          \
    } while (0)

static void load_big_kernel(Knpu *k, Job *j, const BigProg *p, uint64_t va,
                            const uint64_t *args, unsigned nargs,
                            uint64_t fence)
{
    uint64_t size = QEMU_ALIGN_UP(p->n * 4, 4096);
    uint64_t prog_pa = galloc(k, size);
    uint64_t args_pa = galloc(k, 4096);
    unsigned i;

    qtest_memwrite(k->qts, prog_pa, p->w, p->n * 4);
    for (i = 0; i < nargs; i++) {
        qtest_writeq(k->qts, args_pa + 8 * i, args[i]);
    }
    map_range(k, va, prog_pa, size, KNPU_PTE_READ);
    map_one(k, va + size, args_pa, KNPU_PTE_READ, false);
    memset(j, 0, sizeof(*j));
    j->d.type = KNPU_DESC_TYPE_KERNEL;
    j->d.program_va = va;
    j->d.program_size = p->n * 4;
    j->d.args_size = nargs * 8;
    j->d.args_va = va + size;
    j->d.fence_value = fence;
    j->d.job_id = fence;
}

/*
 * A plain SEM_SIGNAL store racing SEM_SIGNAL ADDs on another core is never
 * lost: queue 1 stores increasing values and waits for each (it would wait
 * forever for a store an add overwrote) while queue 0 adds 1 many times.
 */
static void test_sem_store_vs_add(void)
{
    const unsigned adds = 20000, stores = 1000;
    const uint64_t args[1] = { VA_SEM };
    BigProg adder = { .max = adds * 5 }, storer = { .max = stores * 10 };
    Knpu k;
    Job ja, js;
    unsigned i;
    uint64_t sem_pa;
    uint32_t st;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    queue_setup(&k, 1, 0);
    sem_pa = map_semaphore(&k);
    adder.w = g_new(uint32_t, adder.max);
    storer.w = g_new(uint32_t, storer.max);
    for (i = 0; i < adds; i++) {
        BIG_EMIT(&adder, KNPU_OP_SEM_SIGNAL, KNPU_SEM_SIGNAL_ADD, 1, 0, 1);
    }
    for (i = 0; i < stores; i++) {
        /* Adds never reach the next store's value (adds < 1 << 20). */
        BIG_EMIT(&storer, KNPU_OP_SEM_SIGNAL, 0, 1, 0, (i + 1) << 20);
        BIG_EMIT(&storer, KNPU_OP_SEM_WAIT, 0, 1, 0, (i + 1) << 20);
    }
    load_big_kernel(&k, &ja, &adder, 0x100000000ull, args, 1, 1);
    load_big_kernel(&k, &js, &storer, 0x200000000ull, args, 1, 2);
    submit(&k, 0, &ja.d);
    submit(&k, 1, &js.d);
    expect_done(&k, 0, 1, 1);
    st = wait_queue_for(&k, 1, 1, 5 * 1000 * 1000);
    if (st & KNPU_Q_STATUS_RUNNING) {
        g_test_message("a store was lost: semaphore 0x%" PRIx64,
                       qtest_readq(k.qts, sem_pa));
    }
    g_assert_cmphex(st, ==, KNPU_Q_STATUS_ENABLED);
    expect_done(&k, 1, 1, 2);
    g_free(adder.w);
    g_free(storer.w);
    knpu_stop(&k);
}

/*
 * While the VM is stopped the device touches no guest memory: a job that
 * runs does not go on, a new one does not start; both complete on cont.
 */
static void test_vm_stop(void)
{
    Knpu k;
    const uint64_t va = 0x50000000;
    uint64_t sem_pa, buf, args[1] = { va };
    Prog p = { .n = 0 };
    Job j;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    queue_setup(&k, 1, 0);
    sem_pa = map_semaphore(&k);
    buf = galloc(&k, 4096);
    map_range(&k, va, buf, 4096, KNPU_PTE_READ | KNPU_PTE_WRITE);
    load_sem_wait_job(&k, &j, 1);
    submit(&k, 0, &j.d);
    wait_running(&k, 0);

    qtest_qmp_assert_success(k.qts, "{'execute': 'stop'}");
    EMIT(&p, KNPU_OP_DMA_FILL, 0, 0, 1, 0, 64, 0x5a5a5a5a);
    load_kernel(&k, &j, &p, args, 1, 2);
    submit(&k, 1, &j.d);
    qtest_writeq(k.qts, sem_pa, 1);
    g_usleep(50000);
    g_assert_cmphex(qtest_readl(k.qts, buf), ==, 0);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[0].fence), ==, 0);
    g_assert_cmpuint(qtest_readq(k.qts, k.q[1].fence), ==, 0);
    g_assert_cmpuint(qrd(&k, 1, KNPU_Q_HEAD), ==, 0);

    qtest_qmp_assert_success(k.qts, "{'execute': 'cont'}");
    expect_done(&k, 0, 1, 1);
    expect_done(&k, 1, 1, 2);
    g_assert_cmphex(qtest_readl(k.qts, buf + 60), ==, 0x5a5a5a5a);
    knpu_stop(&k);
}

/* The guest address of the leaf entry that maps @va (2 MiB if @large). */
static uint64_t pte_slot(Knpu *k, uint64_t va, bool large)
{
    uint64_t table = k->root;
    int level;

    for (level = 0; level < (large ? 2 : 3); level++) {
        uint64_t e = qtest_readq(k->qts, table +
                                 ((va >> (39 - 9 * level)) & 511) * 8);

        g_assert(e & KNPU_PTE_VALID);
        table = e & KNPU_PTE_ADDR_MASK;
    }
    return table + ((va >> (large ? 21 : 12)) & 511) * 8;
}

/*
 * Sections 3.3 and 6.3: once the MMU_TLB_INVAL write completes, software
 * may free the pages it unmapped. A long DMA_COPY into a 2 MiB page has
 * the page unmapped, the TLB invalidated and the page reused (filled by
 * the guest) under it: the job faults there and never writes the page
 * again.
 */
static void test_tlb_inval_sync(void)
{
    const uint64_t big = 2 * 1024 * 1024;
    const uint64_t va_src = 0x200000000ull, va_dst = 0x300000000ull;
    const uint64_t args[2] = { va_dst, va_src };
    const unsigned copies = 4000;   /* 8 GiB: long enough to hit */
    g_autofree uint8_t *data = g_malloc(big);
    BigProg p = { .max = copies * 6 };
    uint64_t src, dst, i;
    unsigned round, n;
    Knpu k;
    Job j;
    Err e;

    knpu_start(&k, NULL);
    mmu_setup(&k);
    queue_setup(&k, 0, 0);
    src = QEMU_ALIGN_UP(guest_alloc(&k.qs->alloc, 2 * big), big);
    dst = QEMU_ALIGN_UP(guest_alloc(&k.qs->alloc, 2 * big), big);
    qtest_memset(k.qts, src, 0x3c, big);
    p.w = g_new(uint32_t, p.max);
    for (n = 0; n < copies; n++) {
        BIG_EMIT(&p, KNPU_OP_DMA_COPY, 0, 3, 0, 1, big);
    }
    for (round = 0; round < 5; round++) {
        map_one(&k, va_src, src, KNPU_PTE_READ, true);
        map_one(&k, va_dst, dst, KNPU_PTE_WRITE, true);
        wr(&k, KNPU_REG_MMU_TLB_INVAL, KNPU_TLB_INVAL_ALL);
        load_big_kernel(&k, &j, &p, 0x400000000ull + round * 0x1000000ull,
                        args, 2, round + 1);
        submit(&k, 0, &j.d);
        wait_running(&k, 0);
        g_usleep(g_test_rand_int_range(0, 5000));

        qtest_writeq(k.qts, pte_slot(&k, va_dst, true), 0);
        wr(&k, KNPU_REG_MMU_TLB_INVAL, TEST_ASID);
        qtest_memset(k.qts, dst, 0xcc, big);

        e = expect_error(&k, 0, 0, KNPU_ERR_MMU_FAULT);
        g_assert_cmpuint(KNPU_ERR_INFO_REASON(e.info), ==,
                         KNPU_MMU_NOT_PRESENT);
        g_assert_cmphex(e.addr & ~(big - 1), ==, va_dst);
        qtest_memread(k.qts, dst, data, big);
        for (i = 0; i < big; i++) {
            if (data[i] != 0xcc) {
                g_test_message("freed page written at +0x%" PRIx64, i);
            }
            g_assert_cmphex(data[i], ==, 0xcc);
        }
        queue_reset(&k, 0);
        queue_setup(&k, 0, 0);
    }
    g_free(p.w);
    knpu_stop(&k);
}

void knpu_add_hostile_tests(void)
{
    qtest_add_func("/knpu/hostile/soft-reset-rom-fence",
                   test_soft_reset_rom_fence);
    qtest_add_func("/knpu/hostile/queue-reset-rom-fence",
                   test_queue_reset_rom_fence);
    qtest_add_func("/knpu/hostile/foreign-bars", test_foreign_bars);
    qtest_add_func("/knpu/hostile/reenable-running", test_reenable_running);
    qtest_add_func("/knpu/hostile/sem-store-vs-add", test_sem_store_vs_add);
    qtest_add_func("/knpu/hostile/vm-stop", test_vm_stop);
    qtest_add_func("/knpu/hostile/tlb-inval-sync", test_tlb_inval_sync);
}
