// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Hardware queues: the descriptor ring, the completion fence, the queue's
 * interrupt, which signals the hardware fences of the jobs the device has
 * completed, and the watchdog that resets a queue whose oldest job makes no
 * progress. Each hardware queue has a drm_sched scheduler owned by the
 * device; a driver queue binds one hardware queue for its life and is an
 * entity of its scheduler. The jobs' fences keep the device, and with it
 * the schedulers, alive (knpu_fence.c).
 *
 * A job leaves the ring only once the device no longer touches it: when the
 * fence says it completed, or after the hardware queue (or the device) was
 * reset. Its hardware fence signals then, never earlier, and the scheduler
 * frees it after that. The scheduler's own timeout is off: in this kernel
 * its recovery path (drm_sched_stop()/drm_sched_start()) completes jobs that
 * are still on the ring, and its timer measures the age of the newest job.
 *
 * Locking:
 *  - &knpu_device.reset_lock (mutex): device resets; nests
 *    &knpu_device.hwq_lock.
 *  - &knpu_device.hwq_lock (mutex): binding queues to hardware queues;
 *    nests &knpu_hw_queue.lock.
 *  - &knpu_queue.submit_lock (mutex): seqno order of submissions and the
 *    entity's lifetime; nests the BOs' reservation locks (drm_exec) and
 *    &knpu_hw_queue.lock.
 *  - &knpu_hw_queue.lock (spinlock, irq-safe, taken in the interrupt
 *    handler): the ring, the jobs in it and the error state of the bound
 *    queue; nests &knpu_hw_queue.fence_lock, the hardware fences' lock,
 *    through dma_fence_signal(), and &knpu_device.clock_lock.
 */

#include <kunit/visibility.h>
#include <linux/bitfield.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/jiffies.h>

#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/knpu_accel.h>

#include "knpu_fdinfo.h"
#include "knpu_hw.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_mmu.h"
#include "knpu_queue.h"
#include "knpu_reset.h"
#include "knpu_trace.h"

/**
 * knpu_job_timeout() - how long the oldest job of a queue may make no progress
 *
 * Return: the timeout in jiffies, or %MAX_SCHEDULE_TIMEOUT for none
 * (job_timeout_ms=0).
 */
static unsigned long knpu_job_timeout(void)
{
	return knpu_job_timeout_ms ? msecs_to_jiffies(knpu_job_timeout_ms) :
				     MAX_SCHEDULE_TIMEOUT;
}

/* The job at the ring head changed: its time to make progress starts now. */
static void knpu_hwq_head_moved_locked(struct knpu_hw_queue *hwq)
{
	unsigned long timeout = knpu_job_timeout();

	lockdep_assert_held(&hwq->lock);

	hwq->head_since = jiffies;
	if (hwq->head != hwq->tail && timeout != MAX_SCHEDULE_TIMEOUT)
		queue_delayed_work(hwq->kdev->recovery_wq, &hwq->watchdog, timeout);
}

/* Writes @job's descriptor at ring index @slot. */
static void knpu_hwq_write_desc_locked(struct knpu_hw_queue *hwq, u32 slot,
				       struct knpu_job *job)
{
	lockdep_assert_held(&hwq->lock);

	knpu_desc_kernel(&hwq->ring[slot], job->program_va, job->program_size,
			 job->args_va, job->args_size, job->seqno, job->seqno);
	if (hwq->kdev->info.features & KNPU_FEATURE_JOB_TIMESTAMPS)
		hwq->ring[slot].flags |= cpu_to_le16(KNPU_DESC_FLAG_TIMESTAMPS);
	hwq->jobs[slot] = job;
}

/* Makes the device process the ring up to the tail (hw-spec 5.3). */
static void knpu_hwq_kick_locked(struct knpu_hw_queue *hwq)
{
	lockdep_assert_held(&hwq->lock);

	/* writel() orders the descriptor writes before the tail update. */
	knpu_hwq_wr(hwq, KNPU_Q_TAIL, hwq->tail);
	trace_knpu_hwq_doorbell(hwq->kdev->drm.dev, hwq->id, hwq->tail);
	if (!knpu_inject_fault(&hwq->kdev->inject.lost_doorbell))
		knpu_hwq_wr(hwq, KNPU_Q_DOORBELL, 1);
}

