// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Queues userspace creates, destroys, queries and waits on. A queue binds a
 * hardware queue for its life and is an entity of that hardware queue's
 * scheduler, with the queue's priority.
 */

#include <linux/capability.h>
#include <linux/cleanup.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_utils.h>
#include <drm/knpu_accel.h>

#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_mmu.h"
#include "knpu_queue.h"
#include "knpu_reset.h"

static void knpu_queue_release(struct kref *ref)
{
	struct knpu_queue *queue = container_of(ref, struct knpu_queue, ref);

	xa_destroy(&queue->fences);
	mutex_destroy(&queue->submit_lock);
	knpu_context_put(queue->ctx);
	kfree(queue);
}

void knpu_queue_put(struct knpu_queue *queue)
{
	kref_put(&queue->ref, knpu_queue_release);
}

struct knpu_queue *knpu_queue_lookup(struct knpu_file_priv *fpriv, u32 id)
{
	struct knpu_queue *queue;

	xa_lock(&fpriv->queues);
	queue = xa_load(&fpriv->queues, id);
	if (queue)
		kref_get(&queue->ref);
	xa_unlock(&fpriv->queues);

	return queue;
}

/**
 * knpu_queue_ban_device_locked() - mark @queue failed by the device at a job
 * @queue: the queue
 * @seqno: the failed job
 * @error: KNPU_ERR_*
 * @addr: the error address (the faulting VA for an MMU fault)
 * @info: the device's Q_ERROR_INFO
 * @pc: the device's Q_ERROR_PC (KNPU_ERROR_PC_NONE: not in an instruction)
 *
 * The first failure is the one kept.
 */
void knpu_queue_ban_device_locked(struct knpu_queue *queue, u64 seqno, u32 error, u64 addr,
				  u32 info, u32 pc)
{
	lockdep_assert_held(&queue->hwq->lock);

	if (queue->banned)
		return;

	queue->banned = true;
	queue->error = error;
	queue->error_seqno = seqno;
	queue->error_addr = addr;
	queue->error_info = info;
	queue->error_pc = pc;
}

/* Marks @queue failed at job @seqno by the driver (no instruction failed). */
void knpu_queue_ban_locked(struct knpu_queue *queue, u64 seqno, u32 error, u64 addr)
{
	knpu_queue_ban_device_locked(queue, seqno, error, addr, 0, KNPU_ERROR_PC_NONE);
}

/**
 * knpu_queue_record_times_locked() - keep a completed job's device times
 * @queue: the job's queue
 * @seqno: the job
 * @start_ns: when a core took it, CLOCK_MONOTONIC
 * @end_ns: when it finished, CLOCK_MONOTONIC
 *
 * WAIT reports them for the newest %KNPU_QUEUE_TIMES completed jobs.
 */
void knpu_queue_record_times_locked(struct knpu_queue *queue, u64 seqno, u64 start_ns,
				    u64 end_ns)
{
	struct knpu_job_times *times = &queue->times[seqno % KNPU_QUEUE_TIMES];

	lockdep_assert_held(&queue->hwq->lock);

	*times = (struct knpu_job_times) {
		.seqno = seqno,
		.start_ns = start_ns,
		.end_ns = end_ns,
	};
}

/**
 * knpu_queue_guilty() - count a hang against the queue's file
 * @queue: a queue bound to its hardware queue, whose job hung it or the device
 *
 * After %KNPU_FILE_MAX_HANGS the file may not submit any more.
 */
void knpu_queue_guilty(struct knpu_queue *queue)
{
	if (atomic_inc_return(&queue->fpriv->hangs) == KNPU_FILE_MAX_HANGS)
		drm_warn(&queue->kdev->drm, "queue %u: its file's jobs hung %d times, the file may submit no more\n",
			 queue->id, KNPU_FILE_MAX_HANGS);
}

