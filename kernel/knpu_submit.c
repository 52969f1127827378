// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Submission: checks a SUBMIT (or each entry of a SUBMIT_BATCH), turns its in-fences into scheduler
 * dependencies, locks its buffers, arms and pushes the job and publishes its
 * fence to the out-syncobjs and an optional sync_file.
 */

#include <linux/dma-fence-chain.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_exec.h>
#include <drm/drm_gem.h>
#include <drm/drm_syncobj.h>
#include <drm/knpu_accel.h>

#include "knpu_devmem.h"
#include "knpu_fence.h"
#include "knpu_gem.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_mmu.h"
#include "knpu_queue.h"
#include "knpu_reset.h"
#include "knpu_trace.h"

#define KNPU_SUBMIT_FLAGS	(KNPU_SUBMIT_FENCE_FD_IN | KNPU_SUBMIT_FENCE_FD_OUT)

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
		struct dma_fence *fence;

		/* drm_sched_job_add_syncobj_dependency() cuts points to 32 bits. */
		ret = drm_syncobj_find_fence(file, syncs[i].handle, syncs[i].point, 0, &fence);
		if (ret)
			goto out_free;
		ret = drm_sched_job_add_dependency(&job->base, fence);
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

	for (i = 0; i < job->bo_count; i++) {
		if (!knpu_bo_is_mapped(job->bos[i], fpriv->ctx))
			return -EINVAL;
	}

	return knpu_bos_contents_lost(job->bos, job->bo_count) ? -ENODATA : 0;
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

	/* The last failure point: a test can fail the SUBMIT here. */
	if (knpu_inject_fault(&queue->kdev->inject.submit_error)) {
		ret = -ENOMEM;
		goto err_exec;
	}

	/* Nothing below can fail: the job is published once armed. */
	job->seqno = seqno;
	*seqno_out = seqno;
	knpu_hw_fence_init(job->hw_fence, queue, seqno);
	job->hw_fence_armed = true;
	drm_sched_job_arm(&job->base);
	fence = dma_fence_get(&job->base.s_fence->finished);
	xa_store(&queue->fences, seqno, dma_fence_get(fence), GFP_NOWAIT);

	for (i = 0; i < job->bo_count; i++)
		dma_resv_add_fence(job->bos[i]->resv, fence,
				   knpu_bo_device_writes(job->bos[i]) ?
				   DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);

	/*
	 * Unlocked before the push: a pushed job may complete and drop its
	 * buffer references at once, and drm_exec's then being the last would
	 * free a buffer with other reservations still held, while the free
	 * path's dma_bos_lock nests outside them. submit_lock, not the
	 * reservations, orders the push after the arm.
	 */
	drm_exec_fini(&exec);
	trace_knpu_job_submit(queue->kdev->drm.dev, queue->id, queue->ctx->asid, seqno);
	/* The job may complete and be freed as soon as it is pushed. */
	drm_sched_entity_push_job(&job->base);
	/* Publishes the seqno after its fence, for knpu_wait_ioctl(). */
	smp_store_release(&queue->last_seqno, seqno);

	return fence;

err_exec:
	drm_exec_fini(&exec);
	xa_release(&queue->fences, seqno);
	return ERR_PTR(ret);
}

/*
 * A sync_file for the job's fence, made before the job is armed (nothing may
 * fail after that): it holds a signalled stub until knpu_sync_file_set().
 */
static struct sync_file *knpu_sync_file_prepare(void)
{
	struct dma_fence *stub = dma_fence_get_stub();
	struct sync_file *sync_file = sync_file_create(stub);

	dma_fence_put(stub);
	return sync_file;
}

/* Puts @fence in @sync_file, not yet visible to anyone but the caller. */
static void knpu_sync_file_set(struct sync_file *sync_file, struct dma_fence *fence)
{
	struct dma_fence *stub = sync_file->fence;

	sync_file->fence = dma_fence_get(fence);
	dma_fence_put(stub);
}

/*
 * Submits one job as DRM_IOCTL_KNPU_SUBMIT describes it: checks @args,
 * queues the job and writes its out fields (seqno, fence_fd) into @args.
 * Nothing is queued when it fails.
 */