/**
 * knpu_hwq_push_locked() - hand a job to the device
 * @hwq: the hardware queue, bound to the job's queue
 * @job: the job; the scheduler's credit limit guarantees a free slot
 */
void knpu_hwq_push_locked(struct knpu_hw_queue *hwq, struct knpu_job *job)
{
	bool was_idle = hwq->head == hwq->tail;

	lockdep_assert_held(&hwq->lock);

	knpu_busy_job_queued_locked(hwq, job->queue->ctx);
	trace_knpu_job_run(hwq->kdev->drm.dev, hwq->id, job->queue->ctx->asid, job->seqno);
	knpu_hwq_write_desc_locked(hwq, hwq->tail, job);
	hwq->tail = (hwq->tail + 1) % KNPU_RING_SIZE;
	if (was_idle)
		knpu_hwq_head_moved_locked(hwq);
	knpu_hwq_kick_locked(hwq);
}

/* Removes the job at the ring head and signals its hardware fence. */
static void knpu_hwq_complete_locked(struct knpu_hw_queue *hwq, int error)
{
	struct knpu_job *job = hwq->jobs[hwq->head];
	struct knpu_queue *queue = job->queue;

	lockdep_assert_held(&hwq->lock);

	hwq->jobs[hwq->head] = NULL;
	hwq->head = (hwq->head + 1) % KNPU_RING_SIZE;
	knpu_busy_job_retired_locked(hwq);
	trace_knpu_job_complete(hwq->kdev->drm.dev, hwq->id, queue->ctx->asid,
				job->seqno, error);
	queue->completed_seqno = job->seqno;

	if (error)
		dma_fence_set_error(job->hw_fence, error);
	dma_fence_signal(job->hw_fence);
}

/* Keeps the device's start and end times of the completed job at the head. */
static void knpu_hwq_record_times_locked(struct knpu_hw_queue *hwq,
					 const struct knpu_clock_sample *now)
{
	const struct knpu_hw_desc *desc = &hwq->ring[hwq->head];
	struct knpu_job *job = hwq->jobs[hwq->head];
	u64 start = le64_to_cpu(READ_ONCE(desc->times[0]));
	u64 end = le64_to_cpu(READ_ONCE(desc->times[1]));

	lockdep_assert_held(&hwq->lock);

	knpu_queue_record_times_locked(job->queue, job->seqno, knpu_clock_to_mono(now, start),
				       knpu_clock_to_mono(now, end));
}

/**
 * knpu_hwq_retire_locked() - signal the fences of the jobs the device completed
 * @hwq: the hardware queue
 */
void knpu_hwq_retire_locked(struct knpu_hw_queue *hwq)
{
	u64 done = le64_to_cpu(READ_ONCE(*hwq->fence_cpu));
	bool times = hwq->kdev->info.features & KNPU_FEATURE_JOB_TIMESTAMPS;
	struct knpu_clock_sample now;
	u32 head = hwq->head;

	lockdep_assert_held(&hwq->lock);

	while (hwq->head != hwq->tail && hwq->jobs[hwq->head]->seqno <= done) {
		if (times) {
			/* One sample per batch; the device writes times before the fence. */
			if (hwq->head == head) {
				dma_rmb();
				knpu_hw_clock_sample(hwq->kdev, &now);
			}
			knpu_hwq_record_times_locked(hwq, &now);
		}
		knpu_hwq_complete_locked(hwq, 0);
	}
	if (hwq->head != head)
		knpu_hwq_head_moved_locked(hwq);
}

/**
 * knpu_hwq_cancel_locked() - complete every job still in the ring
 * @hwq: the hardware queue, stopped: the device no longer touches the ring
 * @first_error: the error of the oldest job; the others get -ECANCELED
 *	(-ENODEV: all of them get -ENODEV)
 */
