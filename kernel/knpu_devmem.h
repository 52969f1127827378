/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_DEVMEM_H__
#define __KNPU_DEVMEM_H__

#include <linux/atomic.h>
#include <linux/gpu_buddy.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct drm_gem_object;
struct knpu_bo;
struct knpu_context;
struct knpu_device;

/**
 * struct knpu_devmem - the device's on-board memory (BAR2)
 * @lock: protects @mm
 * @mm: buddy allocator of device-memory offsets
 * @bar_start: bus address of BAR2, for CPU mappings
 * @cpu: BAR2 mapped write-combined, to clear new buffers
 * @canary_blocks: the last page, which no buffer gets: it holds @canary
 * @canary: a random value; a reset that clears device memory clears it too
 * @generation: bumped each time a reset cleared device memory; a buffer
 *	created in an older generation has lost its contents
 */
struct knpu_devmem {
	/* Protects @mm. */
	struct mutex lock;
	struct gpu_buddy mm;
	resource_size_t bar_start;
	void __iomem *cpu;
	struct list_head canary_blocks;
	u64 canary;
	atomic_t generation;
};

int knpu_devmem_init(struct knpu_device *kdev);
int knpu_devmem_alloc_blocks(struct gpu_buddy *mm, u64 size, struct list_head *blocks);
struct knpu_bo *knpu_devmem_bo_create(struct knpu_device *kdev, u64 size, u32 flags);
int knpu_devmem_map_locked(struct knpu_bo *bo, struct knpu_context *ctx, u64 va, u64 prot);
u64 knpu_devmem_used(struct knpu_devmem *devmem);
bool knpu_devmem_check_after_reset(struct knpu_device *kdev);
bool knpu_bo_contents_lost(const struct knpu_bo *bo);
bool knpu_bos_contents_lost(struct drm_gem_object **bos, u32 count);

#endif /* __KNPU_DEVMEM_H__ */
