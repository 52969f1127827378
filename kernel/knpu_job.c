// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Queues, job submission and completion.
 *
 * Each queue userspace creates takes one hardware queue for its life and has
 * a drm_sched scheduler with a single entity of its own. run_job() writes a
 * descriptor into the hardware ring and rings the doorbell; the device writes
 * the job's seqno to the queue's fence slot and raises the queue's MSI-X
 * vector, whose handler signals the hardware fences up to that seqno.
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
#include <linux/capability.h>
#include <linux/cleanup.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/interrupt.h>
#include <linux/slab.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_exec.h>
#include <drm/drm_gem.h>
#include <drm/drm_managed.h>
#include <drm/drm_syncobj.h>
#include <drm/drm_utils.h>
#include <drm/knpu_accel.h>

#include "knpu_fdinfo.h"
#include "knpu_gem.h"
#include "knpu_hw.h"
#include "knpu_job.h"
#include "knpu_mmu.h"
#include "knpu_trace.h"

#define KNPU_SUBMIT_FLAGS	(KNPU_SUBMIT_FENCE_FD_IN | KNPU_SUBMIT_FENCE_FD_OUT)

/**
 * struct knpu_job - one submission
 * @base: the scheduler job
 * @queue: the queue it was submitted to (holds a reference)
 * @hw_fence: signalled when the device completes the job; allocated at
 *	submission so run_job() does not allocate, initialised by run_job()
 * @hw_fence_armed: @hw_fence was initialised
 * @bos: the buffers it uses (each holds a reference)
 * @bo_count: number of @bos
 * @seqno: its sequence number on @queue
 * @program_va: device VA of the program
 * @args_va: device VA of the argument table
 * @program_size: program size in bytes
 * @args_size: argument table size in bytes
 */
struct knpu_job {
	struct drm_sched_job base;
	struct knpu_queue *queue;
	struct dma_fence *hw_fence;
	bool hw_fence_armed;
	struct drm_gem_object **bos;
	u32 bo_count;
	u64 seqno;
	u64 program_va;
	u64 args_va;
	u32 program_size;
	u32 args_size;
};

static inline struct knpu_job *to_knpu_job(struct drm_sched_job *sched_job)
{
	return container_of(sched_job, struct knpu_job, base);
}

static inline u32 knpu_hwq_rd(struct knpu_hw_queue *hwq, u32 reg)
{
	return readl(hwq->regs + reg);
}

static inline void knpu_hwq_wr(struct knpu_hw_queue *hwq, u32 reg, u32 val)
{
	writel(val, hwq->regs + reg);
}

static const char *knpu_fence_get_driver_name(struct dma_fence *fence)
{
	return KNPU_DRIVER_NAME;
}

static const char *knpu_fence_get_timeline_name(struct dma_fence *fence)
{
	return "knpu-queue";
}

static const struct dma_fence_ops knpu_fence_ops = {
	.get_driver_name = knpu_fence_get_driver_name,
	.get_timeline_name = knpu_fence_get_timeline_name,
};

static void knpu_queue_release(struct kref *ref)
{
	struct knpu_queue *queue = container_of(ref, struct knpu_queue, ref);

	xa_destroy(&queue->fences);
	mutex_destroy(&queue->submit_lock);
	knpu_context_put(queue->ctx);
	kfree(queue);
}

static void knpu_queue_put(struct knpu_queue *queue)
{
	kref_put(&queue->ref, knpu_queue_release);
}

static struct knpu_queue *knpu_queue_lookup(struct knpu_file_priv *fpriv, u32 id)
{
	struct knpu_queue *queue;

	xa_lock(&fpriv->queues);
	queue = xa_load(&fpriv->queues, id);
	if (queue)
		kref_get(&queue->ref);
	xa_unlock(&fpriv->queues);

	return queue;
}

