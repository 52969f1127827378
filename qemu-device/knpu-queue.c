/*
 * KNPU device model: hardware queues and the compute cores (spec section 5).
 *
 * Queue state changes under s->lock: configuration, Q_CTRL (enable,
 * reset, resume), doorbells, errors. Each core is a worker thread that
 * takes the runnable queue of highest priority (round-robin among equals),
 * runs its head job through the command processor without the lock, then
 * completes it: fence, Q_HEAD, interrupt, or the queue's error. A queue
 * runs one job at a time.
 *
 * Affinity: a queue's next job goes to the core that ran its last one when
 * that core is idle. Each core's worker has its own OpenMP team, oneDNN
 * scratchpad, TLB and caches, so a queue that hopped between cores paid
 * for cold ones (docs/performance.md). An idle worker leaves such a queue
 * to its waiting core.
 *
 * Wake-ups: each core waits on its own condition, and a queue that becomes
 * runnable wakes one idle core for it, its last core when that one waits
 * (knpu_wake_cores_locked()), rather than every worker: with more cores
 * than host CPUs a broadcast woke them all for one job (docs/performance.md,
 * "Round trip by stage"). A worker that takes a job wakes cores for the
 * queues still runnable; one that finishes a job looks for the next itself.
 *
 * The deterministic engine ("x-deterministic", knpu-internal.h) has no
 * workers: a virtual-clock timer runs the cores in turn on the main loop
 * thread, with the same scheduler and the same start and completion of a
 * job; a job that would wait parks on its core instead.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/host-utils.h"
#include "qemu/main-loop.h"
#include "trace.h"
#include "knpu-internal.h"

/*
 * Deterministic engine: a free core takes a runnable queue this long after
 * the access that made it runnable (doorbell, RESUME, DEV_CTRL enable).
 */
#define KNPU_DET_TICK_NS        1000

/* Queue state */

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

static void knpu_core_run_job_locked(KnpuCore *core);
static void knpu_engine_arm_locked(KnpuState *s);

/*
 * Wait until no core runs a job of queue @qid (of any queue if < 0), whose
 * abort flag the caller set. The deterministic engine runs no job now: it
 * resumes the parked ones, which see the flag and end; the cores they
 * free take runnable queues at the next tick.
 */
static void knpu_wait_idle_locked(KnpuState *s, int qid)
{
    unsigned i;

    if (s->deterministic) {
        for (i = 0; i < s->num_cores; i++) {
            KnpuCore *core = &s->cores[i];

            if (core->busy && (qid < 0 || core->job.qid == qid)) {
                assert(qatomic_read(&core->job.q->abort));
                knpu_core_run_job_locked(core);
                assert(!core->busy);
            }
        }
        knpu_engine_arm_locked(s);
        return;
    }
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

/*
 * Abort the job of queue @qid still running, if any: on return it
 * accesses no memory, and its completion is ignored.
 */
static void knpu_queue_drain_locked(KnpuState *s, unsigned qid)
{
    KnpuQueue *q = &s->queues[qid];

    q->gen++;
    if (q->running) {
        qatomic_set(&q->abort, true);
        qemu_cond_broadcast(&s->abort_cond);
        knpu_wait_idle_locked(s, qid);
    }
}

/* Abort a queue's running job; on return the queue accesses no memory. */
void knpu_queue_abort_locked(KnpuState *s, unsigned qid)
{
    KnpuQueue *q = &s->queues[qid];

    q->enabled = false;
    knpu_queue_drain_locked(s, qid);
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
 * Soft reset, FLR and power-on reset of every queue (section 9). Waits for
 * the workers to leave every job: afterwards nothing submitted before
 * touches memory.
 */
void knpu_queues_reset_locked(KnpuState *s)
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

    /* No job runs, and none starts while the queues are disabled. */
    for (i = 0; i < s->num_cores; i++) {
        knpu_core_stage_free(&s->cores[i]);
    }
    for (i = 0; i < s->num_queues; i++) {
        knpu_queue_reset_regs_locked(&s->queues[i]);
        s->queues[i].inject_hang = false;
        s->queues[i].inject_mmu_fault = false;
    }
    s->rr_next = 0;
}

/* Queue control and doorbells (section 5.2, 5.3) */

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
    /*
     * A job still running from before a disable belongs to the old ring:
     * abort it, so that it writes no fence and does not hold the queue.
     */
    knpu_queue_drain_locked(s, qid);
    knpu_queue_clear_error_locked(q);
    q->enabled = true;
    q->head = q->tail = q->db_tail = 0;
    trace_knpu_queue_enable(qid, q->ring_base, q->ring_size,
                            KNPU_Q_CONFIG_ASID(q->config),
                            KNPU_Q_CONFIG_PRIO(q->config));
}