void knpu_hwq_cancel_locked(struct knpu_hw_queue *hwq, int first_error)
{
	int error = first_error;

	lockdep_assert_held(&hwq->lock);

	while (hwq->head != hwq->tail) {
		knpu_hwq_complete_locked(hwq, error);
		if (error != -ENODEV)
			error = -ECANCELED;
	}
	hwq->head = 0;
	hwq->tail = 0;
}

/**
 * knpu_hwq_reset_locked() - abort what the hardware queue runs and disable it
 * @hwq: the hardware queue
 *
 * hw-spec 5.4: when this returns the queue no longer accesses memory.
 */
void knpu_hwq_reset_locked(struct knpu_hw_queue *hwq)
{
	lockdep_assert_held(&hwq->lock);

	knpu_hwq_wr(hwq, KNPU_Q_CTRL, KNPU_Q_CTRL_RESET);
	knpu_hwq_rd(hwq, KNPU_Q_STATUS);
}

/**
 * knpu_hwq_program_locked() - set up and enable the queue for its bound queue
 * @hwq: the hardware queue, with an empty ring
 *
 * hw-spec 5.2.
 *
 * Return: 0, or -EIO if the device did not enable the queue.
 */
int knpu_hwq_program_locked(struct knpu_hw_queue *hwq)
{
	struct knpu_queue *queue = hwq->queue;
	u32 status;

	lockdep_assert_held(&hwq->lock);

	knpu_hwq_reset_locked(hwq);
	WRITE_ONCE(*hwq->fence_cpu, 0);
	hwq->head = 0;
	hwq->tail = 0;

	knpu_hwq_wr(hwq, KNPU_Q_RING_BASE_LO, lower_32_bits(hwq->ring_dma));
	knpu_hwq_wr(hwq, KNPU_Q_RING_BASE_HI, upper_32_bits(hwq->ring_dma));
	knpu_hwq_wr(hwq, KNPU_Q_RING_SIZE, KNPU_RING_SIZE);
	knpu_hwq_wr(hwq, KNPU_Q_CONFIG,
		    FIELD_PREP(KNPU_Q_CONFIG_ASID, queue->ctx->asid) |
		    FIELD_PREP(KNPU_Q_CONFIG_PRIORITY, queue->priority));
	knpu_hwq_wr(hwq, KNPU_Q_FENCE_ADDR_LO, lower_32_bits(hwq->fence_dma));
	knpu_hwq_wr(hwq, KNPU_Q_FENCE_ADDR_HI, upper_32_bits(hwq->fence_dma));
	knpu_hwq_wr(hwq, KNPU_Q_CTRL, KNPU_Q_CTRL_ENABLE);

	status = knpu_hwq_rd(hwq, KNPU_Q_STATUS);
	if (!(status & KNPU_Q_STATUS_ENABLED) || (status & KNPU_Q_STATUS_ERROR)) {
		drm_err(&hwq->kdev->drm, "hardware queue %u did not start: status 0x%x error 0x%x\n",
			hwq->id, status, knpu_hwq_rd(hwq, KNPU_Q_ERROR));
		knpu_hwq_reset_locked(hwq);
		return -EIO;
	}

	return 0;
}

/* Reverses hwq->jobs[from, to). */
static void knpu_hwq_reverse_jobs(struct knpu_hw_queue *hwq, u32 from, u32 to)
{
	/* swap() is a macro that evaluates its arguments more than once. */
	for (; from + 1 < to; from++, to--)
		swap(hwq->jobs[from], hwq->jobs[to - 1]);
}

/**
 * knpu_hwq_replay_locked() - run the jobs still in the ring again
 * @hwq: the hardware queue, after a device reset disabled it
 *
 * The jobs the reset interrupted, oldest first, move to the start of the
 * ring (an enabled queue starts at index 0) and are handed to the device
 * again; their fences do not change. If the queue cannot be enabled they
 * are canceled as lost.
 */
