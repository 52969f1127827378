/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_SYSFS_H__
#define __KNPU_SYSFS_H__

#include <linux/sysfs.h>
#include <linux/types.h>

extern const struct attribute_group *knpu_sysfs_groups[];

#if IS_ENABLED(CONFIG_KUNIT)
const char *knpu_device_state(u32 dev_status);
const char *knpu_throttle_reasons(u32 dev_status);
#endif

#endif /* __KNPU_SYSFS_H__ */
