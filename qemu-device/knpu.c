/*
 * KNPU: a PCIe neural processing unit (inference accelerator).
 *
 * This is the reference model of the device described in docs/hw-spec.md
 * (v1.0); register names and numbers come from knpu-hw.h.
 *
 * Threads and locks:
 * - MMIO runs on vCPU threads with the BQL held, and takes s->lock.
 * - Jobs run on one worker thread per compute core ("cores" property).
 *   Workers never take the BQL: they do DMA to RAM only (MemTxAttrs
 *   .memory = true refuses MMIO targets, and our own BARs are refused
 *   explicitly), and they hand interrupts to a bottom half (s->irq_bh)
 *   that runs under the BQL and calls msix_notify().
 * - s->lock protects all register state and the scheduler. It is never
 *   held across DMA. Because workers never wait for the BQL, an MMIO
 *   handler may wait (on s->idle_cond, with the BQL held) for a worker to
 *   leave a job; that is how queue reset, soft reset and FLR make sure no
 *   DMA of an aborted job happens after the register write completes.
 *   Workers check the abort flag between instructions, between DMA chunks
 *   and while polling a semaphore, so that wait is short.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <math.h>
#include "qemu/units.h"
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "exec/cpu-common.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qom/object.h"
#include "trace.h"
#include "knpu-hw.h"

#define TYPE_KNPU "knpu"
OBJECT_DECLARE_SIMPLE_TYPE(KnpuState, KNPU)

#define KNPU_MAX_CORES          16
#define KNPU_MAX_QUEUES         64
#define KNPU_MAX_VECTORS        (KNPU_MAX_QUEUES + 1)
#define KNPU_MSIX_BAR_SIZE      4096
#define KNPU_BOUNCE_SIZE        (64 * KiB)
#define KNPU_TLB_ENTRIES        64
#define KNPU_DEVMEM_MIN         (16 * MiB)
#define KNPU_DEVMEM_MAX         (16 * GiB)
#define KNPU_TENSOR_LIMIT       (1ull << 40)

/* Thermal model (section 3.4): milli-degrees C, milliwatts, ns */
#define KNPU_TEMP_IDLE          40000
#define KNPU_TEMP_LOAD          85000
#define KNPU_TEMP_OVERHEAT      105000
#define KNPU_TEMP_THROTTLE      95000
#define KNPU_TEMP_RECOVER       90000
#define KNPU_POWER_IDLE         25000
#define KNPU_POWER_LOAD         150000
#define KNPU_THERMAL_TAU_NS     (3 * NANOSECONDS_PER_SECOND)
#define KNPU_CLOCK_NOMINAL      1000
#define KNPU_CLOCK_THROTTLED    500

/* Counters latched by reading their _LO half (section 3). */
enum {
    KNPU_LATCH_TIMESTAMP,
    KNPU_LATCH_JOBS,
    KNPU_LATCH_BYTES,
    KNPU_LATCH_CORE0,
    KNPU_LATCH_COUNT = KNPU_LATCH_CORE0 + KNPU_MAX_CORES,
};

typedef struct KnpuState KnpuState;

typedef struct KnpuQueue {
    /* Registers (s->lock) */
    uint64_t ring_base;
    uint32_t ring_size;
    uint32_t config;
    uint64_t fence_addr;
    uint32_t head;
    uint32_t tail;
    uint32_t irq_status;
    uint32_t err_code;
    uint32_t err_info;
    uint64_t err_addr;
    uint32_t err_pc;
    uint64_t completed;
    bool enabled;
    bool error;
    /* The error was raised by a descriptor: RESUME skips it. */
    bool err_skips;

    /* Scheduler (s->lock) */
    uint32_t db_tail;       /* Q_TAIL sampled by the last doorbell */
    bool running;           /* a core runs a job of this queue */
    uint32_t gen;           /* bumped when the queue is reset */
    bool abort;             /* read by the worker without the lock */
    bool inject_hang;
    bool inject_mmu_fault;
} KnpuQueue;

typedef struct KnpuTlbEntry {
    uint64_t tag;           /* VA of the page | asid, or ~0 when empty */
    uint64_t pa;            /* target address of the page */
    bool devmem;
    bool read;
    bool write;
} KnpuTlbEntry;

typedef struct KnpuCore {
    KnpuState *s;
    unsigned id;
    QemuThread thread;
    uint8_t *prog;          /* program bytes fetched so far */
    uint64_t *slots;        /* argument table, host order */
    uint8_t *bounce;
    KnpuTlbEntry tlb[KNPU_TLB_ENTRIES];         /* 4 KiB pages */
    KnpuTlbEntry tlb_large[KNPU_TLB_ENTRIES];   /* 2 MiB pages */
    uint32_t tlb_epoch;

    /* s->lock */
    bool busy;
    int64_t busy_since;
    uint64_t busy_ns;
} KnpuCore;

struct KnpuState {
    PCIDevice parent_obj;

    MemoryRegion mmio;
    MemoryRegion devmem;
    MemoryRegion msix_bar;
    uint8_t *devmem_ptr;

    /* Properties */
    uint32_t num_cores;
    uint32_t num_queues;
    uint64_t devmem_size;
    uint32_t sram_size;
    uint64_t serial;

    QemuMutex lock;
    QemuCond work_cond;     /* a queue may have become runnable */
    QemuCond abort_cond;    /* a job was told to abort */
    QemuCond idle_cond;     /* a worker left a job */
    QemuMutex sem_lock;     /* read-modify-write of semaphores */
    QEMUBH *irq_bh;
    DECLARE_BITMAP(irq_pending, KNPU_MAX_VECTORS);
    bool stopping;

    KnpuCore cores[KNPU_MAX_CORES];
    KnpuQueue queues[KNPU_MAX_QUEUES];
    unsigned rr_next;       /* round-robin cursor among equal priorities */

    /* Registers (s->lock unless noted) */
    uint32_t scratch;
    uint32_t dev_ctrl;
    uint32_t event_status;
    uint32_t event_mask;
    uint32_t mmu_ctrl;      /* also read by workers, atomically */
    uint32_t mmu_fault_count;
    uint64_t as_root[KNPU_NUM_ASIDS];   /* read by workers, atomically */
    uint32_t tlb_epoch;     /* bumped on every invalidation */
    uint32_t latch[KNPU_LATCH_COUNT];
    bool fatal;
    bool removed;
    bool throttled;
    bool overheat;

    /* Injections requested before realize (section 10) */
    int32_t boot_inject_hang;
    int32_t boot_inject_mmu_fault;
    bool boot_inject_uncorrectable;
    bool boot_inject_correctable;
    bool boot_inject_removal;

    /* Telemetry (s->lock); survives soft reset and FLR */
    int64_t clock_base;
    uint64_t jobs_completed;
    uint64_t bytes_moved;
    uint32_t err_correctable;
    uint32_t err_uncorrectable;
    double load;            /* filtered fraction of busy cores */
    int64_t load_time;
    unsigned busy_cores;
};

typedef enum KnpuJobResult {
    KNPU_JOB_OK,
    KNPU_JOB_FAILED,
    KNPU_JOB_ABORTED,
} KnpuJobResult;

typedef struct KnpuJob {
    KnpuState *s;
    KnpuCore *core;
    KnpuQueue *q;
    unsigned qid;
    uint32_t asid;
    uint32_t ring_size;
    uint64_t ring_base;
    uint64_t fence_addr;
    uint32_t head;
    KnpuDesc desc;
    uint32_t nslots;
    uint32_t prog_fetched;
    uint32_t pc;
    uint64_t bytes;
    bool aborted;
    /* The error, valid when a step returned false and !aborted */
    uint32_t err_code;
    uint32_t err_info;
    uint64_t err_addr;
    uint32_t err_pc;
} KnpuJob;

typedef struct KnpuXlat {
    uint64_t addr;          /* bus address, or device-memory offset */
    uint64_t len;           /* bytes to the end of the page */
    bool devmem;
} KnpuXlat;

static const MemTxAttrs knpu_dma_attrs = { .memory = true };

/* ------------------------------------------------------------------ */
/* Instruction set (section 7.4)                                        */

typedef struct KnpuOpInfo {
    const char *name;
    /* Per operand: A address, V value, F float, B bias (A with BIAS) */
    const char *kinds;
    uint32_t dtypes;        /* allowed data types */
    uint32_t flags;         /* defined flag bits */
    bool implemented;
} KnpuOpInfo;

#define DT(x) (1u << KNPU_DT_##x)
#define DT_FLOAT (DT(FP32) | DT(FP16) | DT(BF16))

static const KnpuOpInfo knpu_ops[KNPU_OP_COUNT] = {
    [KNPU_OP_NOP]        = { "NOP", "", DT(NONE), 0, true },
    [KNPU_OP_DMA_COPY]   = { "DMA_COPY", "AAV", DT(NONE), 0, true },
    [KNPU_OP_DMA_FILL]   = { "DMA_FILL", "AVV", DT(NONE), 0, true },
    [KNPU_OP_BARRIER]    = { "BARRIER", "", DT(NONE), 0, true },
    [KNPU_OP_SEM_SIGNAL] = { "SEM_SIGNAL", "AV", DT(NONE),
                             KNPU_SEM_SIGNAL_ADD, true },
    [KNPU_OP_SEM_WAIT]   = { "SEM_WAIT", "AV", DT(NONE), 0, true },
    [KNPU_OP_TIMESTAMP]  = { "TIMESTAMP", "A", DT(NONE), 0, true },
    /* Defined by the spec; not executed by this model yet (OPS bit clear). */
    [KNPU_OP_GEMM]       = { "GEMM", "AAABVVVVVVFV", DT_FLOAT | DT(INT8),
                             0x1f7, false },
    [KNPU_OP_CONV2D]     = { "CONV2D", "AABAVVVVVVVVVVVVVVFV",
                             DT_FLOAT | DT(INT8), 0x1f5, false },
    [KNPU_OP_POOL2D]     = { "POOL2D", "AAVVVVVVVVVV", DT_FLOAT | DT(INT8),
                             0x3, false },
    [KNPU_OP_ELTWISE]    = { "ELTWISE", "AAAVV",
                             DT_FLOAT | DT(INT8) | DT(INT32), 0xf, false },
    [KNPU_OP_ACTIVATION] = { "ACTIVATION", "AAV", DT_FLOAT | DT(INT8),
                             0xf, false },
    [KNPU_OP_SOFTMAX]    = { "SOFTMAX", "AAVV", DT_FLOAT, 0, false },
    [KNPU_OP_LAYERNORM]  = { "LAYERNORM", "AAAAVVF", DT_FLOAT, 0, false },
    [KNPU_OP_RMSNORM]    = { "RMSNORM", "AAAVVF", DT_FLOAT, 0, false },
    [KNPU_OP_REDUCE]     = { "REDUCE", "AAVVV", DT_FLOAT | DT(INT32),
                             0x3, false },
    [KNPU_OP_TRANSPOSE]  = { "TRANSPOSE", "AAVVV",
                             DT_FLOAT | DT(INT8) | DT(INT32), 0, false },
};

