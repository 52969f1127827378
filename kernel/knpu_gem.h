/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_GEM_H__
#define __KNPU_GEM_H__

#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>

struct knpu_context;

/**
 * struct knpu_bo - a buffer object in host memory
 * @base: the shmem GEM object; its pages stay pinned while mapped
 * @ctx: the address space the buffer is mapped into
 * @va: the buffer's device VA range in @ctx
 * @flags: the KNPU_BO_* flags it was created with
 */
struct knpu_bo {
	struct drm_gem_shmem_object base;
	struct knpu_context *ctx;
	struct drm_mm_node va;
	u32 flags;
};

static inline struct knpu_bo *to_knpu_bo(struct drm_gem_object *obj)
{
	return container_of(to_drm_gem_shmem_obj(obj), struct knpu_bo, base);
}

struct drm_gem_object *knpu_gem_create_object(struct drm_device *dev, size_t size);

int knpu_bo_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_bo_info_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
int knpu_bo_userptr_ioctl(struct drm_device *dev, void *data, struct drm_file *file);

#endif /* __KNPU_GEM_H__ */
