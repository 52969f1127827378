/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_DRV_H__
#define __KNPU_DRV_H__

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/drm_print.h>

#define KNPU_DRIVER_NAME	"knpu"
#define KNPU_DRIVER_DESC	"KNPU PCIe neural processing unit"
#define KNPU_DRIVER_MAJOR	1
#define KNPU_DRIVER_MINOR	0

struct knpu_context;
struct knpu_devmem;
struct knpu_hw_queue;
struct vfsmount;

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
 * struct knpu_inject - faults armed for tests in debugfs (knpu_debugfs.c)
 * @submit_error: SUBMITs to fail with -ENOMEM at their last failure point
 * @lost_doorbell: doorbell writes to drop, so that the job waits for the
 *	watchdog
 * @device_error: SUBMITs after which the device is reset, as after an
 *	uncorrectable error
 *
 * Each counts the faults still to inject; knpu_inject_fault() takes one.
 */
struct knpu_inject {
	atomic_t submit_error;
	atomic_t lost_doorbell;
	atomic_t device_error;
};

/**
 * struct knpu_device - one KNPU PCI function
 * @drm: the DRM device
 * @regs: BAR0, the register block
 * @info: identification and capabilities, read once at probe
 * @hwq: the hardware queues, @info.num_queues of them
 * @hwq_lock: serialises binding driver queues to hardware queues
 * @asid_xa: the device address spaces in use, ASID -> &struct knpu_context;
 *	its lock (a leaf) makes clearing an address space's AS_ROOT and
 *	unlisting it one step against knpu_hw_as_restore_all()
 * @dma_bos_lock: protects @dma_bos; nests outside the buffers' reservation
 *	locks
 * @dma_bos: buffers whose pages are DMA-mapped for the device
 *	(&knpu_bo.dma_link), unmapped when the device is removed
 * @fences_cpu: the completion fence slots of all hardware queues
 * @fences_dma: their bus address
 * @recovery_wq: ordered: the hardware queues' watchdogs and device resets
 * @reset_work: resets the device after a device-fatal error
 * @reset_pending: a reset is queued or running; requests meanwhile join it
 * @reset_lock: serialises device resets (the driver's and the PCI core's)
 * @pci_recovering: the PCI core's error recovery has the device down, from
 *	error_detected() until resume() or a failed slot_reset(); protected by
 *	@reset_lock, which is not held in between (see knpu_reset.c)
 * @recovered: woken when @pci_recovering clears
 * @reset_count: device resets since probe
 * @lost: the device could not be recovered; every ioctl fails with -ENODEV
 * @devmem: the on-board memory allocator, NULL without device memory
 * @gemfs: the tmpfs mount host-memory buffers live on (2 MiB pages), or
 *	NULL for the shmem helper's default mount (knpu_gemfs.c)
 * @clock_lock: makes the two reads of the TIMESTAMP register one (a leaf lock)
 * @inject: faults armed for tests in debugfs
 */
struct knpu_device {
	struct drm_device drm;
	void __iomem *regs;
	struct knpu_hw_info info;

	struct knpu_hw_queue *hwq;
	/* Serialises binding driver queues to hardware queues. */
	struct mutex hwq_lock;

	struct xarray asid_xa;

	/* Protects @dma_bos. */
	struct mutex dma_bos_lock;
	struct list_head dma_bos;

	__le64 *fences_cpu;
	dma_addr_t fences_dma;

	struct workqueue_struct *recovery_wq;
	struct work_struct reset_work;
	atomic_t reset_pending;
	/* Serialises device resets. */
	struct mutex reset_lock;
	bool pci_recovering;
	wait_queue_head_t recovered;
	atomic_t reset_count;
	bool lost;
	struct knpu_devmem *devmem;
	struct vfsmount *gemfs;
	/* Makes the two reads of the TIMESTAMP register one; a leaf lock. */
	spinlock_t clock_lock;
	struct knpu_inject inject;
};

/**
 * knpu_inject_fault() - whether to inject a fault armed in debugfs
 * @armed: the fault's &struct knpu_inject member
 *
 * Takes one of the faults armed by writing a count to the fault's debugfs
 * file. Safe in any context.
 *
 * Return: true when the caller should fail.
 */
static inline bool knpu_inject_fault(atomic_t *armed)
{
	return atomic_dec_if_positive(armed) >= 0;
}

/* Hangs a file's jobs may cause before the file may submit no more. */
#define KNPU_FILE_MAX_HANGS	3

/**
 * struct knpu_file_priv - the state of one open file
 * @kdev: the device
 * @ctx: the file's device address space
 * @queues: the file's queues, queue_id -> &struct knpu_queue
 * @hangs: jobs of the file that hung a queue or the device
 */
struct knpu_file_priv {
	struct knpu_device *kdev;
	struct knpu_context *ctx;
	struct xarray queues;
	atomic_t hangs;
};

static inline struct knpu_device *to_knpu_device(struct drm_device *drm)
{
	return container_of(drm, struct knpu_device, drm);
}

extern unsigned int knpu_job_timeout_ms;
extern struct workqueue_struct *knpu_cleanup_wq;

/* The device is usable: not lost after a failed recovery. */
static inline bool knpu_device_usable(struct knpu_device *kdev)
{
	return !READ_ONCE(kdev->lost);
}

/* A file whose jobs keep hanging the device may submit no more. */
static inline bool knpu_file_banned(struct knpu_file_priv *fpriv)
{
	return atomic_read(&fpriv->hangs) >= KNPU_FILE_MAX_HANGS;
}

#endif /* __KNPU_DRV_H__ */
