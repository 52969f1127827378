/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_FDINFO_H__
#define __KNPU_FDINFO_H__

#include <linux/types.h>

#include <drm/drm_file.h>
#include <drm/drm_print.h>

struct knpu_context;
struct knpu_hw_queue;

void knpu_busy_job_queued_locked(struct knpu_hw_queue *hwq, struct knpu_context *ctx);
void knpu_busy_job_retired_locked(struct knpu_hw_queue *hwq);
u64 knpu_busy_ns(struct knpu_context *ctx);

#if IS_ENABLED(CONFIG_KUNIT)
void knpu_busy_start(struct knpu_hw_queue *hwq, struct knpu_context *ctx, u64 now);
void knpu_busy_stop(struct knpu_hw_queue *hwq, u64 now);
u64 knpu_busy_ns_at(struct knpu_context *ctx, u64 now);
#endif

void knpu_show_fdinfo(struct drm_printer *p, struct drm_file *file);

#endif /* __KNPU_FDINFO_H__ */