/* Data types this model computes with: byte-oriented instructions only. */
#define KNPU_DTYPES_SUPPORTED   DT(NONE)
#define KNPU_FEATURES           (KNPU_FEAT_LARGE_PAGES | KNPU_FEAT_DEVMEM | \
                                 KNPU_FEAT_SEMAPHORES | KNPU_FEAT_TIMESTAMPS | \
                                 KNPU_FEAT_FAULT_INJECT)

static uint64_t knpu_ops_mask(void)
{
    uint64_t mask = 0;
    int i;

    for (i = 0; i < KNPU_OP_COUNT; i++) {
        if (knpu_ops[i].name && knpu_ops[i].implemented) {
            mask |= 1ull << i;
        }
    }
    return mask;
}

/* ------------------------------------------------------------------ */
/* Time, telemetry and interrupts                                       */

static int64_t knpu_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static void knpu_raise_vector_locked(KnpuState *s, unsigned vector)
{
    if (s->removed || !s->irq_bh) {
        return;
    }
    set_bit(vector, s->irq_pending);
    qemu_bh_schedule(s->irq_bh);
}

/* Set bits in EVENT_STATUS; signal the event vector on an enabled 0->1. */
static void knpu_event_locked(KnpuState *s, uint32_t bits)
{
    uint32_t rising = bits & ~s->event_status;

    s->event_status |= bits;
    trace_knpu_event(bits, s->event_status, s->event_mask);
    if (rising & s->event_mask) {
        knpu_raise_vector_locked(s, s->num_queues);
    }
}

static void knpu_queue_irq_locked(KnpuState *s, unsigned qid, uint32_t bits)
{
    KnpuQueue *q = &s->queues[qid];
    uint32_t rising = bits & ~q->irq_status;

    q->irq_status |= bits;
    if (rising) {
        knpu_raise_vector_locked(s, qid);
    }
}

static void knpu_irq_bh(void *opaque)
{
    KnpuState *s = opaque;
    PCIDevice *pdev = PCI_DEVICE(s);
    DECLARE_BITMAP(pending, KNPU_MAX_VECTORS);
    unsigned long v;

    qemu_mutex_lock(&s->lock);
    bitmap_copy(pending, s->irq_pending, KNPU_MAX_VECTORS);
    bitmap_zero(s->irq_pending, KNPU_MAX_VECTORS);
    if (s->removed) {
        bitmap_zero(pending, KNPU_MAX_VECTORS);
    }
    qemu_mutex_unlock(&s->lock);

    for (v = find_first_bit(pending, KNPU_MAX_VECTORS); v < KNPU_MAX_VECTORS;
         v = find_next_bit(pending, KNPU_MAX_VECTORS, v + 1)) {
        if (!msix_enabled(pdev)) {
            trace_knpu_irq_dropped(v);
            continue;
        }
        /* A PCI reset unuses every vector; use them again on demand. */
        if (!pdev->msix_entry_used[v]) {
            msix_vector_use(pdev, v);
        }
        trace_knpu_irq(v);
        msix_notify(pdev, v);
    }
}

/* Follow the load with a first-order filter (time constant of seconds). */
static void knpu_thermal_update_locked(KnpuState *s)
{
    int64_t now = knpu_now();
    int64_t dt = now - s->load_time;
    double target = (double)s->busy_cores / s->num_cores;
    uint32_t temp;

    if (dt > 0) {
        s->load += (target - s->load) * (1.0 - exp(-(double)dt /
                                                 KNPU_THERMAL_TAU_NS));
        s->load_time = now;
    }
    temp = s->overheat ? KNPU_TEMP_OVERHEAT :
           KNPU_TEMP_IDLE + (uint32_t)((KNPU_TEMP_LOAD - KNPU_TEMP_IDLE) *
                                       s->load);
    if (!s->throttled && temp > KNPU_TEMP_THROTTLE) {
        s->throttled = true;
        trace_knpu_thermal(temp, true);
        knpu_event_locked(s, KNPU_EVENT_THERMAL);
    } else if (s->throttled && temp < KNPU_TEMP_RECOVER) {
        s->throttled = false;
        trace_knpu_thermal(temp, false);
    }
}

static uint32_t knpu_temp_locked(KnpuState *s)
{
    knpu_thermal_update_locked(s);
    if (s->overheat) {
        return KNPU_TEMP_OVERHEAT;
    }
    return KNPU_TEMP_IDLE + (uint32_t)((KNPU_TEMP_LOAD - KNPU_TEMP_IDLE) *
                                       s->load);
}

static uint32_t knpu_power_locked(KnpuState *s)
{
    knpu_thermal_update_locked(s);
    return KNPU_POWER_IDLE + (uint32_t)((KNPU_POWER_LOAD - KNPU_POWER_IDLE) *
                                        s->load);
}

static uint64_t knpu_core_busy_locked(KnpuState *s, unsigned c)
{
    KnpuCore *core = &s->cores[c];
    uint64_t ns = core->busy_ns;

    if (core->busy) {
        ns += MAX(knpu_now() - core->busy_since, 0);
    }
    return ns;
}

/* ------------------------------------------------------------------ */
/* Queue state                                                          */

static void knpu_queue_clear_error_locked(KnpuQueue *q)
{
    q->error = false;
    q->err_skips = false;
    q->err_code = KNPU_ERR_NONE;
    q->err_info = 0;
    q->err_addr = 0;
    q->err_pc = 0;
}

/* Stop queue @qid on an error (section 5.4). */
static void knpu_queue_fail_locked(KnpuState *s, unsigned qid, uint32_t code,
                                   uint32_t info, uint64_t addr, uint32_t pc,
                                   bool skips, bool irq)
{
    KnpuQueue *q = &s->queues[qid];

    q->error = true;
    q->err_skips = skips;
    q->err_code = code;
    q->err_info = info;
    q->err_addr = addr;
    q->err_pc = pc;
    trace_knpu_queue_error(qid, code, info, addr, pc);
    if (irq) {
        knpu_queue_irq_locked(s, qid, KNPU_Q_IRQ_ERROR);
    }
}

static bool knpu_queue_runnable_locked(KnpuState *s, KnpuQueue *q)
{
    return q->enabled && !q->error && !q->running && q->head != q->db_tail;
}

/* Wait until no worker runs a job of queue @qid (of any queue if < 0). */
static void knpu_wait_idle_locked(KnpuState *s, int qid)
{
    unsigned i;

    for (;;) {
        bool busy = false;

        for (i = 0; i < s->num_queues; i++) {
            if ((qid < 0 || i == qid) && s->queues[i].running) {
                busy = true;
            }
        }
        if (!busy) {
            return;
        }
        qemu_cond_wait(&s->idle_cond, &s->lock);
    }
}

/* Abort a queue's running job; on return the queue accesses no memory. */
static void knpu_queue_abort_locked(KnpuState *s, unsigned qid)
{
    KnpuQueue *q = &s->queues[qid];

    q->enabled = false;
    q->gen++;
    if (q->running) {
        qatomic_set(&q->abort, true);
        qemu_cond_broadcast(&s->abort_cond);
        knpu_wait_idle_locked(s, qid);
    }
    q->inject_hang = false;
    q->inject_mmu_fault = false;
}

static void knpu_queue_reset_regs_locked(KnpuQueue *q)
{
    q->ring_base = 0;
    q->ring_size = 0;
    q->config = 0;
    q->fence_addr = 0;
    q->head = 0;
    q->tail = 0;
    q->db_tail = 0;
    q->irq_status = 0;
    q->completed = 0;
    q->enabled = false;
    knpu_queue_clear_error_locked(q);
}

/*
 * Soft reset, FLR and power-on reset (section 9). Waits for the workers to
 * leave every job: afterwards nothing submitted before touches memory.
 */
static void knpu_reset_locked(KnpuState *s, bool power_on)
{
    unsigned i;

    for (i = 0; i < s->num_queues; i++) {
        s->queues[i].enabled = false;
        s->queues[i].gen++;
        if (s->queues[i].running) {
            qatomic_set(&s->queues[i].abort, true);
        }
    }
    qemu_cond_broadcast(&s->abort_cond);
    knpu_wait_idle_locked(s, -1);

    for (i = 0; i < s->num_queues; i++) {
        knpu_queue_reset_regs_locked(&s->queues[i]);
        s->queues[i].inject_hang = false;
        s->queues[i].inject_mmu_fault = false;
    }
    bitmap_zero(s->irq_pending, KNPU_MAX_VECTORS);
    if (s->irq_bh) {
        qemu_bh_cancel(s->irq_bh);
    }

    s->scratch = 0;
    s->dev_ctrl = 0;
    s->event_mask = 0;
    qatomic_set(&s->mmu_ctrl, 0);
    s->mmu_fault_count = 0;
    for (i = 0; i < KNPU_NUM_ASIDS; i++) {
        qatomic_set(&s->as_root[i], 0);
    }
    qatomic_inc(&s->tlb_epoch);
    memset(s->latch, 0, sizeof(s->latch));
    s->fatal = false;
    s->rr_next = 0;

    if (power_on) {
        s->removed = false;
        s->event_status = 0;
        s->jobs_completed = 0;
        s->bytes_moved = 0;
        s->err_correctable = 0;
        s->err_uncorrectable = 0;
        for (i = 0; i < s->num_cores; i++) {
            s->cores[i].busy_ns = 0;
        }
        s->clock_base = knpu_now();
        s->load = 0;
        s->load_time = s->clock_base;
        s->throttled = false;
    } else {
        knpu_event_locked(s, KNPU_EVENT_RESET_DONE);
    }
}