/* Marks @queue failed at job @seqno; the first failure is the one kept. */
static void knpu_queue_ban_locked(struct knpu_queue *queue, u64 seqno,
				  u32 error, u64 addr)
{
	lockdep_assert_held(&queue->hwq->lock);

	if (queue->banned)
		return;

	queue->banned = true;
	queue->error = error;
	queue->error_seqno = seqno;
	queue->error_addr = addr;
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

/* Signals the fences of the jobs the device has completed. */
static void knpu_hwq_retire_locked(struct knpu_hw_queue *hwq)
{
	u64 done = le64_to_cpu(READ_ONCE(*hwq->fence_cpu));

	lockdep_assert_held(&hwq->lock);

	while (hwq->head != hwq->tail && hwq->jobs[hwq->head]->seqno <= done)
		knpu_hwq_complete_locked(hwq, 0);
}

/*
 * Completes every job still in the ring, the first with @first_error and the
 * others with -ECANCELED. The hardware queue must be stopped already.
 */
static void knpu_hwq_cancel_locked(struct knpu_hw_queue *hwq, int first_error)
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

/*
 * Aborts whatever the hardware queue runs and disables it (hw-spec 5.4).
 * When this returns the queue no longer accesses memory.
 */
static void knpu_hwq_reset_locked(struct knpu_hw_queue *hwq)
{
	lockdep_assert_held(&hwq->lock);

	knpu_hwq_wr(hwq, KNPU_Q_CTRL, KNPU_Q_CTRL_RESET);
	knpu_hwq_rd(hwq, KNPU_Q_STATUS);
}

/* Sets up and enables the hardware queue for its bound queue (hw-spec 5.2). */
static int knpu_hwq_program_locked(struct knpu_hw_queue *hwq)
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
		trace_knpu_job_fault(kdev->drm.dev, hwq->id, seqno, error, info, addr, pc);
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

static struct dma_fence *knpu_job_run(struct drm_sched_job *sched_job)
{
	struct knpu_job *job = to_knpu_job(sched_job);
	struct knpu_queue *queue = job->queue;
	struct knpu_hw_queue *hwq = queue->hwq;
	struct knpu_device *kdev = queue->kdev;
	struct dma_fence *fence;
	unsigned long flags;
	int idx;

	/* Killed with its entity: keep the error the scheduler set. */
	if (unlikely(sched_job->s_fence->finished.error))
		return NULL;

	if (!drm_dev_enter(&kdev->drm, &idx)) {
		spin_lock_irqsave(&hwq->lock, flags);
		knpu_queue_ban_locked(queue, job->seqno, KNPU_ERR_DEVICE_LOST, 0);
		queue->completed_seqno = job->seqno;
		spin_unlock_irqrestore(&hwq->lock, flags);
		return ERR_PTR(-ENODEV);
	}

	spin_lock_irqsave(&hwq->lock, flags);
	if (queue->banned) {
		queue->completed_seqno = job->seqno;
		fence = ERR_PTR(queue->error == KNPU_ERR_DEVICE_LOST ? -ENODEV : -ECANCELED);
		goto out_unlock;
	}

	knpu_desc_kernel(&hwq->ring[hwq->tail], job->program_va, job->program_size,
			 job->args_va, job->args_size, job->seqno, job->seqno);
	dma_fence_init(job->hw_fence, &knpu_fence_ops, &hwq->fence_lock,
		       queue->fence_context, job->seqno);
	job->hw_fence_armed = true;
	knpu_busy_job_queued_locked(hwq, queue->ctx);
	trace_knpu_job_run(kdev->drm.dev, hwq->id, queue->ctx->asid, job->seqno);
	hwq->jobs[hwq->tail] = job;
	hwq->tail = (hwq->tail + 1) % KNPU_RING_SIZE;

	/* writel() orders the descriptor write before the tail update. */
	knpu_hwq_wr(hwq, KNPU_Q_TAIL, hwq->tail);
	knpu_hwq_wr(hwq, KNPU_Q_DOORBELL, 1);

	fence = dma_fence_get(job->hw_fence);
out_unlock:
	spin_unlock_irqrestore(&hwq->lock, flags);
	drm_dev_exit(idx);

	return fence;
}

static enum drm_gpu_sched_stat knpu_job_timedout(struct drm_sched_job *sched_job)
{
	struct knpu_job *job = to_knpu_job(sched_job);
	struct knpu_queue *queue = job->queue;
	struct knpu_hw_queue *hwq = queue->hwq;
	struct knpu_device *kdev = queue->kdev;
	bool hung = false;
	int idx;

	if (!drm_dev_enter(&kdev->drm, &idx))
		return DRM_GPU_SCHED_STAT_ENODEV;

	drm_sched_stop(&queue->sched, sched_job);

	scoped_guard(spinlock_irq, &hwq->lock) {
		knpu_hwq_retire_locked(hwq);
		if (!dma_fence_is_signaled(job->hw_fence)) {
			hung = true;
			knpu_queue_ban_locked(queue, job->seqno, KNPU_ERR_TIMEOUT, 0);
			knpu_hwq_reset_locked(hwq);
			knpu_hwq_cancel_locked(hwq, -ETIMEDOUT);
		}
	}

	drm_sched_start(&queue->sched);
	drm_dev_exit(idx);

	if (hung)
		drm_warn(&kdev->drm, "queue %u (hw %u): job %llu timed out after %u ms, queue banned\n",
			 queue->id, hwq->id, job->seqno, knpu_job_timeout_ms);

	return DRM_GPU_SCHED_STAT_NOMINAL;
}

/* Drops what a job holds; the scheduler job must be cleaned up already. */
static void knpu_job_put(struct knpu_job *job)
{
	struct knpu_queue *queue = job->queue;
	u32 i;

	for (i = 0; i < job->bo_count; i++)
		drm_gem_object_put(job->bos[i]);
	kvfree(job->bos);

	if (job->hw_fence_armed)
		dma_fence_put(job->hw_fence);
	else
		kfree(job->hw_fence);

	knpu_queue_put(queue);
	kfree(job);
}

static void knpu_job_free(struct drm_sched_job *sched_job)
{
	struct knpu_job *job = to_knpu_job(sched_job);
	struct knpu_queue *queue = job->queue;
	struct dma_fence *fence;

	drm_sched_job_cleanup(sched_job);

	fence = xa_erase(&queue->fences, job->seqno);
	dma_fence_put(fence);
	if (xa_empty(&queue->fences))
		wake_up(&queue->idle);

	knpu_job_put(job);
}

static const struct drm_sched_backend_ops knpu_sched_ops = {
	.run_job = knpu_job_run,
	.timedout_job = knpu_job_timedout,
	.free_job = knpu_job_free,
};

static int knpu_queue_bind(struct knpu_queue *queue)
{
	struct knpu_device *kdev = queue->kdev;
	struct knpu_hw_queue *hwq = NULL;
	int ret, idx;
	u32 q;

	guard(mutex)(&kdev->hwq_lock);

	for (q = 0; q < kdev->info.num_queues; q++) {
		if (!kdev->hwq[q].queue) {
			hwq = &kdev->hwq[q];
			break;
		}
	}
	if (!hwq)
		return -EBUSY;

	if (!drm_dev_enter(&kdev->drm, &idx))
		return -ENODEV;

	scoped_guard(spinlock_irq, &hwq->lock) {
		hwq->queue = queue;
		queue->hwq = hwq;
		ret = knpu_hwq_program_locked(hwq);
		if (ret)
			hwq->queue = NULL;
	}

	drm_dev_exit(idx);
	return ret;
}

static void knpu_queue_unbind(struct knpu_queue *queue)
{
	struct knpu_device *kdev = queue->kdev;
	struct knpu_hw_queue *hwq = queue->hwq;
	int idx;

	guard(mutex)(&kdev->hwq_lock);

	spin_lock_irq(&hwq->lock);
	if (drm_dev_enter(&kdev->drm, &idx)) {
		knpu_hwq_reset_locked(hwq);
		drm_dev_exit(idx);
	}
	drm_WARN_ON(&kdev->drm, hwq->head != hwq->tail);
	hwq->queue = NULL;
	spin_unlock_irq(&hwq->lock);
}

/*
 * Jobs already submitted run to completion (or time out) first; jobs whose
 * dependencies are not met yet are dropped with the entity.
 */
static void knpu_queue_destroy(struct knpu_queue *queue)
{
	scoped_guard(mutex, &queue->submit_lock)
		queue->closed = true;

	drm_sched_entity_destroy(&queue->entity);
	wait_event(queue->idle, xa_empty(&queue->fences));
	drm_sched_fini(&queue->sched);
	knpu_queue_unbind(queue);
	knpu_queue_put(queue);
}

void knpu_queue_destroy_all(struct knpu_file_priv *fpriv)
{
	struct knpu_queue *queue;
	unsigned long id;

	xa_for_each(&fpriv->queues, id, queue) {
		xa_erase(&fpriv->queues, id);
		knpu_queue_destroy(queue);
	}
}

static int knpu_queue_sched_init(struct knpu_queue *queue)
{
	const struct drm_sched_init_args args = {
		.ops = &knpu_sched_ops,
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
		/* Every job takes one ring slot; one slot always stays free. */
		.credit_limit = KNPU_RING_SIZE - 1,
		.timeout = msecs_to_jiffies(knpu_job_timeout_ms),
		.name = queue->hwq->name,
		.dev = queue->kdev->drm.dev,
	};

	return drm_sched_init(&queue->sched, &args);
}

int knpu_queue_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct knpu_device *kdev = to_knpu_device(dev);
	struct drm_knpu_queue_create *args = data;
	struct drm_gpu_scheduler *sched;
	struct knpu_queue *queue;
	int ret;

	if (args->flags || args->pad)
		return -EINVAL;
	if (args->priority > KNPU_QUEUE_PRIORITY_REALTIME)
		return -EINVAL;
	if (args->priority == KNPU_QUEUE_PRIORITY_REALTIME && !capable(CAP_SYS_NICE))
		return -EPERM;

	queue = kzalloc(sizeof(*queue), GFP_KERNEL);
	if (!queue)
		return -ENOMEM;

	kref_init(&queue->ref);
	queue->kdev = kdev;
	queue->ctx = knpu_context_get(fpriv->ctx);
	queue->priority = args->priority;
	queue->fence_context = dma_fence_context_alloc(1);
	mutex_init(&queue->submit_lock);
	xa_init(&queue->fences);
	init_waitqueue_head(&queue->idle);

	ret = knpu_queue_bind(queue);
	if (ret)
		goto err_put;

	ret = knpu_queue_sched_init(queue);
	if (ret)
		goto err_unbind;

	sched = &queue->sched;
	ret = drm_sched_entity_init(&queue->entity, DRM_SCHED_PRIORITY_NORMAL,
				    &sched, 1, NULL);
	if (ret)
		goto err_sched;

	ret = xa_alloc(&fpriv->queues, &queue->id, queue, XA_LIMIT(1, U32_MAX),
		       GFP_KERNEL);
	if (ret)
		goto err_entity;

	args->queue_id = queue->id;
	return 0;

err_entity:
	drm_sched_entity_destroy(&queue->entity);
err_sched:
	drm_sched_fini(&queue->sched);
err_unbind:
	knpu_queue_unbind(queue);
err_put:
	knpu_queue_put(queue);
	return ret;
}