static int knpu_submit_one(struct drm_device *dev, struct drm_file *file,
			   struct drm_knpu_submit *args)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct sync_file *sync_file = NULL;
	struct knpu_out_syncs out;
	struct knpu_queue *queue;
	struct dma_fence *fence;
	struct knpu_job *job;
	int out_fd = -1;
	int ret;

	ret = knpu_submit_check(args);
	if (ret)
		return ret;

	if (knpu_file_banned(fpriv))
		return -EBADFD;

	queue = knpu_queue_lookup(fpriv, args->queue_id);
	if (!queue)
		return -ENOENT;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job) {
		knpu_queue_put(queue);
		return -ENOMEM;
	}
	/* The job keeps the device, and with it its scheduler, alive. */
	drm_dev_get(dev);
	job->queue = queue;
	job->program_va = args->program_va;
	job->program_size = args->program_size;
	job->args_va = args->args_va;
	job->args_size = args->args_size;

	job->hw_fence = knpu_hw_fence_alloc();
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
		sync_file = knpu_sync_file_prepare();
		if (!sync_file) {
			ret = -ENOMEM;
			goto err_out_fd;
		}
	}

	fence = knpu_submit_push_locked(queue, job, &args->seqno);
	if (IS_ERR(fence)) {
		ret = PTR_ERR(fence);
		goto err_sync_file;
	}
	/* The job belongs to the scheduler now; fences go out in seqno order. */
	knpu_out_syncs_signal(&out, fence);
	mutex_unlock(&queue->submit_lock);
	knpu_out_syncs_fini(&out);
	/* A test's device-fatal error: the reset replays the job. */
	if (knpu_inject_fault(&to_knpu_device(dev)->inject.device_error))
		knpu_reset_schedule(to_knpu_device(dev));

	if (sync_file) {
		knpu_sync_file_set(sync_file, fence);
		fd_install(out_fd, sync_file->file);
		args->fence_fd = out_fd;
	}

	dma_fence_put(fence);
	return 0;

err_sync_file:
	if (sync_file)
		fput(sync_file->file);
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

int knpu_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_submit_one(dev, file, data);
}

static int knpu_submit_batch_check(const struct drm_knpu_submit_batch *args)
{
	if (args->pad)
		return -EINVAL;
	if (!args->count || args->count > KNPU_MAX_BATCH_SUBMITS)
		return -EINVAL;
	if (args->stride < KNPU_SUBMIT_SIZE_VER0 || args->stride > KNPU_MAX_BATCH_STRIDE ||
	    !IS_ALIGNED(args->stride, 8))
		return -EINVAL;
	return 0;
}

/*
 * Reads the entry at @uentry as a struct of @stride bytes, submits it and
 * writes its out fields back. Returns whether it was submitted in
 * @submitted, which an -EFAULT from the write-back does not undo.
 */
static int knpu_submit_batch_entry(struct drm_device *dev, struct drm_file *file,
				   void __user *uentry, u32 stride, bool *submitted)
{
	struct drm_knpu_submit entry;
	int ret;

	*submitted = false;
	ret = copy_struct_from_user(&entry, sizeof(entry), uentry, stride);
	if (ret)
		return ret;

	ret = knpu_submit_one(dev, file, &entry);
	if (ret)
		return ret;
	*submitted = true;

	if (copy_to_user(uentry, &entry, min_t(size_t, stride, sizeof(entry))))
		return -EFAULT;
	return 0;
}

int knpu_submit_batch_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_knpu_submit_batch *args = data;
	void __user *entries = u64_to_user_ptr(args->submits);
	bool submitted;
	int ret;

	args->submitted = 0;
	ret = knpu_submit_batch_check(args);
	if (ret)
		return ret;

	do {
		ret = knpu_submit_batch_entry(dev, file,
					      entries + (size_t)args->submitted * args->stride,
					      args->stride, &submitted);
		if (submitted)
			args->submitted++;
	} while (!ret && args->submitted < args->count);

	/* A restarted call would submit the entries that went in again. */
	if (ret == -ERESTARTSYS && args->submitted)
		ret = -EINTR;
	return ret;
}
