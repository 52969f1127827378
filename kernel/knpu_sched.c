// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * The drm_sched backend: run_job() hands a job to its hardware queue,
 * free_job() drops what a job holds. There is no timedout_job(): the
 * schedulers run without a timeout and knpu_hwq_watchdog() stops a job that
 * makes no progress (see knpu_hwq.c).
 */

#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_gem.h>
#include <drm/knpu_accel.h>

#include "knpu_devmem.h"
#include "knpu_fence.h"
#include "knpu_gem.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_queue.h"

/* The device is gone: the job completes as lost without running. */
static struct dma_fence *knpu_job_lost(struct knpu_job *job)
{
	struct knpu_queue *queue = job->queue;
	unsigned long flags;

	spin_lock_irqsave(&queue->hwq->lock, flags);
	knpu_queue_ban_locked(queue, job->seqno, KNPU_ERR_DEVICE_LOST, 0);
	queue->completed_seqno = job->seqno;
	spin_unlock_irqrestore(&queue->hwq->lock, flags);

	return ERR_PTR(-ENODEV);
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

	if (!drm_dev_enter(&kdev->drm, &idx))
		return knpu_job_lost(job);
	if (!knpu_device_usable(kdev)) {
		drm_dev_exit(idx);
		return knpu_job_lost(job);
	}

	spin_lock_irqsave(&hwq->lock, flags);
	if (queue->banned) {
		queue->completed_seqno = job->seqno;
		fence = ERR_PTR(queue->error == KNPU_ERR_DEVICE_LOST ? -ENODEV : -ECANCELED);
	} else if (knpu_bos_contents_lost(job->bos, job->bo_count)) {
		/* Submitted before a reset cleared the device memory it uses. */
		knpu_queue_ban_locked(queue, job->seqno, KNPU_ERR_DEVMEM_LOST, 0);
		queue->completed_seqno = job->seqno;
		fence = ERR_PTR(-EIO);
	} else {
		knpu_hwq_push_locked(hwq, job);
		fence = dma_fence_get(job->hw_fence);
	}
	spin_unlock_irqrestore(&hwq->lock, flags);
	drm_dev_exit(idx);

	return fence;
}

static void knpu_job_put_work(struct work_struct *work)
{
	knpu_job_put(container_of(work, struct knpu_job, put_work));
}

/**
 * knpu_job_put() - drop what a job holds and free it
 * @job: the job; its scheduler job must be cleaned up already
 */
void knpu_job_put(struct knpu_job *job)
{
	struct knpu_queue *queue = job->queue;
	struct drm_device *drm = &queue->kdev->drm;
	u32 i;

	for (i = 0; i < job->bo_count; i++)
		drm_gem_object_put(job->bos[i]);
	kvfree(job->bos);

	if (job->hw_fence_armed)
		dma_fence_put(job->hw_fence);
	else
		knpu_hw_fence_free_unused(job->hw_fence);

	knpu_queue_put(queue);
	kfree(job);
	drm_dev_put(drm);
}

static void knpu_job_free(struct drm_sched_job *sched_job)
{
	struct knpu_job *job = to_knpu_job(sched_job);
	struct knpu_queue *queue = job->queue;
	struct dma_fence *fence;

	if (!sched_job->s_fence->parent)
		knpu_hw_fence_adopt_unrun(job);
	drm_sched_job_cleanup(sched_job);

	fence = xa_erase(&queue->fences, job->seqno);
	dma_fence_put(fence);
	if (xa_empty(&queue->fences))
		wake_up(&queue->idle);

	/*
	 * The last buffer reference frees its pages and device mapping (the
	 * context lock, MMIO): not on the scheduler's workqueue, which
	 * signals fences.
	 */
	INIT_WORK(&job->put_work, knpu_job_put_work);
	queue_work(knpu_cleanup_wq, &job->put_work);
}

const struct drm_sched_backend_ops knpu_sched_ops = {
	.run_job = knpu_job_run,
	.free_job = knpu_job_free,
};
