// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Per-client usage in DRM fdinfo (Documentation/gpu/drm-usage-stats.rst).
 *
 * A hardware queue runs its ring in order, so it is busy for a context from
 * the moment a job enters its empty ring until the ring is empty again, for
 * whatever reason the last job left it: completed, failed, timed out or
 * canceled. Closed intervals are added to &knpu_context.busy_ns; the open
 * interval of every busy hardware queue is added when fdinfo is read, so
 * busy time grows while a long job runs.
 */

#include <kunit/visibility.h>
#include <linux/seqlock.h>
#include <linux/timekeeping.h>

#include "knpu_drv.h"
#include "knpu_fdinfo.h"
#include "knpu_gem.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_mmu.h"

/*
 * Protects &knpu_hw_queue.busy_ctx and .busy_since_ns of every hardware
 * queue and the updates of &knpu_context.busy_ns, so that a reader sees
 * closed and open intervals consistently and busy time never goes back.
 * One for the module: writers hold it for a few instructions per job.
 */
static DEFINE_SEQLOCK(knpu_busy_lock);

VISIBLE_IF_KUNIT void knpu_busy_start(struct knpu_hw_queue *hwq,
				      struct knpu_context *ctx, u64 now)
{
	if (hwq->busy_ctx)
		return;
	hwq->busy_ctx = ctx;
	hwq->busy_since_ns = now;
}

VISIBLE_IF_KUNIT void knpu_busy_stop(struct knpu_hw_queue *hwq, u64 now)
{
	struct knpu_context *ctx = hwq->busy_ctx;

	if (!ctx)
		return;
	if (now > hwq->busy_since_ns)
		atomic64_add(now - hwq->busy_since_ns, &ctx->busy_ns);
	hwq->busy_ctx = NULL;
}

/**
 * knpu_busy_job_queued_locked() - account a job handed to a hardware queue
 * @hwq: the hardware queue, its lock held, before the job enters the ring
 * @ctx: the context the job runs in
 */
void knpu_busy_job_queued_locked(struct knpu_hw_queue *hwq, struct knpu_context *ctx)
{
	unsigned long flags;

	lockdep_assert_held(&hwq->lock);

	write_seqlock_irqsave(&knpu_busy_lock, flags);
	knpu_busy_start(hwq, ctx, ktime_get_ns());
	write_sequnlock_irqrestore(&knpu_busy_lock, flags);
}

/**
 * knpu_busy_job_retired_locked() - account a job that left the ring
 * @hwq: the hardware queue, its lock held, after the job left the ring
 */
void knpu_busy_job_retired_locked(struct knpu_hw_queue *hwq)
{
	unsigned long flags;

	lockdep_assert_held(&hwq->lock);

	if (hwq->head != hwq->tail)
		return;

	write_seqlock_irqsave(&knpu_busy_lock, flags);
	knpu_busy_stop(hwq, ktime_get_ns());
	write_sequnlock_irqrestore(&knpu_busy_lock, flags);
}

/* Closed intervals plus the open ones at @now; under knpu_busy_lock. */
VISIBLE_IF_KUNIT u64 knpu_busy_ns_at(struct knpu_context *ctx, u64 now)
{
	struct knpu_device *kdev = ctx->kdev;
	u64 busy = atomic64_read(&ctx->busy_ns);
	u32 q;

	for (q = 0; q < kdev->info.num_queues; q++) {
		const struct knpu_hw_queue *hwq = &kdev->hwq[q];

		if (hwq->busy_ctx == ctx && now > hwq->busy_since_ns)
			busy += now - hwq->busy_since_ns;
	}
	return busy;
}

/**
 * knpu_busy_ns() - time the device has spent on a context's jobs
 * @ctx: the context
 *
 * Return: nanoseconds, including the jobs running now; never less than an
 * earlier return for the same context.
 */
u64 knpu_busy_ns(struct knpu_context *ctx)
{
	unsigned int seq;
	u64 busy;

	do {
		seq = read_seqbegin(&knpu_busy_lock);
		busy = knpu_busy_ns_at(ctx, ktime_get_ns());
	} while (read_seqretry(&knpu_busy_lock, seq));

	return busy;
}

/**
 * knpu_show_fdinfo() - the &drm_driver.show_fdinfo of knpu
 * @p: where to print
 * @file: the client
 *
 * Prints drm-engine-npu (busy ns, running jobs included), its capacity (the
 * compute cores: queues of different clients run at the same time) and the
 * drm-memory-* keys of the client's buffers.
 */
void knpu_show_fdinfo(struct drm_printer *p, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;

	drm_printf(p, "drm-engine-npu:\t%llu ns\n", knpu_busy_ns(fpriv->ctx));
	drm_printf(p, "drm-engine-capacity-npu:\t%u\n", fpriv->kdev->info.num_cores);
	knpu_gem_show_memory_stats(p, file);
}