void knpu_hwq_replay_locked(struct knpu_hw_queue *hwq)
{
	u32 count = (hwq->tail - hwq->head) % KNPU_RING_SIZE;
	u32 i;

	lockdep_assert_held(&hwq->lock);

	/* Rotate the ring left by head: three reversals, in place. */
	knpu_hwq_reverse_jobs(hwq, 0, hwq->head);
	knpu_hwq_reverse_jobs(hwq, hwq->head, KNPU_RING_SIZE);
	knpu_hwq_reverse_jobs(hwq, 0, KNPU_RING_SIZE);

	if (knpu_hwq_program_locked(hwq)) {
		hwq->tail = count;
		knpu_queue_ban_locked(hwq->queue, count ? hwq->jobs[0]->seqno :
				      hwq->queue->completed_seqno + 1,
				      KNPU_ERR_DEVICE_LOST, 0);
		knpu_hwq_cancel_locked(hwq, -ENODEV);
		return;
	}

	/* A queue runs one job at a time: only the oldest was interrupted. */
	if (count)
		hwq->jobs[0]->replays++;
	for (i = 0; i < count; i++)
		knpu_hwq_write_desc_locked(hwq, i, hwq->jobs[i]);
	hwq->tail = count;
	knpu_hwq_head_moved_locked(hwq);
	if (count)
		knpu_hwq_kick_locked(hwq);
}

/* A queue error the device reports as uncorrectable needs a device reset. */
static bool knpu_hwq_error_is_fatal(u32 error)
{
	return error == KNPU_ERR_UNCORRECTABLE;
}

VISIBLE_IF_KUNIT irqreturn_t knpu_hwq_irq(int irq, void *arg)
{
	struct knpu_hw_queue *hwq = arg;
	u32 status;

	status = knpu_hwq_rd(hwq, KNPU_Q_IRQ_STATUS);
	if (!status || status == U32_MAX)
		return IRQ_NONE;

	/*
	 * Clear the status, and make sure the clear reached the device, before
	 * reading the fence: a completion after the read raises a new interrupt.
	 */
	knpu_hwq_wr(hwq, KNPU_Q_IRQ_STATUS, status);
	knpu_hwq_rd(hwq, KNPU_Q_IRQ_STATUS);

	spin_lock(&hwq->lock);
	knpu_hwq_retire_locked(hwq);
	spin_unlock(&hwq->lock);

	return status & KNPU_Q_IRQ_ERROR ? IRQ_WAKE_THREAD : IRQ_HANDLED;
}

/* A job failed: record why, ban its queue, stop the hardware queue. */
VISIBLE_IF_KUNIT irqreturn_t knpu_hwq_irq_thread(int irq, void *arg)
{
	struct knpu_hw_queue *hwq = arg;
	struct knpu_device *kdev = hwq->kdev;
	u32 status, error = 0, info = 0, pc = 0, queue_id = 0;
	struct knpu_queue *queue;
	u64 addr = 0, seqno = 0;
	bool fatal = false;
	int idx;

	if (!drm_dev_enter(&kdev->drm, &idx))
		return IRQ_HANDLED;

	spin_lock_irq(&hwq->lock);
	status = knpu_hwq_rd(hwq, KNPU_Q_STATUS);
	queue = hwq->queue;
	if (!(status & KNPU_Q_STATUS_ERROR) || !queue)
		goto out_unlock;

	knpu_hwq_retire_locked(hwq);

	queue_id = queue->id;
	error = knpu_hwq_rd(hwq, KNPU_Q_ERROR);
	info = knpu_hwq_rd(hwq, KNPU_Q_ERROR_INFO);
	addr = knpu_rd64(kdev, KNPU_REG_Q_BASE(hwq->id) + KNPU_Q_ERROR_ADDR_LO);
	pc = knpu_hwq_rd(hwq, KNPU_Q_ERROR_PC);

	/* The device failed, not the job: the device reset runs it again. */
	fatal = knpu_hwq_error_is_fatal(error);
	if (fatal)
		goto out_unlock;

	knpu_hwq_reset_locked(hwq);
	if (hwq->head != hwq->tail) {
		seqno = hwq->jobs[hwq->head]->seqno;
		trace_knpu_job_fault(kdev->drm.dev, hwq->id, seqno, error, info, addr, pc);
		knpu_queue_ban_device_locked(queue, seqno, error, addr, info, pc);
		knpu_hwq_cancel_locked(hwq, -EIO);
	} else {
		/* Nothing of the queue's failed (a driver error): carry on. */
		knpu_hwq_program_locked(hwq);
	}
out_unlock:
	spin_unlock_irq(&hwq->lock);
	drm_dev_exit(idx);

	if (fatal)
		knpu_reset_schedule(kdev);
	else if (error)
		drm_dbg_driver(&kdev->drm,
			       "queue %u (hw %u): job %llu failed: error 0x%x info 0x%x addr 0x%llx pc 0x%x\n",
			       queue_id, hwq->id, seqno, error, info, addr, pc);

	return IRQ_HANDLED;
}