void knpu_queue_ctrl_locked(KnpuState *s, unsigned qid, uint32_t val)
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
            knpu_wake_cores_locked(s);
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

void knpu_doorbell_locked(KnpuState *s, unsigned qid)
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
    knpu_wake_cores_locked(s);
}

/* Scheduling and the workers */

/* Is @q better left to the idle core that ran its last job than to @core? */
static bool knpu_queue_prefers_other_locked(KnpuState *s, KnpuQueue *q,
                                            KnpuCore *core)
{
    return q->last_core && q->last_core - 1 != core->id &&
           q->last_core - 1 < s->num_cores &&
           s->cores[q->last_core - 1].waiting;
}

/* No job may start: the device is disabled, failed, gone or the VM stopped. */
static bool knpu_engine_stopped_locked(KnpuState *s)
{
    return !(s->dev_ctrl & KNPU_DEV_CTRL_ENABLE) || s->fatal || s->removed ||
           s->paused;
}

/* The deterministic engine: the next tick at which a core has work. */
static void knpu_engine_arm_locked(KnpuState *s)
{
    int64_t next = INT64_MAX;
    bool free_core = false;
    unsigned i;

    for (i = 0; i < s->num_cores; i++) {
        if (s->cores[i].busy) {
            next = MIN(next, s->cores[i].job.resume_at);
        } else {
            free_core = true;
        }
    }
    if (free_core && !knpu_engine_stopped_locked(s)) {
        for (i = 0; i < s->num_queues; i++) {
            if (knpu_queue_runnable_locked(s, &s->queues[i])) {
                next = MIN(next, knpu_now() + KNPU_DET_TICK_NS);
                break;
            }
        }
    }
    if (next == INT64_MAX) {
        timer_del(s->engine_timer);
    } else {
        timer_mod(s->engine_timer, next);
    }
}

/* Give idle @core work: it stops counting as idle for the next choice. */
static void knpu_core_wake_locked(KnpuCore *core)
{
    core->waiting = false;
    qemu_cond_signal(&core->wake);
}

/*
 * Wake an idle core for each runnable queue: its last core if that one
 * waits (affinity), else any waiting core. A woken core no longer counts
 * as waiting, so no two queues get the same one, and no queue is left to
 * a core that is not woken (knpu_queue_prefers_other_locked() defers only
 * to waiting cores).
 */
void knpu_wake_cores_locked(KnpuState *s)
{
    unsigned i, next = 0;

    if (s->deterministic) {
        knpu_engine_arm_locked(s);
        return;
    }
    if (knpu_engine_stopped_locked(s)) {
        return;
    }
    for (i = 0; i < s->num_queues; i++) {
        KnpuQueue *q = &s->queues[i];
        unsigned last = q->last_core;

        if (!knpu_queue_runnable_locked(s, q)) {
            continue;
        }
        if (last && last - 1 < s->num_cores && s->cores[last - 1].waiting) {
            knpu_core_wake_locked(&s->cores[last - 1]);
            continue;
        }
        while (next < s->num_cores && !s->cores[next].waiting) {
            next++;
        }
        if (next < s->num_cores) {
            knpu_core_wake_locked(&s->cores[next]);
        }
    }
}

