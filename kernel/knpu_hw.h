/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_HW_H__
#define __KNPU_HW_H__

#include <linux/io.h>

#include "knpu_drv.h"
#include "knpu_regs.h"

static inline u32 knpu_rd(struct knpu_device *kdev, u32 reg)
{
	return readl(kdev->regs + reg);
}

static inline void knpu_wr(struct knpu_device *kdev, u32 reg, u32 val)
{
	writel(val, kdev->regs + reg);
}

/* Reads _LO first: that latches _HI for the free-running counters. */
static inline u64 knpu_rd64(struct knpu_device *kdev, u32 reg_lo)
{
	u32 lo = knpu_rd(kdev, reg_lo);

	return (u64)knpu_rd(kdev, reg_lo + 4) << 32 | lo;
}

/**
 * struct knpu_clock_sample - the device clock and CLOCK_MONOTONIC at one instant
 * @device_ns: the TIMESTAMP register
 * @mono_ns: ktime_get_ns() at the middle of its read
 */
struct knpu_clock_sample {
	u64 device_ns;
	u64 mono_ns;
};

void knpu_hw_clock_sample(struct knpu_device *kdev, struct knpu_clock_sample *sample);

/* @device_ns, a device clock time not after @sample, on CLOCK_MONOTONIC. */
static inline u64 knpu_clock_to_mono(const struct knpu_clock_sample *sample, u64 device_ns)
{
	u64 age = sample->device_ns > device_ns ? sample->device_ns - device_ns : 0;

	return sample->mono_ns > age ? sample->mono_ns - age : 0;
}

int knpu_hw_init(struct knpu_device *kdev);
void knpu_hw_enable(struct knpu_device *kdev);
int knpu_hw_reset(struct knpu_device *kdev);
void knpu_hw_sync_irqs(struct knpu_device *kdev);
int knpu_hw_check_alive(struct knpu_device *kdev);
int knpu_hw_irq_init(struct knpu_device *kdev);

void knpu_hw_as_set_root(struct knpu_device *kdev, u32 asid, dma_addr_t root);
void knpu_hw_as_clear_locked(struct knpu_device *kdev, u32 asid);
void knpu_hw_as_restore_all(struct knpu_device *kdev);
void knpu_hw_tlb_invalidate(struct knpu_device *kdev, u32 asid);

#endif /* __KNPU_HW_H__ */
