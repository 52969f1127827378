// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Buffer objects: host memory (shmem, pinned for the buffer's life, or
 * imported from a dma-buf), device memory (knpu_devmem.c) and process memory
 * (knpu_userptr.c). A buffer is mapped into the device address space of each
 * file that has a handle to it (the creator's, and an importer's), at a VA
 * of its own in each.
 */

#include <linux/cleanup.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_prime.h>
#include <drm/drm_print.h>
#include <drm/knpu_accel.h>

#include "knpu_devmem.h"
#include "knpu_drv.h"
#include "knpu_gem.h"
#include "knpu_gemfs.h"
#include "knpu_mmu.h"

#define KNPU_BO_FLAGS	(KNPU_BO_DEVMEM | KNPU_BO_DEV_READONLY)

/*
 * Unmapped device VA left after every buffer, so that a job running past the
 * end of one buffer faults instead of writing into the next one.
 */
#define KNPU_BO_GUARD_SIZE	KNPU_PAGE_SIZE

static unsigned int knpu_pinned_limit_mb;
module_param_named(pinned_limit_mb, knpu_pinned_limit_mb, uint, 0644);
MODULE_PARM_DESC(pinned_limit_mb,
		 "Host memory the buffers of one open file may pin, MiB (0: no limit)");

/**
 * knpu_context_pin() - charge pinned host memory to an address space
 * @ctx: the address space of the file that creates the buffer
 * @bytes: how much the buffer pins
 *
 * Return: 0, or -ENOMEM when the file would pin more than pinned_limit_mb.
 */
int knpu_context_pin(struct knpu_context *ctx, u64 bytes)
{
	u64 limit = (u64)READ_ONCE(knpu_pinned_limit_mb) * SZ_1M;

	if (atomic64_add_return(bytes, &ctx->pinned_bytes) > limit && limit) {
		atomic64_sub(bytes, &ctx->pinned_bytes);
		return -ENOMEM;
	}
	return 0;
}

void knpu_context_unpin(struct knpu_context *ctx, u64 bytes)
{
	atomic64_sub(bytes, &ctx->pinned_bytes);
}

void knpu_bo_init(struct knpu_bo *bo, enum knpu_bo_type type, u32 flags)
{
	bo->type = type;
	bo->flags = flags;
	mutex_init(&bo->vas_lock);
	INIT_LIST_HEAD(&bo->vas);
	INIT_LIST_HEAD(&bo->blocks);
	INIT_LIST_HEAD(&bo->dma_link);
}

/**
 * knpu_bo_track_dma() - list a buffer whose pages were DMA-mapped for the device
 * @bo: the buffer
 *
 * The device's removal unmaps them (knpu_bo_release_dma_all()): the DMA API
 * allows no mapping to outlive the driver's binding, while buffers live as
 * long as their handles, mmaps and fences do.
 */
void knpu_bo_track_dma(struct knpu_bo *bo)
{
	struct knpu_device *kdev = to_knpu_device(bo->base.base.dev);

	guard(mutex)(&kdev->dma_bos_lock);
	list_add_tail(&bo->dma_link, &kdev->dma_bos);
}

/* Unmaps the buffer's pages from the device; they stay pinned until it is freed. */
static void knpu_bo_unmap_dma_locked(struct knpu_device *kdev, struct knpu_bo *bo)
{
	struct drm_gem_object *obj = &bo->base.base;

	lockdep_assert_held(&kdev->dma_bos_lock);

	dma_resv_lock(obj->resv, NULL);
	if (bo->type == KNPU_BO_TYPE_USERPTR) {
		knpu_userptr_unmap_dma(bo);
	} else if (obj->import_attach) {
		/* The exporter frees the table; the shmem helper then only detaches. */
		dma_buf_unmap_attachment(obj->import_attach, bo->base.sgt, DMA_BIDIRECTIONAL);
		bo->base.sgt = NULL;
	} else {
		/* As ivpu does: the shmem helper then only puts the pages. */
		dma_unmap_sgtable(obj->dev->dev, bo->base.sgt, DMA_BIDIRECTIONAL, 0);
		sg_free_table(bo->base.sgt);
		kfree(bo->base.sgt);
		bo->base.sgt = NULL;
	}
	dma_resv_unlock(obj->resv);
	list_del_init(&bo->dma_link);
}

/**
 * knpu_bo_release_dma() - unmap a buffer's pages from the device, if still mapped
 * @bo: the buffer, being freed
 */
void knpu_bo_release_dma(struct knpu_bo *bo)
{
	struct knpu_device *kdev = to_knpu_device(bo->base.base.dev);

	guard(mutex)(&kdev->dma_bos_lock);
	if (!list_empty(&bo->dma_link))
		knpu_bo_unmap_dma_locked(kdev, bo);
}