/*
 * The oldest job made no progress for the timeout: reset the hardware queue,
 * fail that job with KNPU_ERR_TIMEOUT and cancel the ones behind it. Other
 * queues are not touched. A job that completed meanwhile (its interrupt
 * late) is only retired.
 */
static void knpu_hwq_watchdog(struct work_struct *work)
{
	struct knpu_hw_queue *hwq = container_of(work, struct knpu_hw_queue, watchdog.work);
	struct knpu_device *kdev = hwq->kdev;
	unsigned long timeout = knpu_job_timeout();
	bool gone = false, hung = false;
	u32 queue_id = 0;
	u64 seqno = 0;
	int idx;

	if (!drm_dev_enter(&kdev->drm, &idx))
		return;

	spin_lock_irq(&hwq->lock);
	gone = knpu_hwq_rd(hwq, KNPU_Q_STATUS) == U32_MAX;
	if (!gone)
		knpu_hwq_retire_locked(hwq);
	if (gone || hwq->head == hwq->tail || !hwq->queue)
		goto out_unlock;

	if (time_before(jiffies, hwq->head_since + timeout)) {
		queue_delayed_work(kdev->recovery_wq, &hwq->watchdog,
				   hwq->head_since + timeout - jiffies);
		goto out_unlock;
	}

	hung = true;
	queue_id = hwq->queue->id;
	seqno = hwq->jobs[hwq->head]->seqno;
	knpu_queue_ban_locked(hwq->queue, seqno, KNPU_ERR_TIMEOUT, 0);
	knpu_hwq_reset_locked(hwq);
	knpu_hwq_cancel_locked(hwq, -ETIMEDOUT);
	/* While bound, the queue's file is open. */
	knpu_queue_guilty(hwq->queue);
out_unlock:
	spin_unlock_irq(&hwq->lock);
	drm_dev_exit(idx);

	if (gone)
		knpu_reset_schedule(kdev);
	else if (hung)
		drm_warn(&kdev->drm, "queue %u (hw %u): job %llu made no progress for %u ms, queue reset and banned\n",
			 queue_id, hwq->id, seqno, knpu_job_timeout_ms);
}

int knpu_hwq_irq_init(struct knpu_hw_queue *hwq, int irq)
{
	return devm_request_threaded_irq(hwq->kdev->drm.dev, irq, knpu_hwq_irq,
					 knpu_hwq_irq_thread, 0, hwq->name, hwq);
}

static void knpu_hwq_fini_all(struct drm_device *drm, void *arg)
{
	struct knpu_device *kdev = to_knpu_device(drm);
	u32 q;

	for (q = 0; q < kdev->info.num_queues; q++) {
		cancel_delayed_work_sync(&kdev->hwq[q].watchdog);
		drm_sched_fini(&kdev->hwq[q].sched);
	}
}

static int knpu_hwq_sched_init(struct knpu_hw_queue *hwq)
{
	const struct drm_sched_init_args args = {
		.ops = &knpu_sched_ops,
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
		/* Every job takes one ring slot; one slot always stays free. */
		.credit_limit = KNPU_RING_SIZE - 1,
		/* knpu_hwq_watchdog() measures progress instead. */
		.timeout = MAX_SCHEDULE_TIMEOUT,
		.name = hwq->name,
		.dev = hwq->kdev->drm.dev,
	};

	return drm_sched_init(&hwq->sched, &args);
}