int knpu_queue_destroy_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_queue_destroy *args = data;
	struct knpu_queue *queue;

	if (args->pad)
		return -EINVAL;

	queue = xa_erase(&fpriv->queues, args->queue_id);
	if (!queue)
		return -ENOENT;

	knpu_queue_destroy(queue);
	return 0;
}

int knpu_queue_status_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_queue_status *args = data;
	struct knpu_queue *queue;

	if (args->flags || args->pad)
		return -EINVAL;

	queue = knpu_queue_lookup(fpriv, args->queue_id);
	if (!queue)
		return -ENOENT;

	scoped_guard(spinlock_irq, &queue->hwq->lock) {
		args->state = queue->banned ? KNPU_QUEUE_STATE_BANNED : KNPU_QUEUE_STATE_ACTIVE;
		args->error = queue->error;
		args->error_seqno = queue->error_seqno;
		args->error_addr = queue->error_addr;
		args->completed_seqno = queue->completed_seqno;
	}
	/* The device is never reset under a live queue yet. */
	args->reset_count = 0;

	knpu_queue_put(queue);
	return 0;
}

/* The outcome of finished job @seqno, from the state of its queue. */
static void knpu_queue_job_status_locked(struct knpu_queue *queue, u64 seqno,
					 struct drm_knpu_wait *args)
{
	lockdep_assert_held(&queue->hwq->lock);

