// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * The hardware fence of a job, and what it keeps alive.
 *
 * A job's scheduler fences (drm_sched's "scheduled" and "finished") report
 * the name of their scheduler, &knpu_hw_queue.sched, which the device owns,
 * and the scheduled fence holds the hardware fence, its parent, whose ops
 * are in this module. Userspace can keep a finished fence for as long as it
 * likes (a sync_file, a syncobj, a dma-buf's reservation object) after the
 * queue, the file, the PCI device and the module are gone. Debian 6.12's
 * dma-fence has no way for a driver to detach a signalled fence from itself
 * (the safe-access helpers came in 6.17), so the fences keep what they reach:
 *
 *  - every hardware fence holds a reference on the drm_device (which owns
 *    the schedulers and their names) and on this module (its ops, and the
 *    code that releases the drm_device); its release drops both;
 *  - every job's scheduled fence has a hardware fence as its parent, even a
 *    job that never ran (knpu_hw_fence_adopt_unrun()), and drops it last.
 *
 * So `rmmod knpu` is refused, the module in use (delete_module() fails
 * with EWOULDBLOCK, as with a file open), while any fence of the driver
 * lives, and after a PCI unbind the device's memory stays until its last
 * fence goes. The last drm_device reference can run the device's teardown,
 * which sleeps, while a fence may be released in any context: the release
 * defers it to knpu_cleanup_wq, which module exit drains.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <drm/drm_drv.h>
#include <drm/gpu_scheduler.h>

#include "knpu_drv.h"
#include "knpu_fence.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_queue.h"

/**
 * struct knpu_hw_fence - the fence the device signals when it completed a job
 * @base: the fence; its lock is &knpu_hw_queue.fence_lock
 * @drm: the device, held from knpu_hw_fence_init() to the release
 * @release_work: drops @drm and the module, away from dma_fence_put()
 */
struct knpu_hw_fence {
	struct dma_fence base;
	struct drm_device *drm;
	struct work_struct release_work;
};

static struct knpu_hw_fence *to_knpu_hw_fence(struct dma_fence *fence)
{
	return container_of(fence, struct knpu_hw_fence, base);
}

static const char *knpu_fence_get_driver_name(struct dma_fence *fence)
{
	return KNPU_DRIVER_NAME;
}

static const char *knpu_fence_get_timeline_name(struct dma_fence *fence)
{
	return "knpu-queue";
}

static void knpu_fence_release_work(struct work_struct *work)
{
	struct knpu_hw_fence *f = container_of(work, struct knpu_hw_fence, release_work);

	drm_dev_put(f->drm);
	kfree_rcu(f, base.rcu);
	/* Last: module exit drains knpu_cleanup_wq, so this code stays until it returns. */
	module_put(THIS_MODULE);
}

/* Any context, the fence lock not held: the device's teardown may sleep. */
static void knpu_fence_release(struct dma_fence *fence)
{
	struct knpu_hw_fence *f = to_knpu_hw_fence(fence);

	INIT_WORK(&f->release_work, knpu_fence_release_work);
	queue_work(knpu_cleanup_wq, &f->release_work);
}

static const struct dma_fence_ops knpu_fence_ops = {
	.get_driver_name = knpu_fence_get_driver_name,
	.get_timeline_name = knpu_fence_get_timeline_name,
	.release = knpu_fence_release,
};

/**
 * knpu_hw_fence_alloc() - allocate a job's hardware fence, not initialised
 *
 * Return: the fence, or NULL. Until knpu_hw_fence_init() it holds nothing
 * and is freed with knpu_hw_fence_free_unused().
 */
struct dma_fence *knpu_hw_fence_alloc(void)
{
	struct knpu_hw_fence *f = kzalloc(sizeof(*f), GFP_KERNEL);

	return f ? &f->base : NULL;
}

/**
 * knpu_hw_fence_free_unused() - free a hardware fence never initialised
 * @fence: from knpu_hw_fence_alloc(), or NULL
 */
void knpu_hw_fence_free_unused(struct dma_fence *fence)
{
	if (fence)
		kfree(to_knpu_hw_fence(fence));
}

/**
 * knpu_hw_fence_init() - initialise the hardware fence of a job being published
 * @fence: from knpu_hw_fence_alloc()
 * @queue: the job's queue
 * @seqno: the job's seqno on @queue
 *
 * From here on the fence holds the device and this module until its release.
 */
void knpu_hw_fence_init(struct dma_fence *fence, struct knpu_queue *queue, u64 seqno)
{
	struct knpu_hw_fence *f = to_knpu_hw_fence(fence);

	lockdep_assert_held(&queue->submit_lock);

	/* The caller runs the module's code for a file: it holds the module. */
	__module_get(THIS_MODULE);
	f->drm = &queue->kdev->drm;
	drm_dev_get(f->drm);
	dma_fence_init(fence, &knpu_fence_ops, &queue->hwq->fence_lock, queue->fence_context,
		       seqno);
}

/**
 * knpu_hw_fence_adopt_unrun() - give a job that never ran its parent fence
 * @job: a finished job whose scheduler fences have no parent: its entity
 *	was killed before it ran, or run_job() refused it
 *
 * The scheduled fence drops its parent when it is released, after the
 * finished fence: signalled with the job's error and made the parent, the
 * hardware fence keeps what the scheduler fences reach as long as they live.
 * drm_sched sets the parent only for a job that ran; on a finished job
 * nothing else reads or writes it.
 */
void knpu_hw_fence_adopt_unrun(struct knpu_job *job)
{
	struct drm_sched_fence *s_fence = job->base.s_fence;
	int error = s_fence->finished.error;

	if (error)
		dma_fence_set_error(job->hw_fence, error);
	dma_fence_signal(job->hw_fence);
	/* As drm_sched_fence_set_parent() does, for a racing set_deadline(). */
	smp_store_release(&s_fence->parent, dma_fence_get(job->hw_fence));
}
