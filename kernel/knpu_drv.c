// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * DRM accel driver for KNPU PCIe neural processing units.
 */

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include <drm/drm_accel.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/knpu_accel.h>

#include "knpu_debugfs.h"
#include "knpu_devmem.h"
#include "knpu_drv.h"
#include "knpu_fdinfo.h"
#include "knpu_gem.h"
#include "knpu_gemfs.h"
#include "knpu_hw.h"
#include "knpu_hwmon.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_mmu.h"
#include "knpu_queue.h"
#include "knpu_reset.h"
#include "knpu_sysfs.h"

unsigned int knpu_job_timeout_ms = 10000;
module_param_named(job_timeout_ms, knpu_job_timeout_ms, uint, 0444);
MODULE_PARM_DESC(job_timeout_ms,
		 "Time the oldest job of a queue may make no progress before the queue is reset and banned (ms, 0: no limit)");

/* Drops what finished jobs hold, away from the schedulers' workqueues. */
struct workqueue_struct *knpu_cleanup_wq;

#define KNPU_CAPS	(KNPU_CAP_USERPTR | KNPU_CAP_DMABUF | KNPU_CAP_SYNC_FILE | \
			 KNPU_CAP_TIMELINE_SYNCOBJ | KNPU_CAP_SUBMIT_BATCH)

static int knpu_get_param_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct knpu_device *kdev = to_knpu_device(dev);
	struct pci_dev *pdev = to_pci_dev(dev->dev);
	struct drm_knpu_get_param *args = data;
	const struct knpu_hw_info *info = &kdev->info;
	int ret = 0, idx;

	if (args->pad)
		return -EINVAL;

	switch (args->param) {
	case KNPU_PARAM_UAPI_VERSION:
		args->value = KNPU_UAPI_VERSION_MAJOR << 16 | KNPU_UAPI_VERSION_MINOR;
		break;
	case KNPU_PARAM_DEVICE_ID:
		args->value = pdev->device;
		break;
	case KNPU_PARAM_REVISION:
		args->value = pdev->revision;
		break;
	case KNPU_PARAM_HW_VERSION:
		args->value = info->hw_version;
		break;
	case KNPU_PARAM_FW_VERSION:
		args->value = info->fw_version;
		break;
	case KNPU_PARAM_NUM_CORES:
		args->value = info->num_cores;
		break;
	case KNPU_PARAM_NUM_QUEUES:
		args->value = info->num_queues;
		break;
	case KNPU_PARAM_SRAM_SIZE:
		args->value = info->sram_size;
		break;
	case KNPU_PARAM_DEVMEM_SIZE:
		args->value = info->devmem_size;
		break;
	case KNPU_PARAM_VA_START:
		args->value = KNPU_VA_START;
		break;
	case KNPU_PARAM_VA_SIZE:
		args->value = KNPU_VA_SIZE;
		break;
	case KNPU_PARAM_OPS:
		args->value = info->ops;
		break;
	case KNPU_PARAM_DTYPES:
		args->value = info->dtypes;
		break;
	case KNPU_PARAM_CAPS:
		args->value = KNPU_CAPS | (kdev->devmem ? KNPU_CAP_DEVMEM : 0) |
			      (info->features & KNPU_FEATURE_JOB_TIMESTAMPS ?
			       KNPU_CAP_JOB_TIMESTAMPS : 0);
		break;
	case KNPU_PARAM_SERIAL:
		args->value = info->serial;
		break;
	case KNPU_PARAM_CLOCK_MHZ:
		if (!drm_dev_enter(dev, &idx))
			return -ENODEV;
		args->value = knpu_rd(kdev, KNPU_REG_CLOCK);
		drm_dev_exit(idx);
		break;
	default:
		ret = -EINVAL;
	}

	return ret;
}