/*
 * Pick the next queue for @core: highest priority, round-robin, skipping
 * queues whose last core is idle and not @core.
 */
static int knpu_pick_queue_locked(KnpuState *s, KnpuCore *core)
{
    int best = -1, best_prio = -1;
    unsigned i;

    if (knpu_engine_stopped_locked(s)) {
        return -1;
    }
    for (i = 0; i < s->num_queues; i++) {
        unsigned qid = (s->rr_next + i) % s->num_queues;
        KnpuQueue *q = &s->queues[qid];
        int prio = KNPU_Q_CONFIG_PRIO(q->config);

        if (knpu_queue_runnable_locked(s, q) && prio > best_prio &&
            !knpu_queue_prefers_other_locked(s, q, core)) {
            best = qid;
            best_prio = prio;
        }
    }
    if (best >= 0) {
        s->rr_next = (best + 1) % s->num_queues;
    }
    return best;
}

/*
 * With FLAG_TIMESTAMPS, write when the job started and ended (device clock)
 * into its descriptor, before the fence (section 5.1).
 */
static bool knpu_job_write_times(KnpuJob *job)
{
    uint64_t times[2];

    if (!(job->desc.flags & KNPU_DESC_FLAG_TIMESTAMPS)) {
        return true;
    }
    times[0] = cpu_to_le64(job->start_time);
    times[1] = cpu_to_le64(knpu_now() - job->s->clock_base);
    return knpu_job_bus_rw(job, job->ring_base +
                           (uint64_t)job->head * KNPU_DESC_SIZE +
                           KNPU_DESC_TIMES_OFFSET, times, sizeof(times), true);
}

/* Write the job's fence value (section 5.3) after all its writes. */
static bool knpu_job_write_fence(KnpuJob *job)
{
    uint64_t fence;

    if (!job->fence_addr) {
        return true;
    }
    fence = cpu_to_le64(job->desc.fence_value);
    smp_wmb(); /* the job's writes before its fence */
    return knpu_job_bus_rw(job, job->fence_addr, &fence, 8, true);
}

/* Account for a job that left its core: completed, failed or aborted. */
static void knpu_job_finish_locked(KnpuJob *job, KnpuJobResult res,
                                   bool fence_ok)
{
    KnpuState *s = job->s;
    KnpuQueue *q = job->q;
    unsigned qid = job->qid;

    if (job->aborted || q->gen != job->gen) {
        trace_knpu_job_abort(job->core->id, qid, job->desc.job_id);
    } else if (res == KNPU_JOB_OK && !fence_ok) {
        knpu_queue_fail_locked(s, qid, KNPU_ERR_BUS_ERROR,
                               KNPU_ERR_OPERAND_NONE |
                               (KNPU_ACCESS_WRITE << 8) | (job->asid << 16),
                               job->fence_addr, KNPU_ERR_PC_NONE,
                               true, true);
    } else if (res == KNPU_JOB_OK) {
        q->completed = job->desc.fence_value;
        q->head = (q->head + 1) % MAX(q->ring_size, 1);
        s->jobs_completed++;
        trace_knpu_job_done(job->core->id, qid, job->desc.job_id,
                            job->desc.fence_value, q->head);
        if (job->desc.flags & KNPU_DESC_FLAG_IRQ) {
            knpu_queue_irq_locked(s, qid, KNPU_Q_IRQ_COMPLETE);
        }
    } else {
        /* RESUME advances past the failing descriptor. */
        knpu_queue_fail_locked(s, qid, job->err_code, job->err_info,
                               job->err_addr, job->err_pc, true, true);
    }
}

