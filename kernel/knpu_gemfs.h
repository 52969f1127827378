/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_GEMFS_H__
#define __KNPU_GEMFS_H__

struct drm_gem_object;
struct knpu_device;

int knpu_gemfs_init(struct knpu_device *kdev);
int knpu_gemfs_attach(struct knpu_device *kdev, struct drm_gem_object *obj);

#endif /* __KNPU_GEMFS_H__ */