	args->status = KNPU_JOB_OK;
	args->error = KNPU_ERR_NONE;
	args->error_addr = 0;

	if (!queue->banned || seqno < queue->error_seqno)
		return;

	if (queue->error == KNPU_ERR_DEVICE_LOST) {
		args->status = KNPU_JOB_CANCELED;
		args->error = KNPU_ERR_DEVICE_LOST;
	} else if (seqno == queue->error_seqno) {
		args->status = KNPU_JOB_FAILED;
		args->error = queue->error;
		args->error_addr = queue->error_addr;
	} else {
		args->status = KNPU_JOB_CANCELED;
	}
}

int knpu_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_wait *args = data;
	struct dma_fence *fence;
	struct knpu_queue *queue;
	int fence_error = 0;
	long ret = 0;

	if (args->flags)
		return -EINVAL;

	queue = knpu_queue_lookup(fpriv, args->queue_id);
	if (!queue)
		return -ENOENT;

	/* Pairs with the release in knpu_submit_push_locked(): the fence is stored. */
	if (!args->seqno || args->seqno > smp_load_acquire(&queue->last_seqno)) {
		ret = -EINVAL;
		goto out_put;
	}

	xa_lock(&queue->fences);
	fence = xa_load(&queue->fences, args->seqno);
	if (fence)
		dma_fence_get(fence);
	xa_unlock(&queue->fences);

	if (fence) {
		ret = dma_fence_wait_timeout(fence, true,
					     drm_timeout_abs_to_jiffies(args->timeout_ns));
		fence_error = fence->error;
		dma_fence_put(fence);
		if (ret < 0)
			goto out_put;
		if (!ret) {
			ret = -ETIME;
			goto out_put;
		}
		ret = 0;
	}

	scoped_guard(spinlock_irq, &queue->hwq->lock)
		knpu_queue_job_status_locked(queue, args->seqno, args);
	/* Dropped by the scheduler without running, e.g. a failed dependency. */
	if (fence_error && args->status == KNPU_JOB_OK)
		args->status = KNPU_JOB_CANCELED;

