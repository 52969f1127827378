/*
 * KNPU device model: the state shared by the files of the model and the
 * functions they call across files.
 *
 *   knpu.c            QOM type, properties, realize/exit, PCI config, reset
 *   knpu-regs.c       BAR0 registers: MMIO dispatch and register semantics
 *   knpu-irq.c        event and queue interrupt status, MSI-X from a BH
 *   knpu-queue.c      queues, doorbells, scheduling, worker threads, the
 *                     deterministic engine
 *   knpu-cp.c         command processor: descriptors, programs, instructions
 *   knpu-mmu.c        DMA, page walk, TLBs, MMU faults
 *   knpu-telemetry.c  temperature, power, clock, busy time
 *   knpu-inject.c     fault injection properties
 *
 * Threads and locks:
 * - MMIO runs on vCPU threads with the BQL held, and takes s->lock.
 * - Jobs run on one worker thread per compute core ("cores" property).
 * - The invariant: a worker never takes the BQL. Everything that must
 *   stop the workers (queue reset, soft reset, FLR, system reset,
 *   unplug, surprise removal, TLB invalidation, VM stop) waits for them
 *   with the BQL held, so a worker that needed the BQL would deadlock all
 *   of QEMU. knpu_bus_rw() enforces it: it maps the target and accesses
 *   it only when it is directly accessible system RAM (writable, for a
 *   write); anything else (MMIO, ROM, the RAM of a device such as a BAR
 *   or VRAM, our own BARs included) is refused before it is touched, and
 *   the job fails with BUS_ERROR. Device memory is accessed through
 *   s->devmem_ptr. Interrupts go through a bottom half (s->irq_bh) that
 *   runs under the BQL and calls msix_notify(). With an IOMMU, QEMU 7.2's
 *   intel-iommu translates under its own lock, not the BQL.
 * - s->lock protects all register state and the scheduler. It is never
 *   held across DMA. An MMIO handler may wait (on s->idle_cond, with the
 *   BQL and s->lock held) for a worker to leave a job; that is how queue
 *   reset, soft reset and FLR make sure no DMA of an aborted job happens
 *   after the register write completes. Workers check the abort flag
 *   between instructions, between DMA chunks and while polling a
 *   semaphore, so that wait is short.
 * - Access sections: a worker touches guest memory only inside
 *   knpu_access_begin()/knpu_access_end() (knpu-mmu.c), which publish in
 *   core->access_epoch the TLB epoch the access translates with. A
 *   section covers the translations of one run of pages and the bounded
 *   access they allow (KNPU_RUN_BYTES at most; a DMA_COPY's section a
 *   source and a destination run and the copy between them), never
 *   takes s->lock or the BQL, and does not start while the VM is
 *   stopped. TLB invalidation (MMU_TLB_INVAL, AS_ROOT, MMU_CTRL) bumps
 *   s->tlb_epoch and waits until no core is in a section of an older
 *   epoch, so the register write completes only when no stale
 *   translation can be used (spec 3.3, 6.3); VM stop waits until no core
 *   is in a section at all. knpu_va_rw(), knpu_va_copy() and
 *   knpu_va_sem_update() open the sections themselves: code that moves
 *   operands with them (compute instructions included) gets this for
 *   free and must not keep a translation or a host pointer across calls.
 *   knpu_bus_rw() is the raw access: call it inside a section, or
 *   through knpu_job_bus_rw().
 * - Functions named *_locked are called with s->lock held.
 *
 * The deterministic engine ("x-deterministic", experimental, off by
 * default; for qtest replay and fuzzing) replaces the worker threads:
 * - No worker thread exists. Jobs run on the main loop thread, with the
 *   BQL held, in the callback of a QEMU_CLOCK_VIRTUAL timer (a "tick").
 *   The timer is only ever armed strictly in the future, so under
 *   -accel qtest, where the virtual clock moves only on clock_step and
 *   clock_set, every job runs inside one of those commands: when a job
 *   runs relative to the register accesses is a function of the command
 *   stream alone, and so is everything the device does.
 * - A tick goes over the cores by index; each resumes its parked job if
 *   that one is due, then takes the runnable queues with the scheduler of
 *   the workers (knpu_pick_queue_locked()) and runs each job until it
 *   ends or parks, until none is left for it.
 * - A job never blocks the main loop: where a worker would wait (SEM_WAIT
 *   polling, an injected hang, a throttled core's stall) the job parks
 *   (knpu_job_park()): it keeps its core and its queue ("running") and is
 *   resumed at the tick it asked for. A SEM_WAIT resumes by executing the
 *   instruction again; stalls are added up and paid between instructions.
 * - Everything that waits for the workers (queue reset, soft reset, FLR,
 *   system reset, unplug, surprise removal) sets the queue's abort flag as
 *   before and then resumes the parked jobs itself (knpu_wait_idle_locked()),
 *   which see the flag before touching memory and end. No job is ever in an
 *   access section while a register access runs, so TLB invalidation and
 *   VM stop return at once. While the VM is stopped no tick runs a job.
 * - Completions, errors, fences and MSI-X go through the same code as with
 *   the workers: the modes differ only in who runs a job, in how a job
 *   waits, and in when the bottom half's MSI-X messages go out: at the end
 *   of the register access or tick that raised them (knpu_irq_flush()).
 * Running jobs under the BQL is safe because of the same rule that keeps
 * workers away from it: a job accesses RAM only (knpu_bus_rw()), never
 * MMIO. knpu_core_run_job_locked() asserts that a job runs with the BQL
 * held exactly when the engine is deterministic.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_MISC_KNPU_INTERNAL_H
#define HW_MISC_KNPU_INTERNAL_H

#include "qemu/bitmap.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "exec/memory.h"
#include "sysemu/runstate.h"
#include "hw/pci/pci.h"
#include "qom/object.h"
#include "knpu-hw.h"

#define TYPE_KNPU "knpu"
OBJECT_DECLARE_SIMPLE_TYPE(KnpuState, KNPU)

#define KNPU_MAX_CORES          16
/*
 * oneDNN primitives a device adds to the process's cache ("prim-cache"):
 * the default holds every distinct primitive of the project's largest
 * model (docs/performance.md), so its repeated inference creates none.
 */
