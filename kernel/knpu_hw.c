// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 */

#include <linux/bitfield.h>
#include <linux/interrupt.h>
#include <linux/iopoll.h>
#include <linux/ktime.h>
#include <linux/pci.h>

#include "knpu_hw.h"
#include "knpu_hwq.h"
#include "knpu_mmu.h"
#include "knpu_reset.h"
#include "knpu_trace.h"

#define KNPU_READY_TIMEOUT_US	100000
#define KNPU_EVENT_MASK		(KNPU_EVENT_UNCORRECTABLE | KNPU_EVENT_CORRECTABLE | \
				 KNPU_EVENT_THERMAL)

static int knpu_hw_wait_ready(struct knpu_device *kdev, u32 events)
{
	u32 status;
	int ret;

	ret = readl_poll_timeout(kdev->regs + KNPU_REG_DEV_STATUS, status,
				 status & KNPU_DEV_STATUS_READY, 10,
				 KNPU_READY_TIMEOUT_US);
	if (ret)
		return ret;

	if (!events)
		return 0;

	return readl_poll_timeout(kdev->regs + KNPU_REG_EVENT_STATUS, status,
				  (status & events) == events, 10,
				  KNPU_READY_TIMEOUT_US);
}

/**
 * knpu_hw_reset() - soft reset the device (hw-spec 9)
 * @kdev: the device
 *
 * Aborts every job and disables every queue and the MMU. When it returns 0
 * the device no longer accesses host memory for anything submitted before.
 *
 * Return: 0, or -ETIMEDOUT if the device did not come back.
 */
int knpu_hw_reset(struct knpu_device *kdev)
{
	int ret;

	knpu_wr(kdev, KNPU_REG_EVENT_STATUS, KNPU_EVENT_ALL);
	knpu_wr(kdev, KNPU_REG_SOFT_RESET, KNPU_SOFT_RESET_MAGIC);
	ret = knpu_hw_wait_ready(kdev, KNPU_EVENT_RESET_DONE);
	knpu_wr(kdev, KNPU_REG_EVENT_STATUS, KNPU_EVENT_RESET_DONE);
	if (ret)
		drm_err(&kdev->drm, "device did not complete a soft reset\n");
	trace_knpu_device_reset(kdev->drm.dev, ret);

	return ret;
}

/**
 * knpu_hw_sync_irqs() - wait for the device's interrupt handlers to finish
 * @kdev: the device
 *
 * After a reset: a handler still running read the device as it was before.
 */
void knpu_hw_sync_irqs(struct knpu_device *kdev)
{
	struct pci_dev *pdev = to_pci_dev(kdev->drm.dev);
	unsigned int v;

	for (v = 0; v < kdev->info.num_queues + 1; v++)
		synchronize_irq(pci_irq_vector(pdev, v));
}

/**
 * knpu_hw_check_alive() - check the device answers, after a reset
 * @kdev: the device
 *
 * Return: 0, or -ENODEV if it reads as gone (all ones) or as another device.
 */
int knpu_hw_check_alive(struct knpu_device *kdev)
{
	u32 id = knpu_rd(kdev, KNPU_REG_ID);

	if (id != KNPU_ID_MAGIC) {
		drm_err(&kdev->drm, "device does not answer after a reset: ID 0x%08x\n", id);
		return -ENODEV;
	}

	return 0;
}