static int knpu_open(struct drm_device *dev, struct drm_file *file)
{
	struct knpu_device *kdev = to_knpu_device(dev);
	struct knpu_file_priv *fpriv;

	fpriv = kzalloc(sizeof(*fpriv), GFP_KERNEL);
	if (!fpriv)
		return -ENOMEM;

	fpriv->kdev = kdev;
	xa_init_flags(&fpriv->queues, XA_FLAGS_ALLOC1);
	atomic_set(&fpriv->hangs, 0);

	fpriv->ctx = knpu_context_create(kdev);
	if (IS_ERR(fpriv->ctx)) {
		int ret = PTR_ERR(fpriv->ctx);

		kfree(fpriv);
		return ret;
	}

	file->driver_priv = fpriv;
	return 0;
}

static void knpu_postclose(struct drm_device *dev, struct drm_file *file)
{
	struct knpu_file_priv *fpriv = file->driver_priv;

	knpu_queue_destroy_all(fpriv);
	xa_destroy(&fpriv->queues);
	/* Buffers still alive (held by jobs or exported) keep the context. */
	knpu_context_put(fpriv->ctx);
	kfree(fpriv);
}

typedef int (*knpu_ioctl_t)(struct drm_device *dev, void *data, struct drm_file *file);

/*
 * drm_ioctl() fails every ioctl with -ENODEV once the device is unplugged;
 * so does the driver once it is lost. An ioctl that writes to the device
 * holds drm_dev_enter() throughout so that remove() waits for it; the others
 * may block (WAIT) and only check on entry.
 */
static int knpu_ioctl_live(knpu_ioctl_t fn, struct drm_device *dev, void *data,
			   struct drm_file *file)
{
	if (!knpu_device_usable(to_knpu_device(dev)))
		return -ENODEV;

	return fn(dev, data, file);
}

static int knpu_ioctl_hw(knpu_ioctl_t fn, struct drm_device *dev, void *data,
			 struct drm_file *file)
{
	int ret, idx;

	if (!drm_dev_enter(dev, &idx))
		return -ENODEV;
	ret = knpu_ioctl_live(fn, dev, data, file);
	drm_dev_exit(idx);

	return ret;
}

static int knpu_ioctl_get_param(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_live(knpu_get_param_ioctl, dev, data, file);
}

static int knpu_ioctl_bo_create(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_hw(knpu_bo_create_ioctl, dev, data, file);
}

static int knpu_ioctl_bo_info(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_live(knpu_bo_info_ioctl, dev, data, file);
}

static int knpu_ioctl_bo_userptr(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_hw(knpu_bo_userptr_ioctl, dev, data, file);
}

static int knpu_ioctl_queue_create(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_live(knpu_queue_create_ioctl, dev, data, file);
}

static int knpu_ioctl_queue_destroy(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_live(knpu_queue_destroy_ioctl, dev, data, file);
}

static int knpu_ioctl_submit(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_live(knpu_submit_ioctl, dev, data, file);
}

static int knpu_ioctl_submit_batch(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_live(knpu_submit_batch_ioctl, dev, data, file);
}

static int knpu_ioctl_wait(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_live(knpu_wait_ioctl, dev, data, file);
}

static int knpu_ioctl_queue_status(struct drm_device *dev, void *data, struct drm_file *file)
{
	return knpu_ioctl_live(knpu_queue_status_ioctl, dev, data, file);
}

static const struct drm_ioctl_desc knpu_ioctls[] = {
	DRM_IOCTL_DEF_DRV(KNPU_GET_PARAM, knpu_ioctl_get_param, 0),
	DRM_IOCTL_DEF_DRV(KNPU_BO_CREATE, knpu_ioctl_bo_create, 0),
	DRM_IOCTL_DEF_DRV(KNPU_BO_INFO, knpu_ioctl_bo_info, 0),
	DRM_IOCTL_DEF_DRV(KNPU_BO_USERPTR, knpu_ioctl_bo_userptr, 0),
	DRM_IOCTL_DEF_DRV(KNPU_QUEUE_CREATE, knpu_ioctl_queue_create, 0),
	DRM_IOCTL_DEF_DRV(KNPU_QUEUE_DESTROY, knpu_ioctl_queue_destroy, 0),
	DRM_IOCTL_DEF_DRV(KNPU_SUBMIT, knpu_ioctl_submit, 0),
	DRM_IOCTL_DEF_DRV(KNPU_WAIT, knpu_ioctl_wait, 0),
	DRM_IOCTL_DEF_DRV(KNPU_QUEUE_STATUS, knpu_ioctl_queue_status, 0),
	DRM_IOCTL_DEF_DRV(KNPU_SUBMIT_BATCH, knpu_ioctl_submit_batch, 0),
};