#define KNPU_PRIM_CACHE_DEFAULT 1024
#define KNPU_PRIM_CACHE_MAX     65536
#define KNPU_MAX_QUEUES         64
#define KNPU_MAX_VECTORS        (KNPU_MAX_QUEUES + 1)
#define KNPU_BOUNCE_SIZE        (64 * KiB)
/* Most bytes one access section moves (knpu-mmu.c): a large page */
#define KNPU_RUN_BYTES          (2 * MiB)
/* Staging buffers a compute instruction may use (knpu_stage()) */
#define KNPU_STAGE_SLOTS        16
/*
 * A core gives back a staging buffer over KNPU_STAGE_KEEP bytes that is
 * more than KNPU_STAGE_SLACK times what its slot was asked for in the
 * last two windows of KNPU_STAGE_WINDOW jobs (knpu_stage_job_start()).
 */
#define KNPU_STAGE_WINDOW       16
#define KNPU_STAGE_SLACK        4
#define KNPU_STAGE_KEEP         (1 * MiB)
/*
 * Per TLB: with 64, a small model's weights and activations in 4 KiB pages
 * (cls: about 250 pages) missed on most pages each inference, a walk each.
 */
#define KNPU_TLB_ENTRIES        512

/* Counters latched by reading their _LO half (section 3). */
enum {
    KNPU_LATCH_TIMESTAMP,
    KNPU_LATCH_JOBS,
    KNPU_LATCH_BYTES,
    KNPU_LATCH_CORE0,
    KNPU_LATCH_COUNT = KNPU_LATCH_CORE0 + KNPU_MAX_CORES,
};

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
    unsigned last_core;     /* 1 + the core that ran its last job; 0 none */
    uint32_t gen;           /* bumped when the queue is reset */
    bool abort;             /* read by the worker without the lock */
    bool inject_hang;
    bool inject_mmu_fault;
} KnpuQueue;

typedef enum KnpuJobResult {
    KNPU_JOB_OK,
    KNPU_JOB_FAILED,
    KNPU_JOB_ABORTED,
    KNPU_JOB_PARKED,        /* deterministic engine: resumed at a later tick */
} KnpuJobResult;

typedef enum KnpuJobStage {
    KNPU_JOB_STAGE_START,   /* the descriptor is not read yet */
    KNPU_JOB_STAGE_HANG,    /* an injected hang: only its abort ends it */
    KNPU_JOB_STAGE_PROGRAM, /* runs its program from next_pc */
} KnpuJobStage;

typedef struct KnpuCore KnpuCore;