out_put:
	knpu_queue_put(queue);
	return ret;
}

/* Copies and checks an array of &struct drm_knpu_sync from userspace. */
static struct drm_knpu_sync *knpu_syncs_copy(u64 uptr, u32 count)
{
	struct drm_knpu_sync *syncs;
	u32 i;

	if (!count)
		return NULL;

	syncs = kvmalloc_array(count, sizeof(*syncs), GFP_KERNEL);
	if (!syncs)
		return ERR_PTR(-ENOMEM);

	if (copy_from_user(syncs, u64_to_user_ptr(uptr), count * sizeof(*syncs))) {
		kvfree(syncs);
		return ERR_PTR(-EFAULT);
	}

	for (i = 0; i < count; i++) {
		if (syncs[i].flags) {
			kvfree(syncs);
			return ERR_PTR(-EINVAL);
		}
	}

	return syncs;
}

/**
 * struct knpu_out_syncs - where a job's fence goes once it is pushed
 * @count: number of syncobjs
 * @syncobjs: the syncobjs
 * @chains: a preallocated chain node for each timeline point, else NULL
 * @points: the timeline point for each, or 0
 */
struct knpu_out_syncs {
	u32 count;
	struct drm_syncobj **syncobjs;
	struct dma_fence_chain **chains;
	u64 *points;
};