/* @core takes the head job of queue @qid. */
static void knpu_core_start_job_locked(KnpuCore *core, unsigned qid)
{
    KnpuState *s = core->s;
    KnpuQueue *q = &s->queues[qid];
    KnpuJob *job = &core->job;

    *job = (KnpuJob) { .s = s, .core = core, .q = q, .qid = qid };
    q->running = true;
    q->last_core = core->id + 1;
    qatomic_set(&q->abort, false);
    job->gen = q->gen;
    job->inject_hang = q->inject_hang;
    job->inject_mmu_fault = q->inject_mmu_fault;
    q->inject_hang = q->inject_mmu_fault = false;
    job->asid = KNPU_Q_CONFIG_ASID(q->config);
    job->ring_base = q->ring_base;
    job->fence_addr = q->fence_addr;
    job->head = q->head;
    job->start_time = knpu_now() - s->clock_base;
    knpu_core_set_busy_locked(s, core, true);
    core->waiting = false;
    /* The queues this core leaves for now, to the idle ones. */
    knpu_wake_cores_locked(s);
}

/*
 * Run @core's job until it ends (or, in the deterministic engine, parks
 * again). Called with s->lock held, which is dropped while the job runs.
 */
static void knpu_core_run_job_locked(KnpuCore *core)
{
    KnpuState *s = core->s;
    KnpuJob *job = &core->job;
    KnpuQueue *q = job->q;
    KnpuJobResult res;
    bool fence_ok = true;

    /* Workers never hold the BQL; the deterministic engine always does. */
    assert(qemu_mutex_iothread_locked() == s->deterministic);
    qemu_mutex_unlock(&s->lock);

    res = knpu_run_job(job);
    if (res == KNPU_JOB_OK && knpu_job_check_abort(job)) {
        res = job->aborted ? KNPU_JOB_ABORTED : KNPU_JOB_FAILED;
    }
    if (res == KNPU_JOB_OK) {
        fence_ok = knpu_job_write_times(job) && knpu_job_write_fence(job);
        if (job->aborted) {
            res = KNPU_JOB_ABORTED;
        }
    }

    qemu_mutex_lock(&s->lock);
    if (res == KNPU_JOB_PARKED) {
        /* It keeps its core and its queue until it is resumed. */
        return;
    }
    knpu_core_set_busy_locked(s, core, false);
    s->bytes_moved += job->bytes;
    knpu_job_finish_locked(job, res, fence_ok);
    q->running = false;
    qatomic_set(&q->abort, false);
    qemu_cond_broadcast(&s->idle_cond);
    /*
     * No wake-up: the caller picks the next queue without dropping the
     * lock, and wakes idle cores for the ones it leaves.
     */
}

static void *knpu_worker(void *opaque)
{
    KnpuCore *core = opaque;
    KnpuState *s = core->s;

    qemu_mutex_lock(&s->lock);
    while (!s->stopping) {
        int qid = knpu_pick_queue_locked(s, core);

        if (qid < 0) {
            core->waiting = true;
            qemu_cond_wait(&core->wake, &s->lock);
            core->waiting = false;
            continue;
        }
        knpu_core_start_job_locked(core, qid);
        knpu_core_run_job_locked(core);
    }
    qemu_mutex_unlock(&s->lock);
    return NULL;
}

/*
 * The deterministic engine's tick: each core in turn resumes its parked job
 * if it is due, then takes runnable queues until none is left for it or a
 * job parks (knpu-internal.h).
 */
static void knpu_engine_tick(void *opaque)
{
    KnpuState *s = opaque;
    unsigned i;

    qemu_mutex_lock(&s->lock);
    for (i = 0; i < s->num_cores; i++) {
        s->cores[i].waiting = !s->cores[i].busy;
    }
    for (i = 0; i < s->num_cores && !qatomic_read(&s->paused); i++) {
        KnpuCore *core = &s->cores[i];

        for (;;) {
            if (!core->busy) {
                int qid = knpu_pick_queue_locked(s, core);

                if (qid < 0) {
                    break;
                }
                knpu_core_start_job_locked(core, qid);
            } else if (core->job.resume_at > knpu_now()) {
                break;
            }
            knpu_core_run_job_locked(core);
            if (core->busy) {
                break;
            }
        }
        core->waiting = !core->busy;
    }
    knpu_engine_arm_locked(s);
    qemu_mutex_unlock(&s->lock);
    knpu_irq_flush(s);
}