/**
 * knpu_bo_release_dma_all() - unmap every buffer's pages from a removed device
 * @kdev: the device, reset: it no longer accesses memory
 */
void knpu_bo_release_dma_all(struct knpu_device *kdev)
{
	struct knpu_bo *bo, *next;

	guard(mutex)(&kdev->dma_bos_lock);
	list_for_each_entry_safe(bo, next, &kdev->dma_bos, dma_link)
		knpu_bo_unmap_dma_locked(kdev, bo);
}

static void knpu_bo_unmap(struct knpu_bo *bo, struct knpu_bo_va *bva)
{
	struct knpu_context *ctx = bva->ctx;

	lockdep_assert_held(&bo->vas_lock);

	scoped_guard(mutex, &ctx->lock) {
		knpu_context_unmap_locked(ctx, bva->node.start, bo->base.base.size);
		drm_mm_remove_node(&bva->node);
	}
	list_del(&bva->link);
	knpu_context_put(ctx);
	kfree(bva);
}

/**
 * knpu_bo_fini() - unmap a buffer everywhere and drop its pinned charge
 * @bo: the buffer, being freed
 */
void knpu_bo_fini(struct knpu_bo *bo)
{
	struct knpu_bo_va *bva, *next;

	scoped_guard(mutex, &bo->vas_lock) {
		list_for_each_entry_safe(bva, next, &bo->vas, link)
			knpu_bo_unmap(bo, bva);
	}
	mutex_destroy(&bo->vas_lock);

	if (bo->owner) {
		knpu_context_unpin(bo->owner, bo->base.base.size);
		knpu_context_put(bo->owner);
	}
}

static struct knpu_bo_va *knpu_bo_find_va(struct knpu_bo *bo, struct knpu_context *ctx)
{
	struct knpu_bo_va *bva;

	lockdep_assert_held(&bo->vas_lock);

	list_for_each_entry(bva, &bo->vas, link) {
		if (bva->ctx == ctx)
			return bva;
	}
	return NULL;
}

/**
 * knpu_bo_va() - a buffer's device VA in an address space
 * @obj: the buffer
 * @ctx: the address space
 *
 * Return: the VA, or 0 when the buffer is not mapped in @ctx.
 */
u64 knpu_bo_va(struct drm_gem_object *obj, struct knpu_context *ctx)
{
	struct knpu_bo *bo = to_knpu_bo(obj);
	struct knpu_bo_va *bva;

	guard(mutex)(&bo->vas_lock);
	bva = knpu_bo_find_va(bo, ctx);
	return bva ? bva->node.start : 0;
}

/**
 * knpu_bo_is_mapped() - whether a job of @ctx may use a buffer
 * @obj: the buffer
 * @ctx: the address space of the job
 *
 * Return: true when @obj is mapped in @ctx.
 */
bool knpu_bo_is_mapped(struct drm_gem_object *obj, struct knpu_context *ctx)
{
	return knpu_bo_va(obj, ctx);
}

/*
 * The pages' DMA mapping is read under @ctx's lock: a device removal unmaps
 * the pages only after it has freed every address space's page tables, each
 * under its lock (knpu_remove()), and the map then fails with -ENODEV.
 */
static int knpu_bo_map_pages_locked(struct knpu_bo *bo, struct knpu_context *ctx, u64 va)
{
	u64 prot = knpu_pte_prot(bo->flags & KNPU_BO_DEV_READONLY);

	lockdep_assert_held(&ctx->lock);

	switch (bo->type) {
	case KNPU_BO_TYPE_DEVMEM:
		return knpu_devmem_map_locked(bo, ctx, va, prot);
	case KNPU_BO_TYPE_USERPTR:
		return knpu_context_map_locked(ctx, va, &bo->sgt, prot);
	default:
		return knpu_context_map_locked(ctx, va, bo->base.sgt, prot);
	}
}

static struct knpu_bo_va *knpu_bo_map(struct knpu_bo *bo, struct knpu_context *ctx)
{
	u64 size = bo->base.base.size;
	struct knpu_bo_va *bva;
	int ret;

	lockdep_assert_held(&bo->vas_lock);

	bva = kzalloc(sizeof(*bva), GFP_KERNEL);
	if (!bva)
		return ERR_PTR(-ENOMEM);

