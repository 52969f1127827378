// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * userptr buffers: process memory pinned for the buffer's whole life
 * (FOLL_LONGTERM, so it is never in a movable zone or CMA) and mapped in
 * the device address space, read-only when the process asks for it.
 */

#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/knpu_accel.h>

#include "knpu_drv.h"
#include "knpu_gem.h"
#include "knpu_mmu.h"

/**
 * knpu_userptr_dma_dir() - how a userptr buffer's pages are DMA-mapped
 * @bo: the buffer
 *
 * Return: %DMA_TO_DEVICE for a buffer the device only reads, else
 * %DMA_BIDIRECTIONAL.
 */
static enum dma_data_direction knpu_userptr_dma_dir(const struct knpu_bo *bo)
{
	return bo->flags & KNPU_BO_DEV_READONLY ? DMA_TO_DEVICE : DMA_BIDIRECTIONAL;
}

/*
 * A process may wrap the same pages in more than one buffer, so the pages
 * are mapped with DMA_ATTR_SKIP_CPU_SYNC and synced by hand, as i915 and xe
 * map theirs: the DMA API (and its debugging, which refuses overlapping
 * writable mappings otherwise) leaves the cache maintenance to the driver.
 * The syncs do what the mapping and unmapping would have done.
 */
static int knpu_userptr_map_dma(struct device *dev, struct knpu_bo *bo)
{
	enum dma_data_direction dir = knpu_userptr_dma_dir(bo);
	int ret;

	ret = dma_map_sgtable(dev, &bo->sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		return ret;
	dma_sync_sgtable_for_device(dev, &bo->sgt, dir);
	return 0;
}

/**
 * knpu_userptr_unmap_dma() - unmaps a userptr buffer's pages from the device
 * @bo: the buffer, mapped
 *
 * The pages stay pinned until the buffer is freed.
 */
void knpu_userptr_unmap_dma(struct knpu_bo *bo)
{
	struct device *dev = bo->base.base.dev->dev;
	enum dma_data_direction dir = knpu_userptr_dma_dir(bo);

	dma_sync_sgtable_for_cpu(dev, &bo->sgt, dir);
	dma_unmap_sgtable(dev, &bo->sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
}

static void knpu_userptr_release_pages(struct knpu_bo *bo, unsigned long npages)
{
	unpin_user_pages_dirty_lock(bo->pages, npages,
				    !(bo->flags & KNPU_BO_DEV_READONLY));
	kvfree(bo->pages);
	bo->pages = NULL;
}

static void knpu_userptr_free(struct drm_gem_object *obj)
{
	struct knpu_bo *bo = to_knpu_bo(obj);

	knpu_bo_fini(bo);
	knpu_bo_release_dma(bo);

	if (bo->pages) {
		sg_free_table(&bo->sgt);
		knpu_userptr_release_pages(bo, obj->size >> PAGE_SHIFT);
	}

	drm_gem_object_release(obj);
	kfree(bo);
}

/* No mmap: the process has the memory already. */
static const struct drm_gem_object_funcs knpu_userptr_funcs = {
	.free = knpu_userptr_free,
	.open = knpu_bo_open,
	.close = knpu_bo_close,
	.status = knpu_bo_status,
	.export = knpu_bo_prime_export,
};

static int knpu_userptr_pin(struct knpu_bo *bo, u64 user_ptr)
{
	unsigned long npages = bo->base.base.size >> PAGE_SHIFT;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct device *dev = bo->base.base.dev->dev;
	int pinned, ret;

	if (!(bo->flags & KNPU_BO_DEV_READONLY))
		gup_flags |= FOLL_WRITE;

	bo->pages = kvmalloc_array(npages, sizeof(*bo->pages), GFP_KERNEL);
	if (!bo->pages)
		return -ENOMEM;

	pinned = pin_user_pages_fast(user_ptr, npages, gup_flags, bo->pages);
	if (pinned != npages) {
		/* A hole, a mapping without the access asked for, or I/O memory. */
		ret = pinned < 0 ? pinned : -EFAULT;
		knpu_userptr_release_pages(bo, max(pinned, 0));
		return ret;
	}

	ret = sg_alloc_table_from_pages(&bo->sgt, bo->pages, npages, 0,
					bo->base.base.size, GFP_KERNEL);
	if (ret)
		goto err_unpin;

	ret = knpu_userptr_map_dma(dev, bo);
	if (ret)
		goto err_sgt;
	knpu_bo_track_dma(bo);

	return 0;

err_sgt:
	sg_free_table(&bo->sgt);
err_unpin:
	knpu_userptr_release_pages(bo, npages);
	return ret;
}

int knpu_bo_userptr_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_bo_userptr *args = data;
	struct knpu_bo *bo;
	int ret;

	if (args->flags & ~KNPU_BO_DEV_READONLY)
		return -EINVAL;
	if (!args->size || !PAGE_ALIGNED(args->user_ptr) || !PAGE_ALIGNED(args->size) ||
	    args->user_ptr + args->size < args->user_ptr)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(args->user_ptr), args->size))
		return -EFAULT;
	if (args->size > KNPU_VA_SIZE)
		return -ENOSPC;
	if (args->size >> PAGE_SHIFT > totalram_pages())
		return -ENOMEM;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return -ENOMEM;

	knpu_bo_init(bo, KNPU_BO_TYPE_USERPTR, args->flags);
	bo->base.base.funcs = &knpu_userptr_funcs;
	drm_gem_private_object_init(dev, &bo->base.base, args->size);

	ret = knpu_context_pin(fpriv->ctx, args->size);
	if (ret)
		goto out_put;
	bo->owner = knpu_context_get(fpriv->ctx);

	ret = knpu_userptr_pin(bo, args->user_ptr);
	if (ret)
		goto out_put;

	/* Maps it into the file's address space (knpu_bo_open()). */
	ret = drm_gem_handle_create(file, &bo->base.base, &args->handle);
	if (ret)
		goto out_put;

	args->va = knpu_bo_va(&bo->base.base, fpriv->ctx);

out_put:
	drm_gem_object_put(&bo->base.base);
	return ret;
}