static void knpu_out_syncs_fini(struct knpu_out_syncs *out)
{
	u32 i;

	for (i = 0; i < out->count; i++) {
		if (out->syncobjs[i])
			drm_syncobj_put(out->syncobjs[i]);
		dma_fence_chain_free(out->chains[i]);
	}
	kvfree(out->syncobjs);
	kvfree(out->chains);
	kvfree(out->points);
}

static int knpu_out_syncs_init(struct knpu_out_syncs *out, struct drm_file *file,
			       const struct drm_knpu_submit *args)
{
	struct drm_knpu_sync *syncs;
	int ret = 0;
	u32 i;

	memset(out, 0, sizeof(*out));
	if (!args->out_sync_count)
		return 0;

	syncs = knpu_syncs_copy(args->out_syncs, args->out_sync_count);
	if (IS_ERR(syncs))
		return PTR_ERR(syncs);

	out->syncobjs = kvcalloc(args->out_sync_count, sizeof(*out->syncobjs), GFP_KERNEL);
	out->chains = kvcalloc(args->out_sync_count, sizeof(*out->chains), GFP_KERNEL);
	out->points = kvcalloc(args->out_sync_count, sizeof(*out->points), GFP_KERNEL);
	if (!out->syncobjs || !out->chains || !out->points) {
		ret = -ENOMEM;
		goto out_free;
	}
	out->count = args->out_sync_count;

	for (i = 0; i < out->count; i++) {
		out->syncobjs[i] = drm_syncobj_find(file, syncs[i].handle);
		if (!out->syncobjs[i]) {
			ret = -ENOENT;
			goto out_free;
		}
		out->points[i] = syncs[i].point;
		if (syncs[i].point) {
			out->chains[i] = dma_fence_chain_alloc();
			if (!out->chains[i]) {
				ret = -ENOMEM;
				goto out_free;
			}
		}
	}

out_free:
	kvfree(syncs);
	if (ret)
		knpu_out_syncs_fini(out);
	return ret;
}

static void knpu_out_syncs_signal(struct knpu_out_syncs *out, struct dma_fence *fence)
{
	u32 i;

	for (i = 0; i < out->count; i++) {
		if (out->chains[i]) {
			drm_syncobj_add_point(out->syncobjs[i], out->chains[i],
					      fence, out->points[i]);
			out->chains[i] = NULL;
		} else {
			drm_syncobj_replace_fence(out->syncobjs[i], fence);
		}
	}
}

static int knpu_submit_check(const struct drm_knpu_submit *args)
{
	u64 end;

	if (args->flags & ~KNPU_SUBMIT_FLAGS)
		return -EINVAL;
	if (!(args->flags & KNPU_SUBMIT_FLAGS) && args->fence_fd)
		return -EINVAL;
	if ((args->flags & KNPU_SUBMIT_FENCE_FD_IN) && args->fence_fd < 0)
		return -EINVAL;

	if (!args->program_size || args->program_size > KNPU_MAX_PROGRAM_SIZE ||
	    !IS_ALIGNED(args->program_size, 4) || !IS_ALIGNED(args->program_va, 4) ||
	    check_add_overflow(args->program_va, (u64)args->program_size, &end))
		return -EINVAL;

	if (args->args_size > KNPU_MAX_ARGS_SIZE || !IS_ALIGNED(args->args_size, 8))
		return -EINVAL;
	if (args->args_size && (!IS_ALIGNED(args->args_va, 8) ||
				check_add_overflow(args->args_va, (u64)args->args_size, &end)))
		return -EINVAL;

	if (args->bo_count > KNPU_MAX_SUBMIT_BOS ||
	    args->in_sync_count > KNPU_MAX_SUBMIT_SYNCS ||
	    args->out_sync_count > KNPU_MAX_SUBMIT_SYNCS)
		return -EINVAL;

	return 0;
}