	scoped_guard(mutex, &ctx->lock) {
		ret = drm_mm_insert_node_in_range(&ctx->mm, &bva->node,
						  size + KNPU_BO_GUARD_SIZE,
						  size >= KNPU_BLOCK_SIZE ?
						  KNPU_BLOCK_SIZE : KNPU_PAGE_SIZE,
						  0, KNPU_VA_START,
						  KNPU_VA_START + KNPU_VA_SIZE,
						  DRM_MM_INSERT_BEST);
		if (!ret) {
			ret = knpu_bo_map_pages_locked(bo, ctx, bva->node.start);
			if (ret)
				drm_mm_remove_node(&bva->node);
		}
	}
	if (ret) {
		kfree(bva);
		return ERR_PTR(ret);
	}

	bva->ctx = knpu_context_get(ctx);
	list_add_tail(&bva->link, &bo->vas);
	return bva;
}

/**
 * knpu_bo_open() - map a buffer into the address space of a new handle's file
 * @obj: the buffer
 * @file: the file that got a handle to it
 *
 * Return: 0 or a negative errno, which fails the handle's creation.
 */
int knpu_bo_open(struct drm_gem_object *obj, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct knpu_bo *bo = to_knpu_bo(obj);
	struct knpu_bo_va *bva;

	guard(mutex)(&bo->vas_lock);

	bva = knpu_bo_find_va(bo, fpriv->ctx);
	if (!bva) {
		bva = knpu_bo_map(bo, fpriv->ctx);
		if (IS_ERR(bva))
			return PTR_ERR(bva);
	}
	bva->handles++;
	return 0;
}

/**
 * knpu_bo_close() - a handle of a buffer is going away
 * @obj: the buffer
 * @file: the file the handle was in
 *
 * The file's last handle unmaps the buffer from the file's address space,
 * unless a job may still use it there: a job holds the buffer, not a
 * handle, so then the mapping stays until the buffer is freed.
 */
void knpu_bo_close(struct drm_gem_object *obj, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct knpu_bo *bo = to_knpu_bo(obj);
	struct knpu_bo_va *bva;

	guard(mutex)(&bo->vas_lock);

	bva = knpu_bo_find_va(bo, fpriv->ctx);
	if (drm_WARN_ON(obj->dev, !bva || !bva->handles))
		return;
	if (--bva->handles)
		return;
	if (dma_resv_test_signaled(obj->resv, DMA_RESV_USAGE_BOOKKEEP))
		knpu_bo_unmap(bo, bva);
}

enum drm_gem_object_status knpu_bo_status(struct drm_gem_object *obj)
{
	/* Every kind of buffer holds its memory from creation to free. */
	return DRM_GEM_OBJECT_RESIDENT;
}

/**
 * knpu_bo_prime_export() - export a buffer as a dma-buf
 * @obj: the buffer
 * @flags: the dma-buf file's flags
 *
 * Only host-memory buffers can be shared: device memory would need PCIe
 * peer-to-peer, and a userptr buffer's pages belong to its process.
 *
 * Return: the dma-buf, or ERR_PTR(-EOPNOTSUPP) for other buffers.
 */
struct dma_buf *knpu_bo_prime_export(struct drm_gem_object *obj, int flags)
{
	if (to_knpu_bo(obj)->type != KNPU_BO_TYPE_SHMEM)
		return ERR_PTR(-EOPNOTSUPP);
	return drm_gem_prime_export(obj, flags);
}

static void knpu_shmem_bo_free(struct drm_gem_object *obj)
{
	struct knpu_bo *bo = to_knpu_bo(obj);

	knpu_bo_fini(bo);
	knpu_bo_release_dma(bo);
	drm_gem_shmem_free(&bo->base);
}

static const struct drm_gem_object_funcs knpu_gem_funcs = {
	.free = knpu_shmem_bo_free,
	.open = knpu_bo_open,
	.close = knpu_bo_close,
	.print_info = drm_gem_shmem_object_print_info,
	.export = knpu_bo_prime_export,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.status = knpu_bo_status,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

/* Host-memory buffers, created here or by a dma-buf import. */
struct drm_gem_object *knpu_gem_create_object(struct drm_device *dev, size_t size)
{
	struct knpu_bo *bo;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return ERR_PTR(-ENOMEM);

	knpu_bo_init(bo, KNPU_BO_TYPE_SHMEM, 0);
	bo->base.base.funcs = &knpu_gem_funcs;
	/* The device snoops host memory: CPU mappings stay cached. */
	bo->base.map_wc = false;

	return &bo->base.base;
}

static struct knpu_bo *knpu_shmem_bo_create(struct drm_device *dev,
					    struct knpu_context *owner, u64 size, u32 flags)
{
	struct drm_gem_shmem_object *shmem;
	struct sg_table *sgt;
	struct knpu_bo *bo;
	int ret;

	/* Pinned for its whole life: a buffer larger than RAM cannot be. */
	if (size > (u64)totalram_pages() << PAGE_SHIFT)
		return ERR_PTR(-ENOMEM);

	shmem = drm_gem_shmem_create(dev, size);
	if (IS_ERR(shmem))
		return ERR_CAST(shmem);

	bo = to_knpu_bo(&shmem->base);
	bo->flags = flags;

	ret = knpu_gemfs_attach(to_knpu_device(dev), &shmem->base);
	if (ret)
		goto err_put;

	ret = knpu_context_pin(owner, size);
	if (ret)
		goto err_put;
	bo->owner = knpu_context_get(owner);

	sgt = drm_gem_shmem_get_pages_sgt(shmem);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto err_put;
	}
	knpu_bo_track_dma(bo);

	return bo;

err_put:
	drm_gem_object_put(&shmem->base);
	return ERR_PTR(ret);
}