/*
 * The DRM core serves GET_UNIQUE and GET_MAGIC to every client without a
 * permission flag and dereferences the file's master in both, but accel
 * files have no master (drm_open_helper() creates one for primary nodes
 * only): on 6.12 either ioctl oopses the kernel. The core dispatches on the
 * number alone, whatever the type, size and direction bits.
 */
static bool knpu_core_ioctl_needs_master(unsigned int cmd)
{
	switch (DRM_IOCTL_NR(cmd)) {
	case DRM_IOCTL_NR(DRM_IOCTL_GET_UNIQUE):
	case DRM_IOCTL_NR(DRM_IOCTL_GET_MAGIC):
		return true;
	default:
		return false;
	}
}

static long knpu_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	if (knpu_core_ioctl_needs_master(cmd))
		return -EOPNOTSUPP;
	return drm_ioctl(filp, cmd, arg);
}

#ifdef CONFIG_COMPAT
static long knpu_compat_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	if (knpu_core_ioctl_needs_master(cmd))
		return -EOPNOTSUPP;
	return drm_compat_ioctl(filp, cmd, arg);
}
#else
#define knpu_compat_ioctl NULL
#endif

static const struct file_operations knpu_fops = {
	.owner = THIS_MODULE,
	.open = accel_open,
	.release = drm_release,
	.unlocked_ioctl = knpu_ioctl,
	.compat_ioctl = knpu_compat_ioctl,
	.poll = drm_poll,
	.read = drm_read,
	.llseek = noop_llseek,
	.mmap = drm_gem_mmap,
	.show_fdinfo = drm_show_fdinfo,
	.fop_flags = FOP_UNSIGNED_OFFSET,
};

static const struct drm_driver knpu_driver = {
	.driver_features = DRIVER_GEM | DRIVER_COMPUTE_ACCEL | DRIVER_SYNCOBJ |
			   DRIVER_SYNCOBJ_TIMELINE,
	.open = knpu_open,
	.postclose = knpu_postclose,
	.show_fdinfo = knpu_show_fdinfo,
	.gem_create_object = knpu_gem_create_object,
	.gem_prime_import_sg_table = knpu_gem_prime_import_sg_table,
	.ioctls = knpu_ioctls,
	.num_ioctls = ARRAY_SIZE(knpu_ioctls),
	.fops = &knpu_fops,
	.name = KNPU_DRIVER_NAME,
	.desc = KNPU_DRIVER_DESC,
	.major = KNPU_DRIVER_MAJOR,
	.minor = KNPU_DRIVER_MINOR,
};

static void knpu_xa_fini(struct drm_device *drm, void *arg)
{
	struct knpu_device *kdev = to_knpu_device(drm);

	drm_WARN_ON(drm, !xa_empty(&kdev->asid_xa));
	xa_destroy(&kdev->asid_xa);
}

