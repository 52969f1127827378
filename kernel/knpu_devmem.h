/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_DEVMEM_H__
#define __KNPU_DEVMEM_H__

#include <linux/gpu_buddy.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct knpu_bo;
struct knpu_context;
struct knpu_device;

/**
 * struct knpu_devmem - the device's on-board memory (BAR2)
 * @lock: protects @mm
 * @mm: buddy allocator of device-memory offsets
 * @bar_start: bus address of BAR2, for CPU mappings
 * @cpu: BAR2 mapped write-combined, to clear new buffers
 */
struct knpu_devmem {
	/* Protects @mm. */
	struct mutex lock;
	struct gpu_buddy mm;
	resource_size_t bar_start;
	void __iomem *cpu;
};

int knpu_devmem_init(struct knpu_device *kdev);
int knpu_devmem_alloc_blocks(struct gpu_buddy *mm, u64 size, struct list_head *blocks);
struct knpu_bo *knpu_devmem_bo_create(struct knpu_device *kdev, u64 size, u32 flags);
int knpu_devmem_map_locked(struct knpu_bo *bo, struct knpu_context *ctx, u64 va, u64 prot);

#endif /* __KNPU_DEVMEM_H__ */