/* A job on its core: the core's worker or the deterministic engine runs it. */
typedef struct KnpuJob {
    KnpuState *s;
    KnpuCore *core;
    KnpuQueue *q;
    unsigned qid;
    uint32_t gen;           /* of the queue when the job started */
    uint32_t asid;
    uint64_t ring_base;
    uint64_t fence_addr;
    uint32_t head;
    bool inject_hang;
    bool inject_mmu_fault;
    KnpuDesc desc;
    uint32_t nslots;
    uint32_t prog_fetched;
    KnpuJobStage stage;
    uint32_t pc;            /* the instruction executing */
    uint32_t next_pc;       /* the instruction to (re)start */
    unsigned stage_used;    /* staging slots the instruction has taken */
    uint64_t bytes;
    int64_t start_time;     /* device clock when the core took the job */
    unsigned poll_us;       /* SEM_WAIT: the current polling interval */
    /* Deterministic engine */
    int64_t stall_ns;       /* throttle stalls not yet paid */
    bool parked;
    int64_t resume_at;      /* virtual clock; INT64_MAX: only by its abort */
    bool aborted;
    /* The error, valid when a step returned false and !aborted */
    uint32_t err_code;
    uint32_t err_info;
    uint64_t err_addr;
    uint32_t err_pc;
} KnpuJob;

typedef struct KnpuTlbEntry {
    uint64_t tag;           /* VA of the page | asid, or ~0 when empty */
    uint64_t pa;            /* target address of the page */
    bool devmem;
    bool read;
    bool write;
} KnpuTlbEntry;

struct KnpuCore {
    KnpuState *s;
    unsigned id;
    QemuThread thread;      /* none in the deterministic engine */
    uint8_t *prog;          /* program bytes fetched so far */
    uint64_t *slots;        /* argument table, host order */
    uint8_t *bounce;
    /*
     * Staging buffers of the compute instructions, this core's own, kept
     * from one instruction to the next (knpu_stage()); only its jobs use
     * them, and they are freed when no job runs (reset, unrealize) and
     * when far larger than recent jobs needed (knpu_stage_job_start()).
     */
    void *stage[KNPU_STAGE_SLOTS];
    size_t stage_size[KNPU_STAGE_SLOTS];
    size_t stage_peak[KNPU_STAGE_SLOTS];        /* asked, this window */
    size_t stage_peak_prev[KNPU_STAGE_SLOTS];   /* and the one before */
    unsigned stage_jobs;    /* jobs started in this window */
    KnpuTlbEntry tlb[KNPU_TLB_ENTRIES];         /* 4 KiB pages */
    KnpuTlbEntry tlb_large[KNPU_TLB_ENTRIES];   /* 2 MiB pages */
    /*
     * Walk cache: the bus address of the last-level table that maps the
     * 2 MiB at walk_tag (knpu_tlb_tag() of it), emptied with the TLBs.
     */
    uint64_t walk_tag;
    uint64_t walk_table;
    uint64_t tlb_epoch;     /* of the TLB contents and the walk cache */
    /* The epoch of the access section in progress, 0 outside (atomic) */
    uint64_t access_epoch;

    /* s->lock */
    bool busy;
    bool waiting;           /* idle, in the wake wait and not yet woken */
    QemuCond wake;          /* signalled when this idle core is given work */
    int64_t busy_since;
    uint64_t busy_ns;
    KnpuJob job;            /* while busy: the job it runs (or has parked) */
};

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
    uint32_t prim_cache;    /* oneDNN primitives it adds to the cache */
    bool deterministic;     /* x-deterministic: no workers, see above */

    QemuMutex lock;
    QemuCond abort_cond;    /* a job was told to abort, or VM resumed */
    QemuCond idle_cond;     /* a worker left a job */
    QemuMutex access_lock;  /* waits for access sections to end */
    QemuCond access_cond;   /* a worker left an access section */
    unsigned access_waiters;            /* atomic */
    QEMUBH *irq_bh;
    QEMUTimer *engine_timer;            /* deterministic engine: ticks */
    DECLARE_BITMAP(irq_pending, KNPU_MAX_VECTORS);
    bool stopping;
    bool paused;            /* the VM is stopped (atomic) */
    VMChangeStateEntry *vm_state;

    KnpuCore cores[KNPU_MAX_CORES];
    KnpuQueue queues[KNPU_MAX_QUEUES];
    unsigned rr_next;       /* round-robin cursor among equal priorities */

    /* Registers (s->lock unless noted) */
    uint32_t scratch;
    uint32_t dev_ctrl;
    uint32_t event_status;
    uint32_t event_mask;
    uint32_t mmu_ctrl;      /* also read by workers, atomically */
    uint32_t mmu_fault_count;           /* atomic */
    uint64_t as_root[KNPU_NUM_ASIDS];   /* read by workers, atomically */
    uint64_t tlb_epoch;     /* from 1, bumped on every invalidation */
    uint32_t latch[KNPU_LATCH_COUNT];
    bool fatal;
    bool removed;
    bool throttled;         /* also read by workers, atomically */
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

