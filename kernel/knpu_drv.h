/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_DRV_H__
#define __KNPU_DRV_H__

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/drm_print.h>

#define KNPU_DRIVER_NAME	"knpu"
#define KNPU_DRIVER_DESC	"KNPU PCIe neural processing unit"
#define KNPU_DRIVER_MAJOR	1
#define KNPU_DRIVER_MINOR	0

struct knpu_context;
struct knpu_hw_queue;

/**
 * struct knpu_hw_info - what the device reports about itself (hw-spec 3.1)
 * @hw_version: HW_VERSION, major << 16 | minor
 * @fw_version: FW_VERSION of the command processor
 * @num_cores: compute cores
 * @num_queues: hardware queues, each with an MSI-X vector
 * @num_asids: device address spaces
 * @va_bits: width of device virtual addresses
 * @sram_size: local SRAM per core, bytes
 * @dtypes: supported data types, a bit per type
 * @features: FEATURES register, KNPU_FEATURE_*
 * @devmem_size: on-board memory (BAR2), bytes
 * @ops: supported opcodes, a bit per opcode
 * @serial: serial number
 */
struct knpu_hw_info {
	u32 hw_version;
	u32 fw_version;
	u32 num_cores;
	u32 num_queues;
	u32 num_asids;
	u32 va_bits;
	u32 sram_size;
	u32 dtypes;
	u32 features;
	u64 devmem_size;
	u64 ops;
	u64 serial;
};

/**
 * struct knpu_device - one KNPU PCI function
 * @drm: the DRM device
 * @regs: BAR0, the register block
 * @info: identification and capabilities, read once at probe
 * @hwq: the hardware queues, @info.num_queues of them
 * @hwq_lock: serialises binding driver queues to hardware queues
 * @asid_xa: the device address spaces in use, ASID -> &struct knpu_context
 * @fences_cpu: the completion fence slots of all hardware queues
 * @fences_dma: their bus address
 * @reset_count: device resets done by recovery since probe, for sysfs
 */
struct knpu_device {
	struct drm_device drm;
	void __iomem *regs;
	struct knpu_hw_info info;

	struct knpu_hw_queue *hwq;
	/* Serialises binding driver queues to hardware queues. */
	struct mutex hwq_lock;

	struct xarray asid_xa;

	__le64 *fences_cpu;
	dma_addr_t fences_dma;

	atomic_t reset_count;
};

/**
 * struct knpu_file_priv - the state of one open file
 * @kdev: the device
 * @ctx: the file's device address space
 * @queues: the file's queues, queue_id -> &struct knpu_queue
 */
struct knpu_file_priv {
	struct knpu_device *kdev;
	struct knpu_context *ctx;
	struct xarray queues;
};

static inline struct knpu_device *to_knpu_device(struct drm_device *drm)
{
	return container_of(drm, struct knpu_device, drm);
}

extern unsigned int knpu_job_timeout_ms;

#endif /* __KNPU_DRV_H__ */