/**
 * knpu_gem_prime_import_sg_table() - a buffer for a dma-buf of another device
 * @dev: the importing device
 * @attach: the dma-buf's attachment to @dev
 * @sgt: its pages, mapped for @dev by the exporter
 *
 * Return: the buffer, or an ERR_PTR().
 */
struct drm_gem_object *knpu_gem_prime_import_sg_table(struct drm_device *dev,
						      struct dma_buf_attachment *attach,
						      struct sg_table *sgt)
{
	struct drm_gem_object *obj = drm_gem_shmem_prime_import_sg_table(dev, attach, sgt);

	if (!IS_ERR(obj))
		knpu_bo_track_dma(to_knpu_bo(obj));
	return obj;
}

int knpu_bo_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_bo_create *args = data;
	u64 size = PAGE_ALIGN(args->size);
	struct knpu_bo *bo;
	int ret;

	if (args->flags & ~KNPU_BO_FLAGS)
		return -EINVAL;
	if (!args->size || !size)
		return -EINVAL;
	if (size > KNPU_VA_SIZE)
		return -ENOSPC;

	if (args->flags & KNPU_BO_DEVMEM)
		bo = knpu_devmem_bo_create(fpriv->kdev, size, args->flags);
	else
		bo = knpu_shmem_bo_create(dev, fpriv->ctx, size, args->flags);
	if (IS_ERR(bo))
		return PTR_ERR(bo);

	/* Maps it into the file's address space (knpu_bo_open()). */
	ret = drm_gem_handle_create(file, &bo->base.base, &args->handle);
	if (!ret)
		args->va = knpu_bo_va(&bo->base.base, fpriv->ctx);

	drm_gem_object_put(&bo->base.base);
	return ret;
}

int knpu_bo_info_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;
	struct drm_knpu_bo_info *args = data;
	struct drm_gem_object *obj;
	int ret;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;

	ret = drm_gem_create_mmap_offset(obj);
	if (!ret) {
		args->flags = to_knpu_bo(obj)->flags;
		args->size = obj->size;
		args->mmap_offset = drm_vma_node_offset_addr(&obj->vma_node);
		args->va = knpu_bo_va(obj, fpriv->ctx);
		args->state = knpu_bo_contents_lost(to_knpu_bo(obj)) ?
			      KNPU_BO_STATE_CONTENTS_LOST : 0;
		args->pad = 0;
	}

	drm_gem_object_put(obj);
	return ret;
}

/**
 * knpu_gem_show_memory_stats() - fdinfo memory keys of a file, per region
 * @p: the fdinfo printer
 * @file: the file
 *
 * Like drm_show_memory_stats(), with the regions "system" (host memory,
 * including userptr and imported buffers) and "device" (device memory).
 * Every buffer is resident; it is active while a job uses it.
 */
void knpu_gem_show_memory_stats(struct drm_printer *p, struct drm_file *file)
{
	struct drm_memory_stats system = {}, device = {};
	struct drm_gem_object *obj;
	int id;

	spin_lock(&file->table_lock);
	idr_for_each_entry(&file->object_idr, obj, id) {
		struct drm_memory_stats *stats = to_knpu_bo(obj)->type == KNPU_BO_TYPE_DEVMEM ?
						 &device : &system;

		if (drm_gem_object_is_shared_for_memory_stats(obj))
			stats->shared += obj->size;
		else
			stats->private += obj->size;
		stats->resident += obj->size;
		if (!dma_resv_test_signaled(obj->resv, DMA_RESV_USAGE_BOOKKEEP))
			stats->active += obj->size;
	}
	spin_unlock(&file->table_lock);

	drm_print_memory_stats(p, &system, DRM_GEM_OBJECT_RESIDENT, "system");
	drm_print_memory_stats(p, &device, DRM_GEM_OBJECT_RESIDENT, "device");
}