static int knpu_hw_read_info(struct knpu_device *kdev)
{
	struct knpu_hw_info *info = &kdev->info;
	u32 id, config0, major, minor;

	id = knpu_rd(kdev, KNPU_REG_ID);
	if (id != KNPU_ID_MAGIC) {
		drm_err(&kdev->drm, "unexpected ID register 0x%08x\n", id);
		return -ENODEV;
	}

	info->hw_version = knpu_rd(kdev, KNPU_REG_HW_VERSION);
	major = FIELD_GET(KNPU_HW_VERSION_MAJOR, info->hw_version);
	minor = FIELD_GET(KNPU_HW_VERSION_MINOR, info->hw_version);
	if (major != 1) {
		drm_err(&kdev->drm, "unsupported hardware version %u.%u\n", major, minor);
		return -ENODEV;
	}

	config0 = knpu_rd(kdev, KNPU_REG_CONFIG0);
	info->num_cores = FIELD_GET(KNPU_CONFIG0_NUM_CORES, config0);
	info->num_queues = FIELD_GET(KNPU_CONFIG0_NUM_QUEUES, config0);
	info->num_asids = FIELD_GET(KNPU_CONFIG0_NUM_ASIDS, config0);
	info->va_bits = FIELD_GET(KNPU_CONFIG0_VA_BITS, config0);
	info->fw_version = knpu_rd(kdev, KNPU_REG_FW_VERSION);
	info->sram_size = knpu_rd(kdev, KNPU_REG_SRAM_SIZE);
	info->devmem_size = knpu_rd64(kdev, KNPU_REG_DEVMEM_SIZE_LO);
	info->dtypes = knpu_rd(kdev, KNPU_REG_DTYPES);
	info->ops = knpu_rd64(kdev, KNPU_REG_OPS_LO);
	info->features = knpu_rd(kdev, KNPU_REG_FEATURES);
	info->serial = knpu_rd64(kdev, KNPU_REG_SERIAL_LO);

	if (!info->num_cores || !info->num_queues || info->num_queues > KNPU_MAX_QUEUES ||
	    !info->num_asids || info->va_bits != KNPU_VA_BITS) {
		drm_err(&kdev->drm, "bad configuration: %u cores, %u queues, %u ASIDs, %u VA bits\n",
			info->num_cores, info->num_queues, info->num_asids,
			info->va_bits);
		return -ENODEV;
	}

	drm_info(&kdev->drm, "KNPU hw %u.%u fw %u.%u.%u: %u cores, %u queues, %u ASIDs, %llu MiB device memory\n",
		 major, minor, info->fw_version >> 24, (info->fw_version >> 16) & 0xff,
		 info->fw_version & 0xffff, info->num_cores, info->num_queues,
		 info->num_asids, info->devmem_size / SZ_1M);

	return 0;
}

/**
 * knpu_hw_clock_sample() - read the device clock against CLOCK_MONOTONIC
 * @kdev: the device
 * @sample: the two clocks at one instant (the middle of the register read)
 *
 * Sampled at each completion that converts job times, so the device clock's
 * drift against the host's never accumulates.
 */
void knpu_hw_clock_sample(struct knpu_device *kdev, struct knpu_clock_sample *sample)
{
	unsigned long flags;
	u64 before, after;

	spin_lock_irqsave(&kdev->clock_lock, flags);
	before = ktime_get_ns();
	sample->device_ns = knpu_rd64(kdev, KNPU_REG_TIMESTAMP_LO);
	after = ktime_get_ns();
	spin_unlock_irqrestore(&kdev->clock_lock, flags);
	sample->mono_ns = before + (after - before) / 2;
}

/**
 * knpu_hw_init() - the first part of the initialisation handshake (hw-spec 4)
 * @kdev: the device
 *
 * Resets the device into a known state, checks its identity and reads its
 * capabilities into &knpu_device.info.
 *
 * Return: 0 or a negative errno.
 */
int knpu_hw_init(struct knpu_device *kdev)
{
	int ret;

	ret = knpu_hw_wait_ready(kdev, 0);
	if (ret) {
		drm_err(&kdev->drm, "device not ready\n");
		return ret;
	}

	ret = knpu_hw_read_info(kdev);
	if (ret)
		return ret;

	/* A previous driver instance may have left queues running. */
	return knpu_hw_reset(kdev);
}

/**
 * knpu_hw_enable() - the rest of the handshake, once interrupts are set up
 * @kdev: the device
 */
void knpu_hw_enable(struct knpu_device *kdev)
{
	knpu_wr(kdev, KNPU_REG_EVENT_STATUS, KNPU_EVENT_ALL);
	knpu_wr(kdev, KNPU_REG_EVENT_MASK, KNPU_EVENT_MASK);
	knpu_wr(kdev, KNPU_REG_MMU_CTRL, KNPU_MMU_CTRL_ENABLE);
	knpu_wr(kdev, KNPU_REG_DEV_CTRL, KNPU_DEV_CTRL_ENABLE);
}

static irqreturn_t knpu_hw_event_irq(int irq, void *arg)
{
	struct knpu_device *kdev = arg;
	u32 events;

	events = knpu_rd(kdev, KNPU_REG_EVENT_STATUS);
	if (!events || events == U32_MAX)
		return IRQ_NONE;

	knpu_wr(kdev, KNPU_REG_EVENT_STATUS, events);

	if (events & KNPU_EVENT_UNCORRECTABLE) {
		drm_err_ratelimited(&kdev->drm, "uncorrectable device error, resetting it\n");
		knpu_reset_schedule(kdev);
	}
	if (events & KNPU_EVENT_CORRECTABLE)
		drm_dbg_driver(&kdev->drm, "correctable device error\n");
	if (events & KNPU_EVENT_THERMAL)
		dev_warn_ratelimited(kdev->drm.dev, "thermal event, status 0x%08x\n",
				     knpu_rd(kdev, KNPU_REG_DEV_STATUS));

	return IRQ_HANDLED;
}