static int knpu_queue_bind(struct knpu_queue *queue)
{
	struct knpu_device *kdev = queue->kdev;
	struct knpu_hw_queue *hwq = NULL;
	int ret, idx;
	u32 q;

	/* Not while a reset has the device down. */
	ret = knpu_reset_lock_killable(kdev);
	if (ret)
		return ret;
	mutex_lock(&kdev->hwq_lock);

	for (q = 0; q < kdev->info.num_queues; q++) {
		if (!kdev->hwq[q].queue) {
			hwq = &kdev->hwq[q];
			break;
		}
	}
	if (!hwq) {
		ret = -EBUSY;
	} else if (!drm_dev_enter(&kdev->drm, &idx)) {
		ret = -ENODEV;
	} else {
		scoped_guard(spinlock_irq, &hwq->lock) {
			hwq->queue = queue;
			queue->hwq = hwq;
			ret = knpu_hwq_program_locked(hwq);
			if (ret)
				hwq->queue = NULL;
		}
		drm_dev_exit(idx);
	}

	mutex_unlock(&kdev->hwq_lock);
	mutex_unlock(&kdev->reset_lock);
	return ret;
}

/*
 * Stops the hardware queue, cancels the jobs still in its ring and frees it
 * for another queue. The entity must be gone: nothing is added to the ring.
 * Once the device is unplugged its ring and fence memory are gone with it
 * (devres), and knpu_jobs_abort_all() has emptied the ring already.
 */
static void knpu_queue_unbind(struct knpu_queue *queue)
{
	struct knpu_device *kdev = queue->kdev;
	struct knpu_hw_queue *hwq = queue->hwq;
	int idx;

	guard(mutex)(&kdev->hwq_lock);

	spin_lock_irq(&hwq->lock);
	if (drm_dev_enter(&kdev->drm, &idx)) {
		knpu_hwq_reset_locked(hwq);
		knpu_hwq_retire_locked(hwq);
		drm_dev_exit(idx);
	}
	knpu_hwq_cancel_locked(hwq, -ECANCELED);
	hwq->queue = NULL;
	spin_unlock_irq(&hwq->lock);
}

/* The caller was killed (or is exiting because of it): do not wait. */
static bool knpu_current_killed(void)
{
	return fatal_signal_pending(current) ||
	       ((current->flags & PF_EXITING) && current->exit_code == SIGKILL);
}

/*
 * Gives the queue's jobs a chance to finish: as long as the caller is
 * willing to wait (killable), a second when the process exits or the file
 * is released from a kernel thread, not at all when it was killed.
 */
static void knpu_queue_drain(struct knpu_queue *queue)
{
	if (knpu_current_killed())
		return;

	if (current->flags & (PF_EXITING | PF_KTHREAD))
		wait_event_timeout(queue->idle, xa_empty(&queue->fences),
				   MAX_WAIT_SCHED_ENTITY_Q_EMPTY);
	else
		wait_event_killable(queue->idle, xa_empty(&queue->fences));
}

/*
 * Takes no more submissions and waits, as knpu_queue_drain() allows, for the
 * submitted jobs; then drops those not handed to the device yet with the
 * entity (their fences signal with an error once their dependencies have).
 */
static void knpu_queue_close(struct knpu_queue *queue)
{
	scoped_guard(mutex, &queue->submit_lock)
		queue->closed = true;

	knpu_queue_drain(queue);
	drm_sched_entity_fini(&queue->entity);
}

/*
 * Closes the queue and cancels what is left in its ring. The hardware queue
 * is free when this returns; the jobs' fences signal and outlive the queue.
 */
static void knpu_queue_destroy(struct knpu_queue *queue)
{
	knpu_queue_close(queue);
	knpu_queue_unbind(queue);
	knpu_queue_put(queue);
}

/**
 * knpu_queue_destroy_all() - destroy every queue of a file that is closed
 * @fpriv: the file
 *
 * Every queue is closed before any is unbound: canceling one queue's ring
 * signals the fences another queue's pending jobs wait for, and those jobs
 * must be dropped with their entity, not run by a file that is gone.
 */
void knpu_queue_destroy_all(struct knpu_file_priv *fpriv)
{
	struct knpu_queue *queue;
	unsigned long id;

	xa_for_each(&fpriv->queues, id, queue)
		knpu_queue_close(queue);

	xa_for_each(&fpriv->queues, id, queue) {
		xa_erase(&fpriv->queues, id);
		knpu_queue_unbind(queue);
		knpu_queue_put(queue);
	}
}

