/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_JOB_H__
#define __KNPU_JOB_H__

#include <linux/types.h>
#include <linux/workqueue.h>

#include <drm/gpu_scheduler.h>

#include "knpu_drv.h"

struct drm_gem_object;
struct knpu_queue;

/**
 * struct knpu_job - one submission
 * @base: the scheduler job
 * @queue: the queue it was submitted to (holds a reference)
 * @hw_fence: signalled when the device completes the job (by the driver for
 *	a job that never ran); allocated at submission so run_job() does not
 *	allocate, initialised when the job is published; the parent of the
 *	job's scheduler fences, it keeps what they reach (knpu_fence.c)
 * @hw_fence_armed: @hw_fence was initialised
 * @bos: the buffers it uses (each holds a reference)
 * @bo_count: number of @bos
 * @seqno: its sequence number on @queue
 * @program_va: device VA of the program
 * @args_va: device VA of the argument table
 * @program_size: program size in bytes
 * @args_size: argument table size in bytes
 * @replays: times a device reset interrupted it (it was the oldest in the
 *	ring) and it was run again
 * @put_work: drops what the job holds, away from the fence-signalling path
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
	u32 replays;
	struct work_struct put_work;
};

static inline struct knpu_job *to_knpu_job(struct drm_sched_job *sched_job)
{
	return container_of(sched_job, struct knpu_job, base);
}

extern const struct drm_sched_backend_ops knpu_sched_ops;

void knpu_job_put(struct knpu_job *job);

int knpu_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_submit_batch_ioctl(struct drm_device *dev, void *data, struct drm_file *file);

#endif /* __KNPU_JOB_H__ */