static int knpu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct knpu_device *kdev;
	int ret;

	kdev = devm_drm_dev_alloc(dev, &knpu_driver, struct knpu_device, drm);
	if (IS_ERR(kdev))
		return PTR_ERR(kdev);

	pci_set_drvdata(pdev, kdev);
	spin_lock_init(&kdev->clock_lock);

	ret = drmm_mutex_init(&kdev->drm, &kdev->hwq_lock);
	if (ret)
		return ret;

	ret = drmm_mutex_init(&kdev->drm, &kdev->dma_bos_lock);
	if (ret)
		return ret;
	INIT_LIST_HEAD(&kdev->dma_bos);

	xa_init_flags(&kdev->asid_xa, XA_FLAGS_ALLOC);
	ret = drmm_add_action_or_reset(&kdev->drm, knpu_xa_fini, NULL);
	if (ret)
		return ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;

	if (pci_resource_len(pdev, KNPU_BAR_REGS) < KNPU_BAR_REGS_SIZE) {
		drm_err(&kdev->drm, "BAR%d too small\n", KNPU_BAR_REGS);
		return -ENODEV;
	}

	kdev->regs = pcim_iomap_region(pdev, KNPU_BAR_REGS, KNPU_DRIVER_NAME);
	if (IS_ERR(kdev->regs))
		return PTR_ERR(kdev->regs);

	/* Page-table entries hold bus addresses up to bit 51. */
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(52));
	if (ret)
		return ret;
	/*
	 * The device reaches memory through its MMU, page by page: a segment
	 * of a buffer's scatterlist may be any length (the default, 64 KiB,
	 * made DMA-API debugging warn on every larger buffer).
	 */
	dma_set_max_seg_size(dev, UINT_MAX);

	pci_set_master(pdev);

	ret = knpu_hw_init(kdev);
	if (ret)
		return ret;

	ret = knpu_reset_init(kdev);
	if (ret)
		return ret;

	ret = knpu_devmem_init(kdev);
	if (ret)
		return ret;

	ret = knpu_gemfs_init(kdev);
	if (ret)
		return ret;

	ret = knpu_hwq_init_all(kdev);
	if (ret)
		return ret;

	ret = knpu_hw_irq_init(kdev);
	if (ret)
		return ret;

	knpu_hw_enable(kdev);
	/* What slot_reset() restores after a PCI error. */
	pci_save_state(pdev);

	ret = knpu_hwmon_init(kdev);
	if (ret)
		goto err_reset;

	knpu_debugfs_init(kdev);

	ret = drm_dev_register(&kdev->drm, 0);
	if (ret)
		goto err_reset;

	return 0;

err_reset:
	knpu_hw_reset(kdev);
	return ret;
}

static void knpu_remove(struct pci_dev *pdev)
{
	struct knpu_device *kdev = pci_get_drvdata(pdev);

	/* No ioctl or hardware access from here on (drm_dev_enter() fails). */
	drm_dev_unplug(&kdev->drm);

	/* Stop all DMA, then fail what was in flight. */
	knpu_hw_reset(kdev);
	knpu_jobs_abort_all(kdev);

	/*
	 * No DMA mapping may outlive the binding, but files, buffers and fences
	 * may: free the page tables, then unmap the buffers' pages (in this
	 * order, see knpu_bo_map_pages_locked()).
	 */
	knpu_contexts_unplug(kdev);
	knpu_bo_release_dma_all(kdev);
}

static const struct pci_device_id knpu_pci_ids[] = {
	{ PCI_DEVICE(KNPU_PCI_VENDOR_ID, KNPU_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, knpu_pci_ids);

static struct pci_driver knpu_pci_driver = {
	.name = KNPU_DRIVER_NAME,
	.id_table = knpu_pci_ids,
	.probe = knpu_probe,
	.remove = knpu_remove,
	.err_handler = &knpu_pci_err_handlers,
	.dev_groups = knpu_sysfs_groups,
};

static int __init knpu_init(void)
{
	int ret;

	knpu_cleanup_wq = alloc_workqueue("knpu-cleanup", WQ_UNBOUND, 0);
	if (!knpu_cleanup_wq)
		return -ENOMEM;

	ret = pci_register_driver(&knpu_pci_driver);
	if (ret)
		destroy_workqueue(knpu_cleanup_wq);
	return ret;
}
module_init(knpu_init);

static void __exit knpu_exit(void)
{
	pci_unregister_driver(&knpu_pci_driver);
	/* Jobs freed after their device was removed are dropped here. */
	destroy_workqueue(knpu_cleanup_wq);
}
module_exit(knpu_exit);

MODULE_AUTHOR("The knpu authors");
MODULE_DESCRIPTION(KNPU_DRIVER_DESC " driver");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
