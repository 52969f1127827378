// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Hardware queues: the descriptor ring, the completion fence and the queue's
 * interrupt, which signals the hardware fences of the jobs the device has
 * completed. Each driver queue binds one hardware queue for its life.
 *
 * Locking:
 *  - &knpu_device.hwq_lock (mutex): binding queues to hardware queues;
 *    nests &knpu_hw_queue.lock.
 *  - &knpu_queue.submit_lock (mutex): seqno order of submissions and the
 *    entity's lifetime; nests the BOs' reservation locks (drm_exec) and
 *    &knpu_hw_queue.lock.
 *  - &knpu_hw_queue.lock (spinlock, irq-safe, taken in the interrupt
 *    handler): the ring, the jobs in it and the error state of the bound
 *    queue; nests &knpu_hw_queue.fence_lock, the hardware fences' lock,
 *    through dma_fence_signal().
 */

#include <kunit/visibility.h>
#include <linux/bitfield.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>

#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/knpu_accel.h>

#include "knpu_hw.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_mmu.h"
#include "knpu_queue.h"

static const char *knpu_fence_get_driver_name(struct dma_fence *fence)
{
	return KNPU_DRIVER_NAME;
}

static const char *knpu_fence_get_timeline_name(struct dma_fence *fence)
{
	return "knpu-queue";
}

const struct dma_fence_ops knpu_fence_ops = {
	.get_driver_name = knpu_fence_get_driver_name,
	.get_timeline_name = knpu_fence_get_timeline_name,
};

/* Removes the job at the ring head and signals its hardware fence. */
void knpu_hwq_complete_locked(struct knpu_hw_queue *hwq, int error, u64 now)
{
	struct knpu_job *job = hwq->jobs[hwq->head];
	struct knpu_queue *queue = job->queue;

	lockdep_assert_held(&hwq->lock);

	hwq->jobs[hwq->head] = NULL;
	hwq->head = (hwq->head + 1) % KNPU_RING_SIZE;

	if (!error) {
		u64 start = max(job->start_ns, hwq->last_done_ns);

		if (now > start)
			atomic64_add(now - start, &queue->ctx->busy_ns);
		hwq->last_done_ns = now;
	}
	queue->completed_seqno = job->seqno;

	if (error)
		dma_fence_set_error(job->hw_fence, error);
	dma_fence_signal(job->hw_fence);
}

/* Signals the fences of the jobs the device has completed. */
void knpu_hwq_retire_locked(struct knpu_hw_queue *hwq)
{
	u64 done = le64_to_cpu(READ_ONCE(*hwq->fence_cpu));
	u64 now = ktime_get_ns();

	lockdep_assert_held(&hwq->lock);

	while (hwq->head != hwq->tail && hwq->jobs[hwq->head]->seqno <= done)
		knpu_hwq_complete_locked(hwq, 0, now);
}

/*
 * Completes every job still in the ring, the first with @first_error and the
 * others with -ECANCELED. The hardware queue must be stopped already.
 */
void knpu_hwq_cancel_locked(struct knpu_hw_queue *hwq, int first_error)
{
	u64 now = ktime_get_ns();
	int error = first_error;

	lockdep_assert_held(&hwq->lock);

	while (hwq->head != hwq->tail) {
		knpu_hwq_complete_locked(hwq, error, now);
		if (error != -ENODEV)
			error = -ECANCELED;
	}
	hwq->head = 0;
	hwq->tail = 0;
}

/*
 * Aborts whatever the hardware queue runs and disables it (hw-spec 5.4).
 * When this returns the queue no longer accesses memory.
 */
void knpu_hwq_reset_locked(struct knpu_hw_queue *hwq)
{
	lockdep_assert_held(&hwq->lock);

	knpu_hwq_wr(hwq, KNPU_Q_CTRL, KNPU_Q_CTRL_RESET);
	knpu_hwq_rd(hwq, KNPU_Q_STATUS);
}

/* Sets up and enables the hardware queue for its bound queue (hw-spec 5.2). */
int knpu_hwq_program_locked(struct knpu_hw_queue *hwq)
{
	struct knpu_queue *queue = hwq->queue;
	u32 status;

	lockdep_assert_held(&hwq->lock);

	knpu_hwq_reset_locked(hwq);
	WRITE_ONCE(*hwq->fence_cpu, 0);
	hwq->head = 0;
	hwq->tail = 0;
	hwq->last_done_ns = 0;

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

	knpu_hwq_reset_locked(hwq);
	if (hwq->head != hwq->tail) {
		seqno = hwq->jobs[hwq->head]->seqno;
		knpu_queue_ban_locked(queue, seqno, error, addr);
		knpu_hwq_cancel_locked(hwq, -EIO);
	} else {
		/* Nothing of the queue's failed (a driver error): carry on. */
		knpu_hwq_program_locked(hwq);
	}
out_unlock:
	spin_unlock_irq(&hwq->lock);
	drm_dev_exit(idx);

	if (error)
		drm_dbg_driver(&kdev->drm,
			       "queue %u (hw %u): job %llu failed: error 0x%x info 0x%x addr 0x%llx pc 0x%x\n",
			       queue_id, hwq->id, seqno, error, info, addr, pc);

	return IRQ_HANDLED;
}

int knpu_hwq_irq_init(struct knpu_hw_queue *hwq, int irq)
{
	return devm_request_threaded_irq(hwq->kdev->drm.dev, irq, knpu_hwq_irq,
					 knpu_hwq_irq_thread, 0, hwq->name, hwq);
}

/**
 * knpu_hwq_init_all() - allocate the rings and fences of all hardware queues
 * @kdev: the device
 *
 * Return: 0 or -ENOMEM.
 */
int knpu_hwq_init_all(struct knpu_device *kdev)
{
	struct device *dev = kdev->drm.dev;
	u32 q, nq = kdev->info.num_queues;

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
		snprintf(hwq->name, sizeof(hwq->name), "knpu-q%u", q);

		hwq->ring = dmam_alloc_coherent(dev, KNPU_RING_SIZE * KNPU_DESC_SIZE,
						&hwq->ring_dma, GFP_KERNEL);
		if (!hwq->ring)
			return -ENOMEM;
	}

	return 0;
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