static int knpu_submit_deps(struct knpu_job *job, struct drm_file *file,
			    const struct drm_knpu_submit *args)
{
	struct drm_knpu_sync *syncs;
	int ret = 0;
	u32 i;

	syncs = knpu_syncs_copy(args->in_syncs, args->in_sync_count);
	if (IS_ERR(syncs))
		return PTR_ERR(syncs);

	for (i = 0; i < args->in_sync_count; i++) {
		ret = drm_sched_job_add_syncobj_dependency(&job->base, file,
							   syncs[i].handle,
							   syncs[i].point);
		if (ret)
			goto out_free;
	}

	if (args->flags & KNPU_SUBMIT_FENCE_FD_IN) {
		struct dma_fence *fence = sync_file_get_fence(args->fence_fd);

		if (!fence) {
			ret = -EINVAL;
			goto out_free;
		}
		ret = drm_sched_job_add_dependency(&job->base, fence);
	}

out_free:
	kvfree(syncs);
	return ret;
}

static int knpu_submit_bos(struct knpu_job *job, struct drm_file *file,
			   const struct drm_knpu_submit *args)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	u32 i;
	int ret;

	if (!args->bo_count)
		return 0;

	ret = drm_gem_objects_lookup(file, u64_to_user_ptr(args->bo_handles),
				     args->bo_count, &job->bos);
	/* On failure the array holds what was found, NULL elsewhere. */
	if (job->bos)
		job->bo_count = args->bo_count;
	if (ret)
		return ret;

	/* Sharing a buffer between address spaces comes with dma-buf support. */
	for (i = 0; i < job->bo_count; i++) {
		if (to_knpu_bo(job->bos[i])->ctx != fpriv->ctx)
			return -EINVAL;
	}

	return 0;
}

static bool knpu_bo_device_writes(struct drm_gem_object *obj)
{
	return !(to_knpu_bo(obj)->flags & KNPU_BO_DEV_READONLY);
}

/*
 * Locks the BOs, takes their implicit dependencies, arms and pushes the job.
 * The caller holds the queue's submit_lock from drm_sched_job_init() on, so
 * the entity cannot go away under the job and seqnos follow push order.
 * Returns the job's finished fence (a new reference) or an ERR_PTR.
 */
static struct dma_fence *knpu_submit_push_locked(struct knpu_queue *queue,
						 struct knpu_job *job, u64 *seqno_out)
{
	struct dma_fence *fence;
	struct drm_exec exec;
	bool banned;
	u64 seqno;
	u32 i;
	int ret;

	lockdep_assert_held(&queue->submit_lock);

	scoped_guard(spinlock_irq, &queue->hwq->lock)
		banned = queue->banned;
	if (banned)
		return ERR_PTR(queue->error == KNPU_ERR_DEVICE_LOST ? -ENODEV : -ECANCELED);

