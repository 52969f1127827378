/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_GEM_H__
#define __KNPU_GEM_H__

#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>

#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>

struct dma_buf;
struct dma_buf_attachment;
struct drm_printer;
struct knpu_context;
struct knpu_device;

/**
 * enum knpu_bo_type - where a buffer object's memory comes from
 * @KNPU_BO_TYPE_SHMEM: host memory from the shmem helper, or imported from a
 *	dma-buf (then obj->import_attach is set)
 * @KNPU_BO_TYPE_DEVMEM: on-board device memory (BAR2), from the buddy allocator
 * @KNPU_BO_TYPE_USERPTR: process memory pinned with pin_user_pages_fast()
 */
enum knpu_bo_type {
	KNPU_BO_TYPE_SHMEM,
	KNPU_BO_TYPE_DEVMEM,
	KNPU_BO_TYPE_USERPTR,
};

/**
 * struct knpu_bo_va - a buffer's mapping in one device address space
 * @link: in &knpu_bo.vas
 * @ctx: the address space (holds a reference)
 * @node: the VA range, followed by an unmapped guard page
 * @handles: handles of the buffer in files of @ctx
 */
struct knpu_bo_va {
	struct list_head link;
	struct knpu_context *ctx;
	struct drm_mm_node node;
	unsigned int handles;
};

/**
 * struct knpu_bo - a buffer object
 * @base: the GEM object; device-memory and userptr buffers use only
 *	@base.base and none of the shmem state
 * @type: where the memory comes from
 * @flags: the KNPU_BO_* flags it was created with
 * @owner: the address space charged for the host memory it pins, or NULL
 * @vas_lock: protects @vas; nests outside &knpu_context.lock
 * @vas: &struct knpu_bo_va of each address space the buffer is mapped in:
 *	mapped when a file gets a handle to it, unmapped when the file's last
 *	handle goes and no job uses it, else when the buffer is freed
 * @blocks: device-memory buffers: the buddy blocks, in VA order
 * @devmem_generation: device-memory buffers: &knpu_devmem.generation when
 *	it was created (knpu_bo_contents_lost())
 * @pages: userptr buffers: the pinned pages
 * @sgt: userptr buffers: @pages, DMA-mapped for the device
 * @dma_link: in &knpu_device.dma_bos while its pages are DMA-mapped
 */
struct knpu_bo {
	struct drm_gem_shmem_object base;
	enum knpu_bo_type type;
	u32 flags;
	struct knpu_context *owner;
	/* Protects @vas. */
	struct mutex vas_lock;
	struct list_head vas;
	struct list_head blocks;
	int devmem_generation;
	struct page **pages;
	struct sg_table sgt;
	struct list_head dma_link;
};

static inline struct knpu_bo *to_knpu_bo(struct drm_gem_object *obj)
{
	return container_of(to_drm_gem_shmem_obj(obj), struct knpu_bo, base);
}

struct drm_gem_object *knpu_gem_create_object(struct drm_device *dev, size_t size);

void knpu_bo_init(struct knpu_bo *bo, enum knpu_bo_type type, u32 flags);
void knpu_bo_fini(struct knpu_bo *bo);
void knpu_bo_track_dma(struct knpu_bo *bo);
void knpu_userptr_unmap_dma(struct knpu_bo *bo);
void knpu_bo_release_dma(struct knpu_bo *bo);
void knpu_bo_release_dma_all(struct knpu_device *kdev);
struct drm_gem_object *knpu_gem_prime_import_sg_table(struct drm_device *dev,
						      struct dma_buf_attachment *attach,
						      struct sg_table *sgt);
int knpu_bo_open(struct drm_gem_object *obj, struct drm_file *file);
void knpu_bo_close(struct drm_gem_object *obj, struct drm_file *file);
enum drm_gem_object_status knpu_bo_status(struct drm_gem_object *obj);
struct dma_buf *knpu_bo_prime_export(struct drm_gem_object *obj, int flags);
u64 knpu_bo_va(struct drm_gem_object *obj, struct knpu_context *ctx);
bool knpu_bo_is_mapped(struct drm_gem_object *obj, struct knpu_context *ctx);

int knpu_context_pin(struct knpu_context *ctx, u64 bytes);
void knpu_context_unpin(struct knpu_context *ctx, u64 bytes);

void knpu_gem_show_memory_stats(struct drm_printer *p, struct drm_file *file);

int knpu_bo_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_bo_info_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_bo_userptr_ioctl(struct drm_device *dev, void *data, struct drm_file *file);

#endif /* __KNPU_GEM_H__ */
