/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_HWQ_H__
#define __KNPU_HWQ_H__

#include <linux/dma-fence.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include <drm/gpu_scheduler.h>

#include "knpu_drv.h"
#include "knpu_regs.h"

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
 * @times: zero; with %KNPU_DESC_FLAG_TIMESTAMPS the device writes the job's
 *	start and end (device clock, ns) here before its fence
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
	__le64 times[2];
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
 * @head_since: jiffies when the job at @head became the oldest one
 * @watchdog: fires when the job at @head made no progress for the timeout
 * @sched: the scheduler of the jobs of the queues bound to it; owned by the
 *	device so that the jobs' fences outlive the queues
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
	unsigned long head_since;
	struct delayed_work watchdog;
	struct drm_gpu_scheduler sched;
	char name[24];
};

static inline u32 knpu_hwq_rd(struct knpu_hw_queue *hwq, u32 reg)
{
	return readl(hwq->regs + reg);
}

static inline void knpu_hwq_wr(struct knpu_hw_queue *hwq, u32 reg, u32 val)
{
	writel(val, hwq->regs + reg);
}

#if IS_ENABLED(CONFIG_KUNIT)
/* The interrupt handlers, for the KUnit tests' device emulation. */
irqreturn_t knpu_hwq_irq(int irq, void *arg);
irqreturn_t knpu_hwq_irq_thread(int irq, void *arg);
#endif

int knpu_hwq_init_all(struct knpu_device *kdev);
int knpu_hwq_irq_init(struct knpu_hw_queue *hwq, int irq);
void knpu_jobs_abort_all(struct knpu_device *kdev);

void knpu_hwq_push_locked(struct knpu_hw_queue *hwq, struct knpu_job *job);
void knpu_hwq_retire_locked(struct knpu_hw_queue *hwq);
void knpu_hwq_cancel_locked(struct knpu_hw_queue *hwq, int first_error);
void knpu_hwq_reset_locked(struct knpu_hw_queue *hwq);
int knpu_hwq_program_locked(struct knpu_hw_queue *hwq);
void knpu_hwq_replay_locked(struct knpu_hw_queue *hwq);
void knpu_hwq_stop_all(struct knpu_device *kdev);
void knpu_hwq_start_all(struct knpu_device *kdev);

#endif /* __KNPU_HWQ_H__ */
