// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * The drm_sched backend: run_job() writes a job's descriptor into its
 * hardware queue's ring, timedout_job() resets a queue whose job does not
 * complete, free_job() drops what a job holds.
 */

#include <linux/cleanup.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_gem.h>
#include <drm/knpu_accel.h>

#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_queue.h"

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
	job->start_ns = ktime_get_ns();
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
void knpu_job_put(struct knpu_job *job)
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

const struct drm_sched_backend_ops knpu_sched_ops = {
	.run_job = knpu_job_run,
	.timedout_job = knpu_job_timedout,
	.free_job = knpu_job_free,
};