/*
 * Deterministic engine: the job cannot go on before @until (virtual clock).
 * It parks on its core, to be resumed by the first tick at or after
 * @until (never by time if INT64_MAX) or by its abort. Returns false, for
 * the callers' "return knpu_job_park()": the job unwinds to its core.
 */
bool knpu_job_park(KnpuJob *job, int64_t until)
{
    assert(job->s->deterministic);
    job->parked = true;
    /* Strictly in the future: a due timer would fire outside clock_step. */
    job->resume_at = MAX(until, knpu_now() + 1);
    trace_knpu_job_park(job->core->id, job->qid, job->stage, job->next_pc,
                        job->resume_at);
    return false;
}

/*
 * The engine follows the VM's run state (a vm-change-state handler): while
 * the VM is stopped no job starts and no access section opens, and the
 * stop completes once none is open. Jobs go on where they were on "cont".
 */
void knpu_vm_state_change(void *opaque, bool running, RunState state)
{
    KnpuState *s = opaque;

    qemu_mutex_lock(&s->lock);
    qatomic_set(&s->paused, !running);
    if (running) {
        qemu_cond_broadcast(&s->abort_cond);
        knpu_wake_cores_locked(s);
    } else {
        knpu_access_wait_locked(s, UINT64_MAX);
    }
    qemu_mutex_unlock(&s->lock);
}

/*
 * A worker thread per core, with the buffers of the jobs it runs; in the
 * deterministic engine the buffers and the timer of the ticks.
 */
void knpu_cores_start(KnpuState *s)
{
    unsigned i;

    s->stopping = false;
    if (s->deterministic) {
        s->engine_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, knpu_engine_tick,
                                       s);
    }
    for (i = 0; i < s->num_cores; i++) {
        KnpuCore *core = &s->cores[i];
        g_autofree char *name = g_strdup_printf("knpu-core%u", i);

        core->s = s;
        core->id = i;
        core->prog = g_malloc(KNPU_PROGRAM_SIZE_MAX);
        core->slots = g_malloc(KNPU_ARGS_SIZE_MAX);
        core->bounce = g_malloc(KNPU_BOUNCE_SIZE);
        core->tlb_epoch = 0;
        if (!s->deterministic) {
            qemu_thread_create(&core->thread, name, knpu_worker, core,
                               QEMU_THREAD_JOINABLE);
        }
    }
}

/* Free @core's staging buffers; no job of it may run. */
void knpu_core_stage_free(KnpuCore *core)
{
    unsigned i;

    for (i = 0; i < KNPU_STAGE_SLOTS; i++) {
        g_free(core->stage[i]);
        core->stage[i] = NULL;
        core->stage_size[i] = 0;
        core->stage_peak[i] = 0;
        core->stage_peak_prev[i] = 0;
    }
}

/* Abort every job (the parked ones too) and end the worker threads. */
void knpu_cores_stop(KnpuState *s)
{
    unsigned i;

    qemu_mutex_lock(&s->lock);
    s->stopping = true;
    for (i = 0; i < s->num_queues; i++) {
        s->queues[i].enabled = false;
        qatomic_set(&s->queues[i].abort, true);
    }
    if (s->deterministic) {
        knpu_wait_idle_locked(s, -1);
        timer_free(s->engine_timer);
        s->engine_timer = NULL;
    }
    for (i = 0; i < s->num_cores; i++) {
        knpu_core_wake_locked(&s->cores[i]);
    }
    qemu_cond_broadcast(&s->abort_cond);
    qemu_mutex_unlock(&s->lock);

    for (i = 0; i < s->num_cores; i++) {
        KnpuCore *core = &s->cores[i];

        if (!s->deterministic) {
            qemu_thread_join(&core->thread);
        }
        g_free(core->prog);
        g_free(core->slots);
        g_free(core->bounce);
        knpu_core_stage_free(core);
    }
}