/* ------------------------------------------------------------------ */
/* DMA and the device MMU (section 6)                                   */

/*
 * Bus addresses may not reach the device's own BARs (device memory is only
 * reached through DEVMEM page-table entries).
 */
static bool knpu_hits_own_bar(KnpuState *s, uint64_t addr, uint64_t len)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    static const int bars[] = { KNPU_BAR_REGS, KNPU_BAR_DEVMEM, KNPU_BAR_MSIX };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(bars); i++) {
        pcibus_t base = pci_get_bar_addr(pdev, bars[i]);
        uint64_t size = pdev->io_regions[bars[i]].size;

        if (base == PCI_BAR_UNMAPPED || !size) {
            continue;
        }
        if (addr < base + size && base < addr + len) {
            return true;
        }
    }
    return false;
}

static bool knpu_bus_rw(KnpuState *s, uint64_t addr, void *buf, uint64_t len,
                        bool write)
{
    MemTxResult r;

    if (!len) {
        return true;
    }
    if (qatomic_read(&s->removed) || addr + len < addr ||
        knpu_hits_own_bar(s, addr, len)) {
        trace_knpu_bus_error(addr, len, write);
        return false;
    }
    r = pci_dma_rw(PCI_DEVICE(s), addr, buf, len,
                   write ? DMA_DIRECTION_FROM_DEVICE : DMA_DIRECTION_TO_DEVICE,
                   knpu_dma_attrs);
    if (r != MEMTX_OK) {
        trace_knpu_bus_error(addr, len, write);
        return false;
    }
    return true;
}

static bool knpu_job_fail(KnpuJob *job, uint32_t code, unsigned operand,
                          unsigned access, unsigned reason, uint64_t addr)
{
    job->err_code = code;
    job->err_info = KNPU_ERR_INFO_OPERAND(operand) | (access << 8) |
                    (reason << 12) | (job->asid << 16);
    job->err_addr = addr;
    job->err_pc = job->pc;
    return false;
}

static bool knpu_mmu_fault(KnpuJob *job, uint64_t va, bool write,
                           unsigned operand, unsigned reason)
{
    trace_knpu_mmu_fault(job->qid, job->asid, va, write, reason);
    qemu_mutex_lock(&job->s->lock);
    job->s->mmu_fault_count++;
    qemu_mutex_unlock(&job->s->lock);
    return knpu_job_fail(job, KNPU_ERR_MMU_FAULT, operand,
                         write ? KNPU_ACCESS_WRITE : KNPU_ACCESS_READ,
                         reason, va);
}

static KnpuTlbEntry *knpu_tlb_slot(KnpuTlbEntry *tlb, uint32_t asid,
                                   uint64_t va, uint64_t page)
{
    return &tlb[((va / page) ^ asid) % KNPU_TLB_ENTRIES];
}

static uint64_t knpu_tlb_tag(uint32_t asid, uint64_t va, uint64_t page)
{
    return (va & ~(page - 1)) | asid;
}

/* A translation of @te for @va: check the access, give target and length. */
static bool knpu_tlb_use(KnpuJob *job, KnpuTlbEntry *te, uint64_t page,
                         uint64_t va, bool write, unsigned operand,
                         KnpuXlat *x)
{
    if (write ? !te->write : !te->read) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_PERMISSION);
    }
    x->devmem = te->devmem;
    x->addr = te->pa | (va & (page - 1));
    x->len = page - (va & (page - 1));
    return true;
}

/*
 * Translate @va of the job's address space for one access. On success
 * @x gives the target of the byte at @va and how many bytes follow it in
 * the same page.
 */
static bool knpu_translate(KnpuJob *job, uint64_t va, bool write,
                           unsigned operand, KnpuXlat *x)
{
    KnpuState *s = job->s;
    KnpuCore *core = job->core;
    uint32_t epoch = qatomic_read(&s->tlb_epoch);
    KnpuTlbEntry *te;
    uint64_t root, table, pte = 0, page, base;
    unsigned level;
    int i;

    if (!(qatomic_read(&s->mmu_ctrl) & KNPU_MMU_CTRL_ENABLE)) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_AS_INVALID);
    }
    if (va >> KNPU_VA_BITS) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_OUT_OF_RANGE);
    }
    if (core->tlb_epoch != epoch) {
        for (i = 0; i < KNPU_TLB_ENTRIES; i++) {
            core->tlb[i].tag = UINT64_MAX;
            core->tlb_large[i].tag = UINT64_MAX;
        }
        core->tlb_epoch = epoch;
    }

    te = knpu_tlb_slot(core->tlb_large, job->asid, va, KNPU_LARGE_PAGE_SIZE);
    if (te->tag == knpu_tlb_tag(job->asid, va, KNPU_LARGE_PAGE_SIZE)) {
        return knpu_tlb_use(job, te, KNPU_LARGE_PAGE_SIZE, va, write,
                            operand, x);
    }
    te = knpu_tlb_slot(core->tlb, job->asid, va, KNPU_PAGE_SIZE);
    if (te->tag == knpu_tlb_tag(job->asid, va, KNPU_PAGE_SIZE)) {
        return knpu_tlb_use(job, te, KNPU_PAGE_SIZE, va, write, operand, x);
    }

    root = qatomic_read(&s->as_root[job->asid]);
    if (!(root & KNPU_AS_ROOT_VALID)) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_AS_INVALID);
    }
    table = root & ~(uint64_t)(KNPU_PAGE_SIZE - 1);

    for (level = 0; level < 4; level++) {
        unsigned shift = 39 - 9 * level;
        uint64_t idx = (va >> shift) & 511;
        uint64_t raw;
        bool leaf;

        if (!knpu_bus_rw(s, table + idx * 8, &raw, 8, false)) {
            return knpu_mmu_fault(job, va, write, operand,
                                  KNPU_MMU_WALK_ERROR);
        }
        pte = le64_to_cpu(raw);
        if (!(pte & KNPU_PTE_VALID)) {
            return knpu_mmu_fault(job, va, write, operand,
                                  KNPU_MMU_NOT_PRESENT);
        }
        leaf = level == 3 || (level == 2 && (pte & KNPU_PTE_BLOCK));
        if (!leaf) {
            /* Table entry: only VALID and ADDR may be set. */
            if (pte & ~(KNPU_PTE_ADDR_MASK | KNPU_PTE_VALID)) {
                return knpu_mmu_fault(job, va, write, operand,
                                      KNPU_MMU_PTE_INVALID);
            }
            table = pte & KNPU_PTE_ADDR_MASK;
            continue;
        }
        if (pte & ~(KNPU_PTE_ADDR_MASK | KNPU_PTE_VALID | KNPU_PTE_READ |
                    KNPU_PTE_WRITE | KNPU_PTE_DEVMEM |
                    (level == 2 ? KNPU_PTE_BLOCK : 0))) {
            return knpu_mmu_fault(job, va, write, operand,
                                  KNPU_MMU_PTE_INVALID);
        }
        break;
    }

    page = level == 2 ? KNPU_LARGE_PAGE_SIZE : KNPU_PAGE_SIZE;
    base = pte & KNPU_PTE_ADDR_MASK;
    if (base & (page - 1)) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_PTE_INVALID);
    }
    if ((pte & KNPU_PTE_DEVMEM) &&
        (base >= s->devmem_size || page > s->devmem_size - base)) {
        return knpu_mmu_fault(job, va, write, operand, KNPU_MMU_PTE_INVALID);
    }

    te = knpu_tlb_slot(page == KNPU_PAGE_SIZE ? core->tlb : core->tlb_large,
                       job->asid, va, page);
    te->tag = knpu_tlb_tag(job->asid, va, page);
    te->pa = base;
    te->devmem = pte & KNPU_PTE_DEVMEM;
    te->read = pte & KNPU_PTE_READ;
    te->write = pte & KNPU_PTE_WRITE;
    return knpu_tlb_use(job, te, page, va, write, operand, x);
}

/*
 * Should the job stop here? True when its queue or the device is being
 * reset (job->aborted), or when an uncorrectable error hit the device (the
 * job fails with UNCORRECTABLE).
 */
static bool knpu_job_check_abort(KnpuJob *job)
{
    if (qatomic_read(&job->q->abort)) {
        job->aborted = true;
        return true;
    }
    if (qatomic_read(&job->s->fatal)) {
        knpu_job_fail(job, KNPU_ERR_UNCORRECTABLE, KNPU_ERR_OPERAND_NONE,
                      0, 0, 0);
        return true;
    }
    return false;
}

