/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_RESET_H__
#define __KNPU_RESET_H__

#include <linux/pci.h>

#include "knpu_drv.h"

/* Times a device reset may interrupt a job before it is failed instead. */
#define KNPU_MAX_REPLAYS	1

extern const struct pci_error_handlers knpu_pci_err_handlers;

int knpu_reset_init(struct knpu_device *kdev);
void knpu_reset_schedule(struct knpu_device *kdev);
void knpu_device_lost(struct knpu_device *kdev);
int knpu_reset_lock_killable(struct knpu_device *kdev);

#endif /* __KNPU_RESET_H__ */
