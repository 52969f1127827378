/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_HWMON_H__
#define __KNPU_HWMON_H__

#include "knpu_drv.h"

int knpu_hwmon_init(struct knpu_device *kdev);

#endif /* __KNPU_HWMON_H__ */