/* Read or write @len bytes at @va, translating page by page. */
static bool knpu_va_rw(KnpuJob *job, uint64_t va, void *buf, uint64_t len,
                       bool write, unsigned operand)
{
    KnpuState *s = job->s;
    uint8_t *p = buf;

    while (len) {
        KnpuXlat x = { 0 };
        uint64_t n;

        if (knpu_job_check_abort(job)) {
            return false;
        }
        if (!knpu_translate(job, va, write, operand, &x)) {
            return false;
        }
        n = MIN(len, x.len);
        if (x.devmem) {
            /* knpu_translate() checked the page lies inside device memory */
            if (write) {
                memcpy(s->devmem_ptr + x.addr, p, n);
            } else {
                memcpy(p, s->devmem_ptr + x.addr, n);
            }
        } else if (!knpu_bus_rw(s, x.addr, p, n, write)) {
            return knpu_job_fail(job, KNPU_ERR_BUS_ERROR, operand,
                                 write ? KNPU_ACCESS_WRITE : KNPU_ACCESS_READ,
                                 0, x.addr);
        }
        va += n;
        p += n;
        len -= n;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* The command processor (section 7)                                    */

/*
 * Make sure program bytes [0, end) are fetched; fetch faults belong to the
 * instruction that needs the bytes.
 */
static bool knpu_prog_fetch(KnpuJob *job, uint32_t end)
{
    while (job->prog_fetched < end) {
        uint64_t va = job->desc.program_va + job->prog_fetched;
        uint32_t n = KNPU_PAGE_SIZE - (va & (KNPU_PAGE_SIZE - 1));

        n = MIN(n, job->desc.program_size - job->prog_fetched);
        if (!knpu_va_rw(job, va, job->core->prog + job->prog_fetched, n,
                        false, KNPU_ERR_OPERAND_NONE)) {
            return false;
        }
        job->prog_fetched += n;
    }
    return true;
}

typedef struct KnpuInsn {
    uint32_t opcode;
    uint32_t dtype;
    uint32_t nops;
    uint32_t flags;
    uint32_t argmask;
    const uint32_t *words;  /* raw operand words, little-endian */
    uint64_t ops[255];      /* resolved operands */
} KnpuInsn;

/* Resolve the operands of @in per their kinds (section 7.2). */
static bool knpu_resolve_operands(KnpuJob *job, KnpuInsn *in,
                                  const KnpuOpInfo *op)
{
    unsigned i;

    if (in->nops != strlen(op->kinds) || (in->flags & ~op->flags) ||
        (in->nops < 32 && (in->argmask >> in->nops))) {
        return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID,
                             KNPU_ERR_OPERAND_NONE, 0, 0, 0);
    }
    for (i = 0; i < in->nops; i++) {
        uint32_t word = le32_to_cpu(in->words[i]);
        bool slot = i < 32 && (in->argmask & (1u << i));
        uint64_t v = word;

        if (op->kinds[i] == 'B' && !(in->flags & KNPU_FLAG_BIAS)) {
            /* Without BIAS the bias operand is an immediate 0. */
            if (slot || word) {
                return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID, i,
                                     0, 0, 0);
            }
        } else if (slot) {
            if (word >= job->nslots) {
                return knpu_job_fail(job, KNPU_ERR_ARG_INDEX_INVALID, i,
                                     0, 0, word);
            }
            v = job->core->slots[word];
        } else if (op->kinds[i] == 'A' || op->kinds[i] == 'B') {
            return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID, i, 0, 0, 0);
        }
        switch (op->kinds[i]) {
        case 'V':
            if (v >> 32) {
                return knpu_job_fail(job, KNPU_ERR_OPERAND_INVALID, i,
                                     0, 0, 0);
            }
            break;
        case 'F':
            v &= UINT32_MAX;
            break;
        }
        in->ops[i] = v;
    }
    return true;
}

static bool knpu_check_align(KnpuJob *job, uint64_t va, uint64_t align,
                             unsigned operand)
{
    if (va & (align - 1)) {
        return knpu_job_fail(job, KNPU_ERR_ALIGNMENT, operand, 0, 0, va);
    }
    return true;
}

static bool knpu_op_dma_copy(KnpuJob *job, KnpuInsn *in)
{
    uint64_t dst = in->ops[0], src = in->ops[1], bytes = in->ops[2];
    uint8_t *buf = job->core->bounce;

    while (bytes) {
        uint64_t n = MIN(bytes, KNPU_BOUNCE_SIZE);

        if (!knpu_va_rw(job, src, buf, n, false, 1) ||
            !knpu_va_rw(job, dst, buf, n, true, 0)) {
            return false;
        }
        job->bytes += 2 * n;
        src += n;
        dst += n;
        bytes -= n;
    }
    return true;
}

static bool knpu_op_dma_fill(KnpuJob *job, KnpuInsn *in)
{
    uint64_t dst = in->ops[0], bytes = in->ops[1];
    uint32_t pattern = cpu_to_le32((uint32_t)in->ops[2]);
    uint8_t *buf = job->core->bounce;
    uint64_t i;

    /*
     * The bounce buffer's size is a multiple of 4: every chunk starts at a
     * multiple of 4 from dst, so byte i is byte (i mod 4) of the pattern.
     */
    for (i = 0; i < MIN(bytes, KNPU_BOUNCE_SIZE); i += 4) {
        memcpy(buf + i, &pattern, 4);
    }
    while (bytes) {
        uint64_t n = MIN(bytes, KNPU_BOUNCE_SIZE);

        if (!knpu_va_rw(job, dst, buf, n, true, 0)) {
            return false;
        }
        job->bytes += n;
        dst += n;
        bytes -= n;
    }
    return true;
}

static bool knpu_op_sem_signal(KnpuJob *job, KnpuInsn *in)
{
    uint64_t va = in->ops[0];
    uint64_t val;
    bool ok;

    if (!knpu_check_align(job, va, 8, 0)) {
        return false;
    }
    smp_mb(); /* earlier writes of the job before the signal */
    if (!(in->flags & KNPU_SEM_SIGNAL_ADD)) {
        val = cpu_to_le64(in->ops[1]);
        ok = knpu_va_rw(job, va, &val, 8, true, 0);
        job->bytes += 8;
        return ok;
    }
    /* The add is atomic among the device's cores. */
    qemu_mutex_lock(&job->s->sem_lock);
    ok = knpu_va_rw(job, va, &val, 8, false, 0);
    if (ok) {
        val = cpu_to_le64(le64_to_cpu(val) + in->ops[1]);
        ok = knpu_va_rw(job, va, &val, 8, true, 0);
    }
    qemu_mutex_unlock(&job->s->sem_lock);
    job->bytes += 16;
    return ok;
}

static bool knpu_op_sem_wait(KnpuJob *job, KnpuInsn *in)
{
    uint64_t va = in->ops[0];
    unsigned delay_us = 1;
    uint64_t val;

    if (!knpu_check_align(job, va, 8, 0)) {
        return false;
    }
    job->bytes += 8;
    for (;;) {
        if (!knpu_va_rw(job, va, &val, 8, false, 0)) {
            return false;
        }
        if (le64_to_cpu(val) >= in->ops[1]) {
            smp_mb(); /* reads after the wait see the signaller's writes */
            return true;
        }
        if (knpu_job_check_abort(job)) {
            return false;
        }
        g_usleep(delay_us);
        delay_us = MIN(delay_us * 2, 200);
    }
}

static bool knpu_op_timestamp(KnpuJob *job, KnpuInsn *in)
{
    uint64_t va = in->ops[0];
    uint64_t ts;

    if (!knpu_check_align(job, va, 8, 0)) {
        return false;
    }
    ts = cpu_to_le64(knpu_now() - job->s->clock_base);
    job->bytes += 8;
    return knpu_va_rw(job, va, &ts, 8, true, 0);
}

static bool knpu_exec_insn(KnpuJob *job, KnpuInsn *in)
{
    switch (in->opcode) {
    case KNPU_OP_NOP:
    case KNPU_OP_BARRIER:
        /* Instructions complete in order and our writes are synchronous. */
        smp_mb(); /* earlier writes of the job are visible */
        return true;
    case KNPU_OP_DMA_COPY:
        return knpu_op_dma_copy(job, in);
    case KNPU_OP_DMA_FILL:
        return knpu_op_dma_fill(job, in);
    case KNPU_OP_SEM_SIGNAL:
        return knpu_op_sem_signal(job, in);
    case KNPU_OP_SEM_WAIT:
        return knpu_op_sem_wait(job, in);
    case KNPU_OP_TIMESTAMP:
        return knpu_op_timestamp(job, in);
    default:
        /* Not reached: only implemented opcodes get here. */
        return knpu_job_fail(job, KNPU_ERR_OPCODE_UNSUPPORTED,
                             KNPU_ERR_OPERAND_NONE, 0, 0, 0);
    }
}

static bool knpu_run_program(KnpuJob *job)
{
    uint32_t size = job->desc.program_size;
    uint32_t off = 0;
    KnpuInsn *in = g_new(KnpuInsn, 1);
    bool ok = false;

    while (off < size) {
        const KnpuOpInfo *op;
        uint32_t w0;
        uint64_t len;

        job->pc = off;
        if (knpu_job_check_abort(job)) {
            goto out;
        }
        if (!knpu_prog_fetch(job, off + 4)) {
            goto out;
        }
        w0 = ldl_le_p(job->core->prog + off);
        len = 4ull * (3 + KNPU_INSN_NOPS(w0));
        if (KNPU_INSN_RSVD(w0) || off + len > size) {
            knpu_job_fail(job, KNPU_ERR_PROGRAM_INVALID,
                          KNPU_ERR_OPERAND_NONE, 0, 0, 0);
            goto out;
        }
        if (!knpu_prog_fetch(job, off + len)) {
            goto out;
        }
        in->opcode = KNPU_INSN_OPCODE(w0);
        in->dtype = KNPU_INSN_DTYPE(w0);
        in->nops = KNPU_INSN_NOPS(w0);
        in->flags = ldl_le_p(job->core->prog + off + 4);
        in->argmask = ldl_le_p(job->core->prog + off + 8);
        in->words = (const uint32_t *)(job->core->prog + off + 12);
        trace_knpu_insn(job->qid, off, in->opcode, in->dtype, in->nops);

        op = in->opcode < KNPU_OP_COUNT ? &knpu_ops[in->opcode] : NULL;
        if (!op || !op->name) {
            knpu_job_fail(job, KNPU_ERR_OPCODE_INVALID, KNPU_ERR_OPERAND_NONE,
                          0, 0, 0);
            goto out;
        }
        if (!op->implemented || in->dtype >= KNPU_DT_COUNT ||
            !(KNPU_DTYPES_SUPPORTED & (1u << in->dtype)) ||
            !(op->dtypes & (1u << in->dtype))) {
            knpu_job_fail(job, KNPU_ERR_OPCODE_UNSUPPORTED,
                          KNPU_ERR_OPERAND_NONE, 0, 0, 0);
            goto out;
        }
        if (!knpu_resolve_operands(job, in, op) ||
            !knpu_exec_insn(job, in)) {
            goto out;
        }
        off += len;
    }
    ok = true;
out:
    g_free(in);
    return ok;
}

/* Section 5.1 */
static bool knpu_desc_valid(const KnpuDesc *d)
{
    if (d->rsvd0 || d->rsvd1[0] || d->rsvd1[1] ||
        (d->flags & ~KNPU_DESC_FLAG_IRQ)) {
        return false;
    }
    switch (d->type) {
    case KNPU_DESC_TYPE_NOP:
        return !d->program_va && !d->program_size && !d->args_size &&
               !d->args_va;
    case KNPU_DESC_TYPE_KERNEL:
        if ((d->program_va & 3) || !d->program_size ||
            (d->program_size & 3) ||
            d->program_size > KNPU_PROGRAM_SIZE_MAX ||
            (d->args_size & 7) || d->args_size > KNPU_ARGS_SIZE_MAX) {
            return false;
        }
        return !d->args_size || !(d->args_va & 7);
    default:
        return false;
    }
}

