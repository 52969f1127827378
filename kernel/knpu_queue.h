/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_QUEUE_H__
#define __KNPU_QUEUE_H__

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include <drm/gpu_scheduler.h>

#include "knpu_drv.h"

struct knpu_context;

/* Completed jobs per queue whose device times WAIT still reports. */
#define KNPU_QUEUE_TIMES	256

/**
 * struct knpu_queue - a queue created by userspace, bound to a hardware queue
 * @ref: held by the file and by each job
 * @kdev: the device
 * @ctx: the address space its jobs run in
 * @fpriv: the file that created it; valid while it is bound to @hwq
 * @hwq: its hardware queue
 * @entity: its entity on @hwq's scheduler
 * @fence_context: the dma_fence context of its hardware fences
 * @id: the queue_id userspace knows it by
 * @priority: KNPU_QUEUE_PRIORITY_*
 * @submit_lock: orders submissions: seqno, arming and pushing jobs
 * @closed: set under @submit_lock when the queue is being destroyed
 * @last_seqno: the newest seqno submitted; written under @submit_lock
 * @fences: seqno -> finished fence of every job not yet freed
 * @idle: woken when @fences becomes empty
 * @banned: a job failed, later jobs are canceled; protected by @hwq->lock
 * @error: KNPU_ERR_* of the job that banned the queue; protected by @hwq->lock
 * @error_seqno: its seqno; protected by @hwq->lock
 * @error_addr: its error address; protected by @hwq->lock
 * @error_pc: its failing instruction's offset (KNPU_ERROR_PC_NONE: none);
 *	protected by @hwq->lock
 * @error_info: the device's Q_ERROR_INFO for it; protected by @hwq->lock
 * @completed_seqno: the newest seqno that finished; protected by @hwq->lock
 * @reset_count: device resets it lived through; protected by @hwq->lock
 * @times: the device's start and end times of its newest completed jobs, at
 *	seqno % %KNPU_QUEUE_TIMES; protected by @hwq->lock
 */
struct knpu_queue {
	struct kref ref;
	struct knpu_device *kdev;
	struct knpu_context *ctx;
	struct knpu_file_priv *fpriv;
	struct knpu_hw_queue *hwq;
	struct drm_sched_entity entity;
	u64 fence_context;
	u32 id;
	u32 priority;

	/* Orders submissions: seqno, arm, push. */
	struct mutex submit_lock;
	bool closed;
	u64 last_seqno;
	struct xarray fences;
	wait_queue_head_t idle;

	bool banned;
	u32 error;
	u64 error_seqno;
	u64 error_addr;
	u32 error_pc;
	u32 error_info;
	u64 completed_seqno;
	u32 reset_count;
	struct knpu_job_times {
		u64 seqno;
		u64 start_ns;
		u64 end_ns;
	} times[KNPU_QUEUE_TIMES];
};

void knpu_queue_put(struct knpu_queue *queue);
void knpu_queue_record_times_locked(struct knpu_queue *queue, u64 seqno, u64 start_ns,
				    u64 end_ns);
struct knpu_queue *knpu_queue_lookup(struct knpu_file_priv *fpriv, u32 id);
void knpu_queue_ban_locked(struct knpu_queue *queue, u64 seqno, u32 error, u64 addr);
void knpu_queue_ban_device_locked(struct knpu_queue *queue, u64 seqno, u32 error, u64 addr,
				  u32 info, u32 pc);
void knpu_queue_guilty(struct knpu_queue *queue);
void knpu_queue_destroy_all(struct knpu_file_priv *fpriv);

int knpu_queue_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_queue_destroy_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_queue_status_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file);

#endif /* __KNPU_QUEUE_H__ */