static inline int64_t knpu_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

/*
 * The host clock if trace event @id (TRACE_KNPU_...; the caller includes
 * trace.h) is on, else 0: the durations the events report are measured
 * only while they are traced, since reading the clock around every tensor
 * and primitive was 1.5-2.4 % of the device thread under a small model.
 */
#define knpu_trace_clock(id) \
    (trace_event_get_state_backends(id) ? get_clock() : 0)

/* Host time since @start of knpu_trace_clock(); 0 if it was not read. */
static inline int64_t knpu_trace_elapsed(int64_t start)
{
    return start ? get_clock() - start : 0;
}

/* knpu.c */
void knpu_reset_locked(KnpuState *s, bool power_on);

/* knpu-regs.c */
extern const MemoryRegionOps knpu_mmio_ops;
void knpu_write_ignored(hwaddr addr, uint32_t val, const char *why);

/* knpu-irq.c */
bool knpu_irq_init(KnpuState *s, Error **errp);
void knpu_irq_exit(KnpuState *s);
void knpu_irq_reset_locked(KnpuState *s);
void knpu_event_locked(KnpuState *s, uint32_t bits);
void knpu_queue_irq_locked(KnpuState *s, unsigned qid, uint32_t bits);
void knpu_irq_flush(KnpuState *s);

/* knpu-queue.c */
void knpu_core_stage_free(KnpuCore *core);
void knpu_cores_start(KnpuState *s);
void knpu_cores_stop(KnpuState *s);
void knpu_queues_reset_locked(KnpuState *s);
void knpu_queue_abort_locked(KnpuState *s, unsigned qid);
void knpu_queue_ctrl_locked(KnpuState *s, unsigned qid, uint32_t val);
void knpu_doorbell_locked(KnpuState *s, unsigned qid);
void knpu_wake_cores_locked(KnpuState *s);
void knpu_vm_state_change(void *opaque, bool running, RunState state);
bool knpu_job_park(KnpuJob *job, int64_t until);

/* knpu-cp.c */
uint32_t knpu_dtypes_mask(void);
uint64_t knpu_ops_mask(void);
KnpuJobResult knpu_run_job(KnpuJob *job);
bool knpu_job_fail(KnpuJob *job, uint32_t code, unsigned operand,
                   unsigned access, unsigned reason, uint64_t addr);
bool knpu_job_check_abort(KnpuJob *job);

/* knpu-mmu.c */
void knpu_mmu_reset_locked(KnpuState *s);
void knpu_tlb_invalidate_locked(KnpuState *s);
void knpu_access_wait_locked(KnpuState *s, uint64_t epoch);
bool knpu_bus_rw(KnpuState *s, uint64_t addr, void *buf, uint64_t len,
                 bool write);
bool knpu_job_bus_rw(KnpuJob *job, uint64_t addr, void *buf, uint64_t len,
                     bool write);
bool knpu_va_rw(KnpuJob *job, uint64_t va, void *buf, uint64_t len,
                bool write, unsigned operand);
bool knpu_va_equal(KnpuJob *job, uint64_t va, const void *buf, uint64_t len,
                   unsigned operand, bool *same);
bool knpu_va_copy(KnpuJob *job, uint64_t dst, uint64_t src, uint64_t len,
                  unsigned dst_op, unsigned src_op);
bool knpu_va_sem_update(KnpuJob *job, uint64_t va, uint64_t val, bool add,
                        unsigned operand);
bool knpu_mmu_fault(KnpuJob *job, uint64_t va, bool write,
                    unsigned operand, unsigned reason);
bool knpu_job_stall_settle(KnpuJob *job);

/* knpu-telemetry.c */
void knpu_telemetry_reset_locked(KnpuState *s);
void knpu_thermal_update_locked(KnpuState *s);
uint32_t knpu_temp_locked(KnpuState *s);
uint32_t knpu_power_locked(KnpuState *s);
uint32_t knpu_clock_locked(KnpuState *s);
int64_t knpu_throttle_stall_ns(KnpuState *s, int64_t work_ns);
uint64_t knpu_core_busy_locked(KnpuState *s, unsigned c);
void knpu_core_set_busy_locked(KnpuState *s, KnpuCore *core, bool busy);

/* knpu-dnnl.c */
bool knpu_dnnl_cache_resize(int delta);

/* knpu-inject.c */
void knpu_inject_class_init(ObjectClass *klass);
void knpu_apply_boot_injections_locked(KnpuState *s);

#endif /* HW_MISC_KNPU_INTERNAL_H */