static void knpu_desc_from_le(KnpuDesc *d)
{
    d->type = le16_to_cpu(d->type);
    d->flags = le16_to_cpu(d->flags);
    d->rsvd0 = le32_to_cpu(d->rsvd0);
    d->program_va = le64_to_cpu(d->program_va);
    d->program_size = le32_to_cpu(d->program_size);
    d->args_size = le32_to_cpu(d->args_size);
    d->args_va = le64_to_cpu(d->args_va);
    d->fence_value = le64_to_cpu(d->fence_value);
    d->job_id = le64_to_cpu(d->job_id);
}

/* Run one job: read and check its descriptor, run its program. */
static KnpuJobResult knpu_run_job(KnpuJob *job, bool hang, bool mmu_fault)
{
    KnpuState *s = job->s;
    KnpuDesc *d = &job->desc;
    uint64_t addr = job->ring_base + (uint64_t)job->head * KNPU_DESC_SIZE;
    uint32_t i;

    job->pc = KNPU_ERR_PC_NONE;
    if (!knpu_bus_rw(s, addr, d, sizeof(*d), false)) {
        knpu_job_fail(job, KNPU_ERR_BUS_ERROR, KNPU_ERR_OPERAND_NONE,
                      KNPU_ACCESS_READ, 0, addr);
        return KNPU_JOB_FAILED;
    }
    knpu_desc_from_le(d);
    trace_knpu_job_start(job->core->id, job->qid, job->head, d->job_id,
                         d->type);
    if (!knpu_desc_valid(d)) {
        knpu_job_fail(job, KNPU_ERR_DESC_INVALID, KNPU_ERR_OPERAND_NONE,
                      0, 0, 0);
        return KNPU_JOB_FAILED;
    }
    if (hang) {
        /* Fault injection: the job never completes; only a reset ends it. */
        trace_knpu_job_hang(job->qid);
        qemu_mutex_lock(&s->lock);
        while (!qatomic_read(&job->q->abort) && !s->stopping) {
            qemu_cond_wait(&s->abort_cond, &s->lock);
        }
        qemu_mutex_unlock(&s->lock);
        job->aborted = true;
        return KNPU_JOB_ABORTED;
    }
    if (!(qatomic_read(&s->mmu_ctrl) & KNPU_MMU_CTRL_ENABLE)) {
        knpu_mmu_fault(job, d->program_va, false, KNPU_ERR_OPERAND_NONE,
                       KNPU_MMU_AS_INVALID);
        return KNPU_JOB_FAILED;
    }
    if (mmu_fault) {
        knpu_mmu_fault(job, d->program_va, false, KNPU_ERR_OPERAND_NONE,
                       KNPU_MMU_NOT_PRESENT);
        return KNPU_JOB_FAILED;
    }
    if (d->type == KNPU_DESC_TYPE_NOP) {
        return KNPU_JOB_OK;
    }

    job->nslots = d->args_size / 8;
    if (job->nslots) {
        if (!knpu_va_rw(job, d->args_va, job->core->slots, d->args_size,
                        false, KNPU_ERR_OPERAND_NONE)) {
            return job->aborted ? KNPU_JOB_ABORTED : KNPU_JOB_FAILED;
        }
        for (i = 0; i < job->nslots; i++) {
            job->core->slots[i] = le64_to_cpu(job->core->slots[i]);
        }
    }
    job->prog_fetched = 0;
    if (!knpu_run_program(job)) {
        return job->aborted ? KNPU_JOB_ABORTED : KNPU_JOB_FAILED;
    }
    return KNPU_JOB_OK;
}

/* Pick the next queue for a core: highest priority, round-robin. */
static int knpu_pick_queue_locked(KnpuState *s)
{
    int best = -1, best_prio = -1;
    unsigned i;

    if (!(s->dev_ctrl & KNPU_DEV_CTRL_ENABLE) || s->fatal || s->removed) {
        return -1;
    }
    for (i = 0; i < s->num_queues; i++) {
        unsigned qid = (s->rr_next + i) % s->num_queues;
        KnpuQueue *q = &s->queues[qid];
        int prio = KNPU_Q_CONFIG_PRIO(q->config);

        if (knpu_queue_runnable_locked(s, q) && prio > best_prio) {
            best = qid;
            best_prio = prio;
        }
    }
    if (best >= 0) {
        s->rr_next = (best + 1) % s->num_queues;
    }
    return best;
}

static void knpu_core_set_busy_locked(KnpuState *s, KnpuCore *core, bool busy)
{
    int64_t now = knpu_now();

    knpu_thermal_update_locked(s);
    if (busy) {
        core->busy = true;
        core->busy_since = now;
        s->busy_cores++;
    } else {
        core->busy = false;
        core->busy_ns += MAX(now - core->busy_since, 0);
        s->busy_cores--;
    }
}