	seqno = queue->last_seqno + 1;
	ret = xa_reserve(&queue->fences, seqno, GFP_KERNEL);
	if (ret)
		return ERR_PTR(ret);

	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT | DRM_EXEC_IGNORE_DUPLICATES,
		      job->bo_count);
	drm_exec_until_all_locked(&exec) {
		ret = drm_exec_prepare_array(&exec, job->bos, job->bo_count, 1);
		drm_exec_retry_on_contention(&exec);
		if (ret)
			goto err_exec;
	}

	for (i = 0; i < job->bo_count; i++) {
		ret = drm_sched_job_add_implicit_dependencies(&job->base, job->bos[i],
							      knpu_bo_device_writes(job->bos[i]));
		if (ret)
			goto err_exec;
	}

	/* Nothing below can fail: the job is published once armed. */
	job->seqno = seqno;
	*seqno_out = seqno;
	drm_sched_job_arm(&job->base);
	fence = dma_fence_get(&job->base.s_fence->finished);
	xa_store(&queue->fences, seqno, dma_fence_get(fence), GFP_NOWAIT);

	for (i = 0; i < job->bo_count; i++)
		dma_resv_add_fence(job->bos[i]->resv, fence,
				   knpu_bo_device_writes(job->bos[i]) ?
				   DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);

	trace_knpu_job_submit(queue->kdev->drm.dev, queue->id, queue->ctx->asid, seqno);
	/* The job may complete and be freed as soon as it is pushed. */
	drm_sched_entity_push_job(&job->base);
	/* Publishes the seqno after its fence, for knpu_wait_ioctl(). */
	smp_store_release(&queue->last_seqno, seqno);
	drm_exec_fini(&exec);

	return fence;

err_exec:
	drm_exec_fini(&exec);
	xa_release(&queue->fences, seqno);
	return ERR_PTR(ret);
}

int knpu_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_submit *args = data;
	struct knpu_out_syncs out;
	struct knpu_queue *queue;
	struct dma_fence *fence;
	struct knpu_job *job;
	int out_fd = -1;
	int ret;

	ret = knpu_submit_check(args);
	if (ret)
		return ret;

	queue = knpu_queue_lookup(fpriv, args->queue_id);
	if (!queue)
		return -ENOENT;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job) {
		knpu_queue_put(queue);
		return -ENOMEM;
	}
	job->queue = queue;
	job->program_va = args->program_va;
	job->program_size = args->program_size;
	job->args_va = args->args_va;
	job->args_size = args->args_size;

	job->hw_fence = kzalloc(sizeof(*job->hw_fence), GFP_KERNEL);
	if (!job->hw_fence) {
		ret = -ENOMEM;
		goto err_put_job;
	}

	ret = knpu_submit_bos(job, file, args);
	if (ret)
		goto err_put_job;

	mutex_lock(&queue->submit_lock);
	if (queue->closed) {
		ret = -ENOENT;
		goto err_unlock;
	}

	ret = drm_sched_job_init(&job->base, &queue->entity, 1, fpriv, file->client_id);
	if (ret)
		goto err_unlock;

	ret = knpu_submit_deps(job, file, args);
	if (ret)
		goto err_cleanup_job;

	ret = knpu_out_syncs_init(&out, file, args);
	if (ret)
		goto err_cleanup_job;

	if (args->flags & KNPU_SUBMIT_FENCE_FD_OUT) {
		out_fd = get_unused_fd_flags(O_CLOEXEC);
		if (out_fd < 0) {
			ret = out_fd;
			goto err_out_syncs;
		}
	}

	fence = knpu_submit_push_locked(queue, job, &args->seqno);
	if (IS_ERR(fence)) {
		ret = PTR_ERR(fence);
		goto err_out_fd;
	}
	/* The job belongs to the scheduler now; fences go out in seqno order. */
	knpu_out_syncs_signal(&out, fence);
	mutex_unlock(&queue->submit_lock);
	knpu_out_syncs_fini(&out);

	if (out_fd >= 0) {
		struct sync_file *sync_file = sync_file_create(fence);

		if (sync_file) {
			fd_install(out_fd, sync_file->file);
			args->fence_fd = out_fd;
		} else {
			put_unused_fd(out_fd);
			ret = -ENOMEM;
		}
	}

	dma_fence_put(fence);
	return ret;

err_out_fd:
	if (out_fd >= 0)
		put_unused_fd(out_fd);
err_out_syncs:
	knpu_out_syncs_fini(&out);
err_cleanup_job:
	drm_sched_job_cleanup(&job->base);
err_unlock:
	mutex_unlock(&queue->submit_lock);
err_put_job:
	knpu_job_put(job);
	return ret;
}