/**
 * knpu_hwq_init_all() - set up all hardware queues
 * @kdev: the device
 *
 * Allocates their rings and fences and starts their schedulers, which live
 * as long as the device.
 *
 * Return: 0 or a negative errno.
 */
int knpu_hwq_init_all(struct knpu_device *kdev)
{
	struct device *dev = kdev->drm.dev;
	u32 q, nq = kdev->info.num_queues;
	int ret;

	kdev->hwq = drmm_kcalloc(&kdev->drm, nq, sizeof(*kdev->hwq), GFP_KERNEL);
	if (!kdev->hwq)
		return -ENOMEM;

	kdev->fences_cpu = dmam_alloc_coherent(dev, nq * KNPU_FENCE_STRIDE,
					       &kdev->fences_dma, GFP_KERNEL);
	if (!kdev->fences_cpu)
		return -ENOMEM;

	for (q = 0; q < nq; q++) {
		struct knpu_hw_queue *hwq = &kdev->hwq[q];

		hwq->kdev = kdev;
		hwq->id = q;
		hwq->regs = kdev->regs + KNPU_REG_Q_BASE(q);
		hwq->fence_cpu = kdev->fences_cpu + q * KNPU_FENCE_STRIDE / sizeof(__le64);
		hwq->fence_dma = kdev->fences_dma + q * KNPU_FENCE_STRIDE;
		spin_lock_init(&hwq->lock);
		spin_lock_init(&hwq->fence_lock);
		INIT_DELAYED_WORK(&hwq->watchdog, knpu_hwq_watchdog);
		snprintf(hwq->name, sizeof(hwq->name), "knpu-q%u", q);

		hwq->ring = dmam_alloc_coherent(dev, KNPU_RING_SIZE * KNPU_DESC_SIZE,
						&hwq->ring_dma, GFP_KERNEL);
		if (!hwq->ring)
			return -ENOMEM;
	}

	for (q = 0; q < nq; q++) {
		ret = knpu_hwq_sched_init(&kdev->hwq[q]);
		if (ret) {
			while (q--)
				drm_sched_fini(&kdev->hwq[q].sched);
			return ret;
		}
	}

	return drmm_add_action_or_reset(&kdev->drm, knpu_hwq_fini_all, NULL);
}

/**
 * knpu_hwq_stop_all() - stop handing jobs to the device, before a reset
 * @kdev: the device
 */
void knpu_hwq_stop_all(struct knpu_device *kdev)
{
	u32 q;

	for (q = 0; q < kdev->info.num_queues; q++) {
		drm_sched_wqueue_stop(&kdev->hwq[q].sched);
		cancel_delayed_work_sync(&kdev->hwq[q].watchdog);
	}
}

/**
 * knpu_hwq_start_all() - hand jobs to the device again, after a reset
 * @kdev: the device
 */
void knpu_hwq_start_all(struct knpu_device *kdev)
{
	u32 q;

	for (q = 0; q < kdev->info.num_queues; q++)
		drm_sched_wqueue_start(&kdev->hwq[q].sched);
}

/**
 * knpu_jobs_abort_all() - complete every job on the device as lost
 * @kdev: the device, reset or gone: it no longer runs anything
 */
void knpu_jobs_abort_all(struct knpu_device *kdev)
{
	u32 q;

	for (q = 0; q < kdev->info.num_queues; q++) {
		struct knpu_hw_queue *hwq = &kdev->hwq[q];
		struct knpu_queue *queue;

		spin_lock_irq(&hwq->lock);
		queue = hwq->queue;
		if (queue) {
			knpu_queue_ban_locked(queue, hwq->head != hwq->tail ?
					      hwq->jobs[hwq->head]->seqno :
					      queue->completed_seqno + 1,
					      KNPU_ERR_DEVICE_LOST, 0);
			knpu_hwq_cancel_locked(hwq, -ENODEV);
		}
		spin_unlock_irq(&hwq->lock);
	}
}