static void *knpu_worker(void *opaque)
{
    KnpuCore *core = opaque;
    KnpuState *s = core->s;

    qemu_mutex_lock(&s->lock);
    while (!s->stopping) {
        KnpuJob job = { .s = s, .core = core };
        KnpuJobResult res;
        KnpuQueue *q;
        uint32_t gen;
        bool hang, mmu_fault, fence_ok = true;
        int qid = knpu_pick_queue_locked(s);

        if (qid < 0) {
            qemu_cond_wait(&s->work_cond, &s->lock);
            continue;
        }
        q = &s->queues[qid];
        q->running = true;
        qatomic_set(&q->abort, false);
        gen = q->gen;
        hang = q->inject_hang;
        mmu_fault = q->inject_mmu_fault;
        q->inject_hang = q->inject_mmu_fault = false;
        job.q = q;
        job.qid = qid;
        job.asid = KNPU_Q_CONFIG_ASID(q->config);
        job.ring_base = q->ring_base;
        job.ring_size = q->ring_size;
        job.fence_addr = q->fence_addr;
        job.head = q->head;
        knpu_core_set_busy_locked(s, core, true);
        qemu_mutex_unlock(&s->lock);

        res = knpu_run_job(&job, hang, mmu_fault);
        if (res == KNPU_JOB_OK && knpu_job_check_abort(&job)) {
            res = job.aborted ? KNPU_JOB_ABORTED : KNPU_JOB_FAILED;
        }
        if (res == KNPU_JOB_OK && job.fence_addr) {
            uint64_t fence = cpu_to_le64(job.desc.fence_value);

            smp_wmb(); /* the job's writes before its fence */
            fence_ok = knpu_bus_rw(s, job.fence_addr, &fence, 8, true);
        }

        qemu_mutex_lock(&s->lock);
        knpu_core_set_busy_locked(s, core, false);
        s->bytes_moved += job.bytes;
        if (job.aborted || q->gen != gen) {
            trace_knpu_job_abort(core->id, qid, job.desc.job_id);
        } else if (res == KNPU_JOB_OK && !fence_ok) {
            knpu_queue_fail_locked(s, qid, KNPU_ERR_BUS_ERROR,
                                   KNPU_ERR_OPERAND_NONE |
                                   (KNPU_ACCESS_WRITE << 8) | (job.asid << 16),
                                   job.fence_addr, KNPU_ERR_PC_NONE,
                                   true, true);
        } else if (res == KNPU_JOB_OK) {
            q->completed = job.desc.fence_value;
            q->head = (q->head + 1) % MAX(q->ring_size, 1);
            s->jobs_completed++;
            trace_knpu_job_done(core->id, qid, job.desc.job_id,
                                job.desc.fence_value, q->head);
            if (job.desc.flags & KNPU_DESC_FLAG_IRQ) {
                knpu_queue_irq_locked(s, qid, KNPU_Q_IRQ_COMPLETE);
            }
        } else {
            /* RESUME advances past the failing descriptor. */
            knpu_queue_fail_locked(s, qid, job.err_code, job.err_info,
                                   job.err_addr, job.err_pc, true, true);
        }
        q->running = false;
        qatomic_set(&q->abort, false);
        qemu_cond_broadcast(&s->idle_cond);
        /*
         * The queue may be runnable again while this core goes for another
         * one: let an idle core have it.
         */
        qemu_cond_signal(&s->work_cond);
    }
    qemu_mutex_unlock(&s->lock);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Registers                                                            */

static uint32_t knpu_latch_lo(KnpuState *s, unsigned idx, uint64_t v)
{
    s->latch[idx] = v >> 32;
    return (uint32_t)v;
}

static uint32_t knpu_queue_read_locked(KnpuState *s, unsigned qid,
                                       hwaddr reg)
{
    KnpuQueue *q = &s->queues[qid];

    switch (reg) {
    case KNPU_Q_RING_BASE_LO:
        return (uint32_t)q->ring_base;
    case KNPU_Q_RING_BASE_HI:
        return q->ring_base >> 32;
    case KNPU_Q_RING_SIZE:
        return q->ring_size;
    case KNPU_Q_CONFIG:
        return q->config;
    case KNPU_Q_FENCE_ADDR_LO:
        return (uint32_t)q->fence_addr;
    case KNPU_Q_FENCE_ADDR_HI:
        return q->fence_addr >> 32;
    case KNPU_Q_STATUS:
        return (q->enabled ? KNPU_Q_STATUS_ENABLED : 0) |
               (q->running ? KNPU_Q_STATUS_RUNNING : 0) |
               (q->error ? KNPU_Q_STATUS_ERROR : 0);
    case KNPU_Q_HEAD:
        return q->head;
    case KNPU_Q_TAIL:
        return q->tail;
    case KNPU_Q_IRQ_STATUS:
        return q->irq_status;
    case KNPU_Q_ERROR:
        return q->err_code;
    case KNPU_Q_ERROR_INFO:
        return q->err_info;
    case KNPU_Q_ERROR_ADDR_LO:
        return (uint32_t)q->err_addr;
    case KNPU_Q_ERROR_ADDR_HI:
        return q->err_addr >> 32;
    case KNPU_Q_ERROR_PC:
        return q->err_pc;
    case KNPU_Q_COMPLETED_LO:
        return (uint32_t)q->completed;
    case KNPU_Q_COMPLETED_HI:
        return q->completed >> 32;
    default:
        /* Q_CTRL reads its self-clearing bits as 0; Q_DOORBELL is WO. */
        if (reg == KNPU_Q_CTRL) {
            return q->enabled ? KNPU_Q_CTRL_ENABLE : 0;
        }
        return 0;
    }
}

static uint32_t knpu_read_locked(KnpuState *s, hwaddr addr)
{
    if (addr >= KNPU_REG_QUEUE_BASE &&
        addr < KNPU_REG_Q(s->num_queues, 0)) {
        return knpu_queue_read_locked(s, (addr - KNPU_REG_QUEUE_BASE) /
                                      KNPU_REG_QUEUE_STRIDE,
                                      addr % KNPU_REG_QUEUE_STRIDE);
    }
    if (addr >= KNPU_REG_AS_ROOT_LO(0) &&
        addr < KNPU_REG_AS_ROOT_LO(KNPU_NUM_ASIDS)) {
        uint64_t root = s->as_root[(addr - KNPU_REG_AS_ROOT_LO(0)) / 8];

        return addr & 4 ? root >> 32 : (uint32_t)root;
    }
    if (addr >= KNPU_REG_CORE_BUSY_LO(0) &&
        addr < KNPU_REG_CORE_BUSY_LO(s->num_cores)) {
        unsigned c = (addr - KNPU_REG_CORE_BUSY_LO(0)) / 8;

        if (addr & 4) {
            return s->latch[KNPU_LATCH_CORE0 + c];
        }
        return knpu_latch_lo(s, KNPU_LATCH_CORE0 + c,
                             knpu_core_busy_locked(s, c));
    }

    switch (addr) {
    case KNPU_REG_ID:
        return KNPU_ID_VALUE;
    case KNPU_REG_HW_VERSION:
        return KNPU_HW_VERSION_VALUE;
    case KNPU_REG_FW_VERSION:
        return KNPU_FW_VERSION_VALUE;
    case KNPU_REG_CONFIG0:
        return s->num_cores | (s->num_queues << 8) |
               (KNPU_NUM_ASIDS << 16) | (KNPU_VA_BITS << 24);
    case KNPU_REG_SRAM_SIZE:
        return s->sram_size;
    case KNPU_REG_DEVMEM_SIZE_LO:
        return (uint32_t)s->devmem_size;
    case KNPU_REG_DEVMEM_SIZE_HI:
        return s->devmem_size >> 32;
    case KNPU_REG_DTYPES:
        return KNPU_DTYPES_SUPPORTED;
    case KNPU_REG_OPS_LO:
        return (uint32_t)knpu_ops_mask();
    case KNPU_REG_OPS_HI:
        return knpu_ops_mask() >> 32;
    case KNPU_REG_FEATURES:
        return KNPU_FEATURES;
    case KNPU_REG_SERIAL_LO:
        return (uint32_t)s->serial;
    case KNPU_REG_SERIAL_HI:
        return s->serial >> 32;
    case KNPU_REG_SCRATCH:
        return s->scratch;
    case KNPU_REG_DEV_CTRL:
        return s->dev_ctrl;
    case KNPU_REG_DEV_STATUS:
        knpu_thermal_update_locked(s);
        return KNPU_DEV_STATUS_READY |
               (s->dev_ctrl & KNPU_DEV_CTRL_ENABLE ?
                KNPU_DEV_STATUS_ENABLED : 0) |
               (s->fatal ? KNPU_DEV_STATUS_FATAL : 0) |
               (s->throttled ? KNPU_DEV_STATUS_THROTTLED : 0) |
               (s->mmu_ctrl & KNPU_MMU_CTRL_ENABLE ?
                KNPU_DEV_STATUS_MMU_ENABLED : 0) |
               (s->busy_cores ? KNPU_DEV_STATUS_BUSY : 0);
    case KNPU_REG_EVENT_STATUS:
        return s->event_status;
    case KNPU_REG_EVENT_MASK:
        return s->event_mask;
    case KNPU_REG_TIMESTAMP_LO:
        return knpu_latch_lo(s, KNPU_LATCH_TIMESTAMP,
                             knpu_now() - s->clock_base);
    case KNPU_REG_TIMESTAMP_HI:
        return s->latch[KNPU_LATCH_TIMESTAMP];
    case KNPU_REG_MMU_CTRL:
        return s->mmu_ctrl;
    case KNPU_REG_MMU_FAULT_COUNT:
        return s->mmu_fault_count;
    case KNPU_REG_TEMP:
        return knpu_temp_locked(s);
    case KNPU_REG_POWER:
        return knpu_power_locked(s);
    case KNPU_REG_CLOCK:
        knpu_thermal_update_locked(s);
        return s->throttled ? KNPU_CLOCK_THROTTLED : KNPU_CLOCK_NOMINAL;
    case KNPU_REG_ERR_CORRECTABLE:
        return s->err_correctable;
    case KNPU_REG_ERR_UNCORRECTABLE:
        return s->err_uncorrectable;
    case KNPU_REG_JOBS_COMPLETED_LO:
        return knpu_latch_lo(s, KNPU_LATCH_JOBS, s->jobs_completed);
    case KNPU_REG_JOBS_COMPLETED_HI:
        return s->latch[KNPU_LATCH_JOBS];
    case KNPU_REG_BYTES_MOVED_LO:
        return knpu_latch_lo(s, KNPU_LATCH_BYTES, s->bytes_moved);
    case KNPU_REG_BYTES_MOVED_HI:
        return s->latch[KNPU_LATCH_BYTES];
    default:
        return 0;
    }
}

static uint64_t knpu_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    KnpuState *s = opaque;
    uint32_t val;

    if (qatomic_read(&s->removed)) {
        return UINT32_MAX;
    }
    if (size != 4 || (addr & 3)) {
        trace_knpu_mmio_bad_access(false, addr, size, 0);
        qemu_log_mask(LOG_GUEST_ERROR, "knpu: %u-byte read at 0x%" HWADDR_PRIx
                      " ignored\n", size, addr);
        return 0;
    }
    qemu_mutex_lock(&s->lock);
    val = knpu_read_locked(s, addr);
    qemu_mutex_unlock(&s->lock);
    trace_knpu_mmio_read(addr, val);
    return val;
}

static void knpu_write_ignored(hwaddr addr, uint32_t val, const char *why)
{
    trace_knpu_write_ignored(addr, val, why);
    qemu_log_mask(LOG_GUEST_ERROR, "knpu: write 0x%x to 0x%" HWADDR_PRIx
                  " ignored: %s\n", val, addr, why);
}

/* Q_CTRL.ENABLE 0->1 (section 5.2) */
static void knpu_queue_enable_locked(KnpuState *s, unsigned qid)
{
    KnpuQueue *q = &s->queues[qid];
    const char *why = NULL;

    if (!q->ring_base || (q->ring_base & (KNPU_DESC_SIZE - 1))) {
        why = "ring base";
    } else if (q->ring_size < KNPU_RING_SIZE_MIN ||
               q->ring_size > KNPU_RING_SIZE_MAX ||
               !is_power_of_2(q->ring_size)) {
        why = "ring size";
    } else if (KNPU_Q_CONFIG_ASID(q->config) >= KNPU_NUM_ASIDS) {
        why = "asid";
    } else if (q->fence_addr & 7) {
        why = "fence address";
    }
    if (why) {
        trace_knpu_queue_config_invalid(qid, why);
        knpu_queue_fail_locked(s, qid, KNPU_ERR_CONFIG_INVALID,
                               KNPU_ERR_OPERAND_NONE |
                               (KNPU_Q_CONFIG_ASID(q->config) << 16),
                               0, KNPU_ERR_PC_NONE, false, false);
        return;
    }
    knpu_queue_clear_error_locked(q);
    q->enabled = true;
    q->head = q->tail = q->db_tail = 0;
    /* A job still running from before a disable must not touch the ring. */
    q->gen++;
    trace_knpu_queue_enable(qid, q->ring_base, q->ring_size,
                            KNPU_Q_CONFIG_ASID(q->config),
                            KNPU_Q_CONFIG_PRIO(q->config));
}

static void knpu_queue_ctrl_locked(KnpuState *s, unsigned qid, uint32_t val)
{
    KnpuQueue *q = &s->queues[qid];

    if (val & ~(KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESET | KNPU_Q_CTRL_RESUME)) {
        knpu_write_ignored(KNPU_REG_Q(qid, KNPU_Q_CTRL), val,
                           "reserved Q_CTRL bits");
        val &= KNPU_Q_CTRL_ENABLE | KNPU_Q_CTRL_RESET | KNPU_Q_CTRL_RESUME;
    }
    if (val & KNPU_Q_CTRL_RESET) {
        /* RESET wins over the other bits of the same write. */
        trace_knpu_queue_reset(qid);
        knpu_queue_abort_locked(s, qid);
        knpu_queue_clear_error_locked(q);
        q->head = q->tail = q->db_tail = 0;
        q->enabled = false;
        return;
    }
    if (val & KNPU_Q_CTRL_RESUME) {
        if (q->error && q->enabled) {
            if (q->err_skips) {
                q->head = (q->head + 1) % q->ring_size;
            }
            knpu_queue_clear_error_locked(q);
            trace_knpu_queue_resume(qid, q->head);
            qemu_cond_broadcast(&s->work_cond);
        } else {
            knpu_write_ignored(KNPU_REG_Q(qid, KNPU_Q_CTRL), val,
                               "RESUME without a queue error");
        }
    }
    if ((val & KNPU_Q_CTRL_ENABLE) && !q->enabled) {
        knpu_queue_enable_locked(s, qid);
    } else if (!(val & KNPU_Q_CTRL_ENABLE) && q->enabled) {
        /* Fetch no more descriptors; a running job completes. */
        trace_knpu_queue_disable(qid);
        q->enabled = false;
    }
}