static enum drm_sched_priority knpu_queue_sched_priority(u32 priority)
{
	switch (priority) {
	case KNPU_QUEUE_PRIORITY_LOW:
		return DRM_SCHED_PRIORITY_LOW;
	case KNPU_QUEUE_PRIORITY_HIGH:
		return DRM_SCHED_PRIORITY_HIGH;
	case KNPU_QUEUE_PRIORITY_REALTIME:
		return DRM_SCHED_PRIORITY_KERNEL;
	default:
		return DRM_SCHED_PRIORITY_NORMAL;
	}
}

int knpu_queue_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct knpu_device *kdev = to_knpu_device(dev);
	struct drm_knpu_queue_create *args = data;
	struct drm_gpu_scheduler *sched;
	struct knpu_queue *queue;
	u32 id;
	int ret;

	if (args->flags || args->pad)
		return -EINVAL;
	if (args->priority > KNPU_QUEUE_PRIORITY_REALTIME)
		return -EINVAL;
	if (args->priority == KNPU_QUEUE_PRIORITY_REALTIME && !capable(CAP_SYS_NICE))
		return -EPERM;
	if (knpu_file_banned(fpriv))
		return -EBADFD;

	queue = kzalloc(sizeof(*queue), GFP_KERNEL);
	if (!queue)
		return -ENOMEM;

	kref_init(&queue->ref);
	queue->kdev = kdev;
	queue->ctx = knpu_context_get(fpriv->ctx);
	queue->fpriv = fpriv;
	queue->priority = args->priority;
	queue->fence_context = dma_fence_context_alloc(1);
	mutex_init(&queue->submit_lock);
	xa_init(&queue->fences);
	init_waitqueue_head(&queue->idle);

	ret = knpu_queue_bind(queue);
	if (ret)
		goto err_put;

	sched = &queue->hwq->sched;
	ret = drm_sched_entity_init(&queue->entity, knpu_queue_sched_priority(args->priority),
				    &sched, 1, NULL);
	if (ret)
		goto err_unbind;

	/*
	 * Once stored, the queue is another thread's to destroy by its id: set
	 * everything, the id included, on a reserved entry before publishing,
	 * and touch nothing of the queue afterwards.
	 */
	ret = xa_alloc(&fpriv->queues, &id, NULL, XA_LIMIT(1, U32_MAX), GFP_KERNEL);
	if (ret)
		goto err_entity;
	queue->id = id;
	ret = xa_err(xa_store(&fpriv->queues, id, queue, GFP_KERNEL));
	if (ret) {
		xa_erase(&fpriv->queues, id);
		goto err_entity;
	}

	args->queue_id = id;
	return 0;

err_entity:
	drm_sched_entity_fini(&queue->entity);
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
		args->error_pc = queue->banned ? queue->error_pc : KNPU_ERROR_PC_NONE;
		args->error_info = queue->error_info;
		args->completed_seqno = queue->completed_seqno;
		args->reset_count = queue->reset_count;
	}

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
	args->error_pc = KNPU_ERROR_PC_NONE;
	args->error_info = 0;
	args->start_ns = 0;
	args->end_ns = 0;

	if (!queue->banned || seqno < queue->error_seqno) {
		const struct knpu_job_times *times = &queue->times[seqno % KNPU_QUEUE_TIMES];

		if (times->seqno == seqno) {
			args->start_ns = times->start_ns;
			args->end_ns = times->end_ns;
		}
		return;
	}

	if (queue->error == KNPU_ERR_DEVICE_LOST) {
		args->status = KNPU_JOB_CANCELED;
		args->error = KNPU_ERR_DEVICE_LOST;
	} else if (seqno == queue->error_seqno) {
		args->status = KNPU_JOB_FAILED;
		args->error = queue->error;
		args->error_addr = queue->error_addr;
		args->error_pc = queue->error_pc;
		args->error_info = queue->error_info;
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