/**
 * knpu_hw_irq_init() - allocate the MSI-X vectors and install the handlers
 * @kdev: the device
 *
 * One vector per hardware queue and one for device events (hw-spec 1).
 *
 * Return: 0 or a negative errno.
 */
int knpu_hw_irq_init(struct knpu_device *kdev)
{
	struct pci_dev *pdev = to_pci_dev(kdev->drm.dev);
	unsigned int nvec = kdev->info.num_queues + 1;
	unsigned int q;
	int ret;

	ret = pci_alloc_irq_vectors(pdev, nvec, nvec, PCI_IRQ_MSIX);
	if (ret < 0) {
		drm_err(&kdev->drm, "cannot allocate %u MSI-X vectors: %d\n", nvec, ret);
		return ret;
	}

	for (q = 0; q < kdev->info.num_queues; q++) {
		ret = knpu_hwq_irq_init(&kdev->hwq[q], pci_irq_vector(pdev, q));
		if (ret)
			return ret;
	}

	return devm_request_irq(kdev->drm.dev, pci_irq_vector(pdev, q),
				knpu_hw_event_irq, 0, "knpu-event", kdev);
}

/**
 * knpu_hw_as_set_root() - make an address space valid
 * @kdev: the device
 * @asid: the address space
 * @root: bus address of its level-0 page table
 */
void knpu_hw_as_set_root(struct knpu_device *kdev, u32 asid, dma_addr_t root)
{
	knpu_wr(kdev, KNPU_REG_AS_ROOT_HI(asid), upper_32_bits(root));
	knpu_wr(kdev, KNPU_REG_AS_ROOT_LO(asid),
		(lower_32_bits(root) & KNPU_AS_ROOT_ADDR_LO) | KNPU_AS_ROOT_VALID);
	knpu_hw_tlb_invalidate(kdev, asid);
}

/**
 * knpu_hw_as_clear_locked() - make an address space invalid
 * @kdev: the device
 * @asid: the address space, about to leave &knpu_device.asid_xa
 *
 * Under the lock of &knpu_device.asid_xa, together with the removal of
 * @asid from it, so that knpu_hw_as_restore_all() never sees an address
 * space that is cleared but still listed and makes it valid again.
 */
void knpu_hw_as_clear_locked(struct knpu_device *kdev, u32 asid)
{
	lockdep_assert_held(&kdev->asid_xa.xa_lock);

	knpu_wr(kdev, KNPU_REG_AS_ROOT_LO(asid), 0);
	knpu_wr(kdev, KNPU_REG_AS_ROOT_HI(asid), 0);
	knpu_hw_tlb_invalidate(kdev, asid);
}

/**
 * knpu_hw_as_restore_all() - make every address space in use valid again
 * @kdev: the device, after a reset cleared its AS_ROOT registers
 */
void knpu_hw_as_restore_all(struct knpu_device *kdev)
{
	struct knpu_context *ctx;
	unsigned long asid;

	/* knpu_context_release() clears and unlists an ASID under this lock. */
	xa_lock(&kdev->asid_xa);
	xa_for_each(&kdev->asid_xa, asid, ctx)
		knpu_hw_as_set_root(kdev, asid, ctx->root.dma);
	xa_unlock(&kdev->asid_xa);
}

/**
 * knpu_hw_tlb_invalidate() - drop the device's cached translations
 * @kdev: the device
 * @asid: the address space
 *
 * Returns once the invalidation is complete: a register read after the
 * write only completes after it (hw-spec 3.3). writel() orders the preceding
 * page-table writes before the invalidation.
 */
void knpu_hw_tlb_invalidate(struct knpu_device *kdev, u32 asid)
{
	knpu_wr(kdev, KNPU_REG_MMU_TLB_INVAL, FIELD_PREP(KNPU_MMU_TLB_INVAL_ASID, asid));
	knpu_rd(kdev, KNPU_REG_MMU_FAULT_COUNT);
}