static void knpu_doorbell_locked(KnpuState *s, unsigned qid)
{
    KnpuQueue *q = &s->queues[qid];

    trace_knpu_doorbell(qid, q->tail, q->head);
    if (!q->enabled) {
        knpu_write_ignored(KNPU_REG_Q(qid, KNPU_Q_DOORBELL), q->tail,
                           "doorbell of a disabled queue");
        return;
    }
    if (q->tail >= q->ring_size) {
        if (!q->error) {
            knpu_queue_fail_locked(s, qid, KNPU_ERR_TAIL_INVALID,
                                   KNPU_ERR_OPERAND_NONE |
                                   (KNPU_Q_CONFIG_ASID(q->config) << 16),
                                   0, KNPU_ERR_PC_NONE, false, true);
        }
        return;
    }
    q->db_tail = q->tail;
    /* One more runnable queue: one idle core is enough. */
    qemu_cond_signal(&s->work_cond);
}

static void knpu_queue_write_locked(KnpuState *s, unsigned qid, hwaddr reg,
                                    uint32_t val)
{
    KnpuQueue *q = &s->queues[qid];
    hwaddr addr = KNPU_REG_Q(qid, reg);

    switch (reg) {
    case KNPU_Q_RING_BASE_LO:
    case KNPU_Q_RING_BASE_HI:
    case KNPU_Q_RING_SIZE:
    case KNPU_Q_CONFIG:
    case KNPU_Q_FENCE_ADDR_LO:
    case KNPU_Q_FENCE_ADDR_HI:
        if (q->enabled) {
            knpu_write_ignored(addr, val, "queue is enabled");
            return;
        }
        break;
    }

    switch (reg) {
    case KNPU_Q_RING_BASE_LO:
        q->ring_base = deposit64(q->ring_base, 0, 32, val);
        break;
    case KNPU_Q_RING_BASE_HI:
        q->ring_base = deposit64(q->ring_base, 32, 32, val);
        break;
    case KNPU_Q_RING_SIZE:
        q->ring_size = val;
        break;
    case KNPU_Q_CONFIG:
        if (val & ~KNPU_Q_CONFIG_MASK) {
            knpu_write_ignored(addr, val, "reserved Q_CONFIG bits dropped");
        }
        q->config = val & KNPU_Q_CONFIG_MASK;
        break;
    case KNPU_Q_FENCE_ADDR_LO:
        q->fence_addr = deposit64(q->fence_addr, 0, 32, val);
        break;
    case KNPU_Q_FENCE_ADDR_HI:
        q->fence_addr = deposit64(q->fence_addr, 32, 32, val);
        break;
    case KNPU_Q_CTRL:
        knpu_queue_ctrl_locked(s, qid, val);
        break;
    case KNPU_Q_TAIL:
        q->tail = val;
        break;
    case KNPU_Q_DOORBELL:
        knpu_doorbell_locked(s, qid);
        break;
    case KNPU_Q_IRQ_STATUS:
        q->irq_status &= ~val;
        break;
    default:
        knpu_write_ignored(addr, val, "read-only or unassigned");
        break;
    }
}

static void knpu_write_locked(KnpuState *s, hwaddr addr, uint32_t val)
{
    if (addr >= KNPU_REG_QUEUE_BASE &&
        addr < KNPU_REG_Q(s->num_queues, 0)) {
        knpu_queue_write_locked(s, (addr - KNPU_REG_QUEUE_BASE) /
                                KNPU_REG_QUEUE_STRIDE,
                                addr % KNPU_REG_QUEUE_STRIDE, val);
        return;
    }
    if (addr >= KNPU_REG_AS_ROOT_LO(0) &&
        addr < KNPU_REG_AS_ROOT_LO(KNPU_NUM_ASIDS)) {
        unsigned a = (addr - KNPU_REG_AS_ROOT_LO(0)) / 8;
        uint64_t root = s->as_root[a];

        if (addr & 4) {
            root = deposit64(root, 32, 32, val);
        } else {
            if (val & ~(KNPU_AS_ROOT_ADDR_MASK | KNPU_AS_ROOT_VALID)) {
                knpu_write_ignored(addr, val, "reserved AS_ROOT bits dropped");
            }
            root = deposit64(root, 0, 32,
                             val & (KNPU_AS_ROOT_ADDR_MASK |
                                    KNPU_AS_ROOT_VALID));
        }
        qatomic_set(&s->as_root[a], root);
        /* Not required by the spec (software invalidates), but cheap. */
        qatomic_inc(&s->tlb_epoch);
        return;
    }

    switch (addr) {
    case KNPU_REG_SCRATCH:
        s->scratch = val;
        break;
    case KNPU_REG_DEV_CTRL:
        s->dev_ctrl = val & KNPU_DEV_CTRL_ENABLE;
        if (val & ~KNPU_DEV_CTRL_ENABLE) {
            knpu_write_ignored(addr, val, "reserved DEV_CTRL bits dropped");
        }
        qemu_cond_broadcast(&s->work_cond);
        break;
    case KNPU_REG_SOFT_RESET:
        if (val != KNPU_SOFT_RESET_MAGIC) {
            knpu_write_ignored(addr, val, "wrong SOFT_RESET magic");
            break;
        }
        trace_knpu_reset("soft");
        knpu_reset_locked(s, false);
        break;
    case KNPU_REG_EVENT_STATUS:
        s->event_status &= ~val;
        break;
    case KNPU_REG_EVENT_MASK:
        s->event_mask = val & KNPU_EVENT_ALL;
        break;
    case KNPU_REG_MMU_CTRL:
        qatomic_set(&s->mmu_ctrl, val & KNPU_MMU_CTRL_ENABLE);
        qatomic_inc(&s->tlb_epoch);
        break;
    case KNPU_REG_MMU_TLB_INVAL:
        trace_knpu_tlb_inval(val);
        /* Every core flushes its whole TLB before its next translation. */
        qatomic_inc(&s->tlb_epoch);
        smp_mb(); /* pairs with the workers' read of tlb_epoch */
        break;
    default:
        knpu_write_ignored(addr, val, "read-only or unassigned");
        break;
    }
}

static void knpu_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                            unsigned size)
{
    KnpuState *s = opaque;

    if (qatomic_read(&s->removed)) {
        return;
    }
    if (size != 4 || (addr & 3)) {
        trace_knpu_mmio_bad_access(true, addr, size, val);
        qemu_log_mask(LOG_GUEST_ERROR, "knpu: %u-byte write at 0x%"
                      HWADDR_PRIx " ignored\n", size, addr);
        return;
    }
    trace_knpu_mmio_write(addr, val);
    qemu_mutex_lock(&s->lock);
    knpu_write_locked(s, addr, val);
    qemu_mutex_unlock(&s->lock);
}

static const MemoryRegionOps knpu_mmio_ops = {
    .read = knpu_mmio_read,
    .write = knpu_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* Every access reaches us: bad ones are ignored and traced (section 3). */
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
};

/* ------------------------------------------------------------------ */
/* Fault injection (section 10)                                         */

/*
 * Injections requested before realize (on the -device command line) take
 * effect at the first power-on reset, so that the device comes up with
 * them; later ones take effect at once.
 */
static void knpu_inject_locked(KnpuState *s, const char *name, int64_t val)
{
    unsigned i;

    trace_knpu_inject(name, val);
    if (!strcmp(name, "inject-hang-queue")) {
        s->queues[val].inject_hang = true;
    } else if (!strcmp(name, "inject-mmu-fault-queue")) {
        s->queues[val].inject_mmu_fault = true;
    } else if (!strcmp(name, "inject-uncorrectable")) {
        qatomic_set(&s->fatal, true);
        s->err_uncorrectable++;
        knpu_event_locked(s, KNPU_EVENT_UNCORRECTABLE);
    } else if (!strcmp(name, "inject-correctable")) {
        s->err_correctable++;
        knpu_event_locked(s, KNPU_EVENT_CORRECTABLE);
    } else if (!strcmp(name, "inject-surprise-removal")) {
        if (!s->removed) {
            for (i = 0; i < s->num_queues; i++) {
                knpu_queue_abort_locked(s, i);
            }
            qatomic_set(&s->removed, true);
            bitmap_zero(s->irq_pending, KNPU_MAX_VECTORS);
        }
    }
}

static void knpu_apply_boot_injections_locked(KnpuState *s)
{
    if (s->boot_inject_hang >= 0) {
        knpu_inject_locked(s, "inject-hang-queue", s->boot_inject_hang);
    }
    if (s->boot_inject_mmu_fault >= 0) {
        knpu_inject_locked(s, "inject-mmu-fault-queue",
                           s->boot_inject_mmu_fault);
    }
    if (s->boot_inject_uncorrectable) {
        knpu_inject_locked(s, "inject-uncorrectable", 1);
    }
    if (s->boot_inject_correctable) {
        knpu_inject_locked(s, "inject-correctable", 1);
    }
    if (s->boot_inject_removal) {
        knpu_inject_locked(s, "inject-surprise-removal", 1);
    }
    s->boot_inject_hang = s->boot_inject_mmu_fault = -1;
    s->boot_inject_uncorrectable = s->boot_inject_correctable = false;
    s->boot_inject_removal = false;
}

static void knpu_get_inject_queue(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    int32_t val = -1;

    visit_type_int32(v, name, &val, errp);
}

static void knpu_set_inject_queue(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    KnpuState *s = KNPU(obj);
    bool realized = DEVICE(obj)->realized;
    int32_t val;

    if (!visit_type_int32(v, name, &val, errp)) {
        return;
    }
    if (val < -1 || val >= KNPU_MAX_QUEUES ||
        (realized && val >= (int32_t)s->num_queues)) {
        error_setg(errp, "%s: queue %d out of range", name, val);
        return;
    }
    if (val < 0) {
        return;
    }
    qemu_mutex_lock(&s->lock);
    if (!realized) {
        if (!strcmp(name, "inject-hang-queue")) {
            s->boot_inject_hang = val;
        } else {
            s->boot_inject_mmu_fault = val;
        }
    } else {
        knpu_inject_locked(s, name, val);
    }
    qemu_mutex_unlock(&s->lock);
}

static void knpu_get_inject_bool(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    KnpuState *s = KNPU(obj);
    bool val = false;

    if (!strcmp(name, "inject-uncorrectable")) {
        val = s->fatal;
    } else if (!strcmp(name, "inject-surprise-removal")) {
        val = s->removed;
    } else if (!strcmp(name, "inject-overheat")) {
        val = s->overheat;
    }
    visit_type_bool(v, name, &val, errp);
}

