/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_JOB_H__
#define __KNPU_JOB_H__

#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include <drm/gpu_scheduler.h>

#include "knpu_drv.h"
#include "knpu_regs.h"

struct knpu_context;
struct knpu_job;

/* Descriptors per hardware queue ring; one slot always stays free. */
#define KNPU_RING_SIZE		256
/* Bytes between the completion fences of two hardware queues. */
#define KNPU_FENCE_STRIDE	64

/**
 * struct knpu_hw_desc - a job descriptor in a queue's ring (hw-spec 5.1)
 * @type: KNPU_DESC_TYPE_*
 * @flags: KNPU_DESC_FLAG_*
 * @reserved0: zero
 * @program_va: device VA of the first instruction
 * @program_size: program bytes
 * @args_size: argument table bytes
 * @args_va: device VA of the argument table
 * @fence_value: written to the queue's fence address on completion
 * @job_id: opaque to the device
 * @reserved1: zero
 */
struct knpu_hw_desc {
	__le16 type;
	__le16 flags;
	__le32 reserved0;
	__le64 program_va;
	__le32 program_size;
	__le32 args_size;
	__le64 args_va;
	__le64 fence_value;
	__le64 job_id;
	__le64 reserved1[2];
};

static_assert(sizeof(struct knpu_hw_desc) == KNPU_DESC_SIZE);

/**
 * knpu_desc_kernel() - encode a KERNEL descriptor that interrupts when done
 * @desc: where, in the ring
 * @program_va: device VA of the program
 * @program_size: its size in bytes
 * @args_va: device VA of the argument table, ignored when @args_size is 0
 * @args_size: its size in bytes
 * @fence_value: written to the queue's fence address on completion
 * @job_id: opaque to the device
 */
static inline void knpu_desc_kernel(struct knpu_hw_desc *desc, u64 program_va,
				    u32 program_size, u64 args_va, u32 args_size,
				    u64 fence_value, u64 job_id)
{
	*desc = (struct knpu_hw_desc) {
		.type = cpu_to_le16(KNPU_DESC_TYPE_KERNEL),
		.flags = cpu_to_le16(KNPU_DESC_FLAG_IRQ),
		.program_va = cpu_to_le64(program_va),
		.program_size = cpu_to_le32(program_size),
		.args_size = cpu_to_le32(args_size),
		.args_va = cpu_to_le64(args_size ? args_va : 0),
		.fence_value = cpu_to_le64(fence_value),
		.job_id = cpu_to_le64(job_id),
	};
}

/**
 * struct knpu_hw_queue - one hardware queue of the device
 * @kdev: the device
 * @id: its index
 * @regs: its register block
 * @ring: the descriptor ring, %KNPU_RING_SIZE entries of coherent memory
 * @ring_dma: bus address of @ring
 * @fence_cpu: the completion fence the device writes
 * @fence_dma: bus address of @fence_cpu
 * @lock: protects the ring state below and the state of the bound queue;
 *	taken in the interrupt handler
 * @fence_lock: the lock of the hardware fences of this queue's jobs
 * @head: ring index of the oldest job whose fence is not signalled
 * @tail: ring index where the next descriptor goes
 * @jobs: the job in each ring slot between @head and @tail
 * @queue: the driver queue bound to this hardware queue, or NULL; also
 *	protected by &knpu_device.hwq_lock
 * @busy_ctx: the context whose jobs are in the ring, NULL while it is empty;
 *	for fdinfo, see knpu_fdinfo.c
 * @busy_since_ns: when the ring last became non-empty
 * @name: name of its interrupt and scheduler
 */
struct knpu_hw_queue {
	struct knpu_device *kdev;
	u32 id;
	void __iomem *regs;
	struct knpu_hw_desc *ring;
	dma_addr_t ring_dma;
	__le64 *fence_cpu;
	dma_addr_t fence_dma;

	/* Protects the ring and the bound queue's state; irq-safe. */
	spinlock_t lock;
	/* The lock of this queue's hardware fences. */
	spinlock_t fence_lock;
	u32 head;
	u32 tail;
	struct knpu_job *jobs[KNPU_RING_SIZE];
	struct knpu_queue *queue;
	struct knpu_context *busy_ctx;
	u64 busy_since_ns;
	char name[24];
};

/**
 * struct knpu_queue - a queue created by userspace, bound to a hardware queue
 * @ref: held by the file and by each job
 * @kdev: the device
 * @ctx: the address space its jobs run in
 * @hwq: its hardware queue
 * @sched: its scheduler
 * @entity: its scheduler entity
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
 * @completed_seqno: the newest seqno that finished; protected by @hwq->lock
 */
struct knpu_queue {
	struct kref ref;
	struct knpu_device *kdev;
	struct knpu_context *ctx;
	struct knpu_hw_queue *hwq;
	struct drm_gpu_scheduler sched;
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
	u64 completed_seqno;
};

#if IS_ENABLED(CONFIG_KUNIT)
/* The interrupt handlers, for the KUnit tests' device emulation. */
irqreturn_t knpu_hwq_irq(int irq, void *arg);
irqreturn_t knpu_hwq_irq_thread(int irq, void *arg);
#endif

int knpu_hwq_init_all(struct knpu_device *kdev);
int knpu_hwq_irq_init(struct knpu_hw_queue *hwq, int irq);
void knpu_jobs_abort_all(struct knpu_device *kdev);

void knpu_queue_destroy_all(struct knpu_file_priv *fpriv);

int knpu_queue_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_queue_destroy_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_queue_status_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file);

#endif /* __KNPU_JOB_H__ */
