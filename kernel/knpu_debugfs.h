/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_DEBUGFS_H__
#define __KNPU_DEBUGFS_H__

#include "knpu_drv.h"

#if IS_ENABLED(CONFIG_DEBUG_FS)
void knpu_debugfs_init(struct knpu_device *kdev);
#else
static inline void knpu_debugfs_init(struct knpu_device *kdev) { }
#endif

#endif /* __KNPU_DEBUGFS_H__ */