static void knpu_set_inject_bool(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    KnpuState *s = KNPU(obj);
    bool realized = DEVICE(obj)->realized;
    bool val;

    if (!visit_type_bool(v, name, &val, errp)) {
        return;
    }
    qemu_mutex_lock(&s->lock);
    if (!strcmp(name, "inject-overheat")) {
        /* A level, not an event: it holds until cleared. */
        trace_knpu_inject(name, val);
        if (realized) {
            knpu_thermal_update_locked(s);
        }
        s->overheat = val;
        if (realized) {
            knpu_thermal_update_locked(s);
        }
    } else if (val && !realized) {
        if (!strcmp(name, "inject-uncorrectable")) {
            s->boot_inject_uncorrectable = true;
        } else if (!strcmp(name, "inject-correctable")) {
            s->boot_inject_correctable = true;
        } else {
            s->boot_inject_removal = true;
        }
    } else if (val) {
        knpu_inject_locked(s, name, val);
    }
    qemu_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Device lifecycle                                                     */

static void knpu_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                              int len)
{
    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
}

static void knpu_reset(DeviceState *dev)
{
    KnpuState *s = KNPU(dev);
    PCIDevice *pdev = PCI_DEVICE(dev);
    /* pcie_cap_flr_write_config() leaves BCR_FLR set while we run. */
    bool flr = pci_get_word(pdev->config + pdev->exp.exp_cap +
                            PCI_EXP_DEVCTL) & PCI_EXP_DEVCTL_BCR_FLR;

    trace_knpu_reset(flr ? "flr" : "power-on");
    qemu_mutex_lock(&s->lock);
    knpu_reset_locked(s, !flr);
    if (!flr) {
        knpu_apply_boot_injections_locked(s);
    }
    qemu_mutex_unlock(&s->lock);
    if (!flr && s->devmem_ptr) {
        /* Power-on: device memory reads as zero (cheaply, when possible). */
        if (ram_block_discard_range(s->devmem.ram_block, 0,
                                    s->devmem_size) < 0) {
            memset(s->devmem_ptr, 0, s->devmem_size);
        }
    }
}

static bool knpu_check_props(KnpuState *s, Error **errp)
{
    if (s->num_cores < 1 || s->num_cores > KNPU_MAX_CORES) {
        error_setg(errp, "cores must be 1 to %d", KNPU_MAX_CORES);
        return false;
    }
    if (s->num_queues < 1 || s->num_queues > KNPU_MAX_QUEUES) {
        error_setg(errp, "queues must be 1 to %d", KNPU_MAX_QUEUES);
        return false;
    }
    if (s->devmem_size < KNPU_DEVMEM_MIN || s->devmem_size > KNPU_DEVMEM_MAX ||
        !is_power_of_2(s->devmem_size)) {
        error_setg(errp, "devmem-size must be a power of two from 16 MiB to "
                   "16 GiB");
        return false;
    }
    if (s->boot_inject_hang >= (int32_t)s->num_queues ||
        s->boot_inject_mmu_fault >= (int32_t)s->num_queues) {
        error_setg(errp, "inject-*-queue: no such queue");
        return false;
    }
    if (!s->sram_size || (s->sram_size & (KNPU_PAGE_SIZE - 1)) ||
        s->sram_size > 2 * GiB) {
        error_setg(errp, "sram-size must be a non-zero multiple of 4 KiB up "
                   "to 2 GiB");
        return false;
    }
    return true;
}

static void knpu_realize(PCIDevice *pdev, Error **errp)
{
    ERRP_GUARD();
    KnpuState *s = KNPU(pdev);
    unsigned i;

    if (!knpu_check_props(s, errp)) {
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 0);
    pcie_endpoint_cap_init(pdev, 0x80);
    pcie_cap_flr_init(pdev);

    memory_region_init_io(&s->mmio, OBJECT(s), &knpu_mmio_ops, s,
                          "knpu-regs", KNPU_REGS_SIZE);
    pci_register_bar(pdev, KNPU_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->mmio);

    memory_region_init_ram(&s->devmem, OBJECT(s), "knpu-devmem",
                           s->devmem_size, errp);
    if (*errp) {
        return;
    }
    s->devmem_ptr = memory_region_get_ram_ptr(&s->devmem);
    pci_register_bar(pdev, KNPU_BAR_DEVMEM, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &s->devmem);

    memory_region_init(&s->msix_bar, OBJECT(s), "knpu-msix",
                       KNPU_MSIX_BAR_SIZE);
    if (msix_init(pdev, s->num_queues + 1, &s->msix_bar, KNPU_BAR_MSIX, 0,
                  &s->msix_bar, KNPU_BAR_MSIX, KNPU_MSIX_BAR_SIZE / 2, 0,
                  errp) < 0) {
        return;
    }
    pci_register_bar(pdev, KNPU_BAR_MSIX, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->msix_bar);
    for (i = 0; i <= s->num_queues; i++) {
        msix_vector_use(pdev, i);
    }

    s->irq_bh = qemu_bh_new_guarded(knpu_irq_bh, s,
                                    &DEVICE(pdev)->mem_reentrancy_guard);
    s->stopping = false;
    s->clock_base = knpu_now();
    s->load_time = s->clock_base;

    for (i = 0; i < s->num_cores; i++) {
        KnpuCore *core = &s->cores[i];
        g_autofree char *name = g_strdup_printf("knpu-core%u", i);

        core->s = s;
        core->id = i;
        core->prog = g_malloc(KNPU_PROGRAM_SIZE_MAX);
        core->slots = g_malloc(KNPU_ARGS_SIZE_MAX);
        core->bounce = g_malloc(KNPU_BOUNCE_SIZE);
        core->tlb_epoch = UINT32_MAX;
        qemu_thread_create(&core->thread, name, knpu_worker, core,
                           QEMU_THREAD_JOINABLE);
    }
}

static void knpu_exit(PCIDevice *pdev)
{
    KnpuState *s = KNPU(pdev);
    unsigned i;

    qemu_mutex_lock(&s->lock);
    s->stopping = true;
    for (i = 0; i < s->num_queues; i++) {
        s->queues[i].enabled = false;
        qatomic_set(&s->queues[i].abort, true);
    }
    qemu_cond_broadcast(&s->work_cond);
    qemu_cond_broadcast(&s->abort_cond);
    qemu_mutex_unlock(&s->lock);

    for (i = 0; i < s->num_cores; i++) {
        KnpuCore *core = &s->cores[i];

        qemu_thread_join(&core->thread);
        g_free(core->prog);
        g_free(core->slots);
        g_free(core->bounce);
    }
    qemu_bh_delete(s->irq_bh);
    s->irq_bh = NULL;
    msix_uninit(pdev, &s->msix_bar, &s->msix_bar);
}

static void knpu_instance_init(Object *obj)
{
    KnpuState *s = KNPU(obj);

    /* Fault-injection properties may be set before realize. */
    qemu_mutex_init(&s->lock);
    qemu_mutex_init(&s->sem_lock);
    qemu_cond_init(&s->work_cond);
    qemu_cond_init(&s->abort_cond);
    qemu_cond_init(&s->idle_cond);
    s->boot_inject_hang = -1;
    s->boot_inject_mmu_fault = -1;
}

static void knpu_instance_finalize(Object *obj)
{
    KnpuState *s = KNPU(obj);

    qemu_cond_destroy(&s->work_cond);
    qemu_cond_destroy(&s->abort_cond);
    qemu_cond_destroy(&s->idle_cond);
    qemu_mutex_destroy(&s->sem_lock);
    qemu_mutex_destroy(&s->lock);
}

/*
 * Not migratable yet: jobs in flight live on worker threads (a job can be
 * anywhere in its program, or waiting on a semaphore), and there is no
 * point at which their state could be captured short of draining them.
 * Migration needs a quiesce protocol first.
 */
static const VMStateDescription knpu_vmstate = {
    .name = "knpu",
    .unmigratable = 1,
};

static Property knpu_properties[] = {
    DEFINE_PROP_UINT32("cores", KnpuState, num_cores, 4),
    DEFINE_PROP_UINT32("queues", KnpuState, num_queues, 16),
    DEFINE_PROP_SIZE("devmem-size", KnpuState, devmem_size, 256 * MiB),
    DEFINE_PROP_UINT32("sram-size", KnpuState, sram_size, 4 * MiB),
    DEFINE_PROP_UINT64("serial", KnpuState, serial, 0x4b4e505500000001ull),
    DEFINE_PROP_END_OF_LIST(),
};

static void knpu_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    static const char *const queue_props[] = {
        "inject-hang-queue", "inject-mmu-fault-queue",
    };
    static const char *const bool_props[] = {
        "inject-uncorrectable", "inject-correctable",
        "inject-surprise-removal", "inject-overheat",
    };
    unsigned i;

    k->realize = knpu_realize;
    k->exit = knpu_exit;
    k->config_write = knpu_write_config;
    k->vendor_id = KNPU_VENDOR_ID;
    k->device_id = KNPU_DEVICE_ID;
    k->revision = KNPU_REVISION;
    k->class_id = KNPU_CLASS_ACCEL;
    k->subsystem_vendor_id = KNPU_SUBSYS_VENDOR_ID;
    k->subsystem_id = KNPU_SUBSYS_ID;
    dc->desc = "KNPU neural processing unit";
    dc->reset = knpu_reset;
    dc->vmsd = &knpu_vmstate;
    device_class_set_props(dc, knpu_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    for (i = 0; i < ARRAY_SIZE(queue_props); i++) {
        object_class_property_add(klass, queue_props[i], "int32",
                                  knpu_get_inject_queue,
                                  knpu_set_inject_queue, NULL, NULL);
    }
    for (i = 0; i < ARRAY_SIZE(bool_props); i++) {
        object_class_property_add(klass, bool_props[i], "bool",
                                  knpu_get_inject_bool,
                                  knpu_set_inject_bool, NULL, NULL);
    }
}

static const TypeInfo knpu_info = {
    .name = TYPE_KNPU,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(KnpuState),
    .instance_init = knpu_instance_init,
    .instance_finalize = knpu_instance_finalize,
    .class_init = knpu_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void knpu_register_types(void)
{
    type_register_static(&knpu_info);
}

type_init(knpu_register_types)
