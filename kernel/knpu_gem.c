// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Buffer objects: shmem-backed GEM objects, pinned and mapped into the
 * creating file's device address space for their whole life.
 */

#include <linux/cleanup.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/knpu_accel.h>

#include "knpu_drv.h"
#include "knpu_gem.h"
#include "knpu_mmu.h"

#define KNPU_BO_FLAGS	(KNPU_BO_DEVMEM | KNPU_BO_DEV_READONLY)

/*
 * Unmapped device VA left after every buffer, so that a job running past the
 * end of one buffer faults instead of writing into the next one.
 */
#define KNPU_BO_GUARD_SIZE	KNPU_PAGE_SIZE

static void knpu_bo_free(struct drm_gem_object *obj)
{
	struct knpu_bo *bo = to_knpu_bo(obj);
	struct knpu_context *ctx = bo->ctx;

	if (ctx) {
		scoped_guard(mutex, &ctx->lock) {
			knpu_context_unmap_locked(ctx, bo->va.start, obj->size);
			drm_mm_remove_node(&bo->va);
		}
		knpu_context_put(ctx);
	}

	drm_gem_shmem_free(&bo->base);
}

static enum drm_gem_object_status knpu_bo_status(struct drm_gem_object *obj)
{
	/* Pages are pinned from creation to free. */
	return to_knpu_bo(obj)->ctx ? DRM_GEM_OBJECT_RESIDENT : 0;
}

static const struct drm_gem_object_funcs knpu_gem_funcs = {
	.free = knpu_bo_free,
	.print_info = drm_gem_shmem_object_print_info,
	.mmap = drm_gem_shmem_object_mmap,
	.status = knpu_bo_status,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

struct drm_gem_object *knpu_gem_create_object(struct drm_device *dev, size_t size)
{
	struct knpu_bo *bo;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return ERR_PTR(-ENOMEM);

	bo->base.base.funcs = &knpu_gem_funcs;
	/* The device snoops host memory: CPU mappings stay cached. */
	bo->base.map_wc = false;

	return &bo->base.base;
}

static int knpu_bo_map(struct knpu_bo *bo, struct knpu_context *ctx)
{
	size_t size = bo->base.base.size;
	struct sg_table *sgt;
	int ret;

	sgt = drm_gem_shmem_get_pages_sgt(&bo->base);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);

	scoped_guard(mutex, &ctx->lock) {
		ret = drm_mm_insert_node_in_range(&ctx->mm, &bo->va,
						  size + KNPU_BO_GUARD_SIZE,
						  size >= KNPU_BLOCK_SIZE ?
						  KNPU_BLOCK_SIZE : KNPU_PAGE_SIZE,
						  0, KNPU_VA_START,
						  KNPU_VA_START + KNPU_VA_SIZE,
						  DRM_MM_INSERT_BEST);
		if (ret)
			return ret;

		ret = knpu_context_map_locked(ctx, bo->va.start, sgt,
					      knpu_pte_prot(bo->flags & KNPU_BO_DEV_READONLY));
		if (ret) {
			drm_mm_remove_node(&bo->va);
			return ret;
		}
	}

	bo->ctx = knpu_context_get(ctx);
	return 0;
}

int knpu_bo_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_bo_create *args = data;
	struct drm_gem_shmem_object *shmem;
	struct knpu_bo *bo;
	int ret;

	if (args->flags & ~KNPU_BO_FLAGS)
		return -EINVAL;
	if (args->flags & KNPU_BO_DEVMEM)
		return -EOPNOTSUPP;
	if (!args->size)
		return -EINVAL;
	if (args->size > KNPU_VA_SIZE)
		return -ENOSPC;
	/* Pinned for its whole life: a buffer larger than RAM cannot be. */
	if (args->size > (u64)totalram_pages() << PAGE_SHIFT)
		return -ENOMEM;

	shmem = drm_gem_shmem_create(dev, PAGE_ALIGN(args->size));
	if (IS_ERR(shmem))
		return PTR_ERR(shmem);

	bo = to_knpu_bo(&shmem->base);
	bo->flags = args->flags;

	ret = knpu_bo_map(bo, fpriv->ctx);
	if (ret)
		goto out_put;

	ret = drm_gem_handle_create(file, &shmem->base, &args->handle);
	if (ret)
		goto out_put;

	args->va = bo->va.start;

out_put:
	drm_gem_object_put(&shmem->base);
	return ret;
}

int knpu_bo_info_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_bo_info *args = data;
	struct drm_gem_object *obj;
	struct knpu_bo *bo;
	int ret;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;

	bo = to_knpu_bo(obj);
	ret = drm_gem_create_mmap_offset(obj);
	if (!ret) {
		args->flags = bo->flags;
		args->size = obj->size;
		args->mmap_offset = drm_vma_node_offset_addr(&obj->vma_node);
		/* A buffer has a VA only in the address space of its creator. */
		args->va = bo->ctx == fpriv->ctx ? bo->va.start : 0;
	}

	drm_gem_object_put(obj);
	return ret;
}

int knpu_bo_userptr_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	/* KNPU_CAP_USERPTR is not advertised. */
	return -EOPNOTSUPP;
}
