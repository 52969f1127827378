// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Buffers in on-board device memory (BAR2): blocks of a buddy allocator over
 * the device-memory offsets, mapped in device address spaces with DEVMEM
 * entries (hw-spec 6.1) and into processes through the BAR, write-combined.
 *
 * A conventional reset (a secondary bus reset, as AER recovery does for a
 * fatal error) clears device memory (hw-spec 9); soft resets and FLRs keep
 * it. Rather than trust its guess of which reset the device went through,
 * the driver keeps a random canary in the last page and reads it back after
 * every reset, as amdgpu does with its reset magic. A cleared canary starts
 * a new generation: buffers of older ones have lost their contents, which
 * BO_INFO reports, SUBMIT refuses (-ENODATA) and jobs that would run on them
 * fail with KNPU_ERR_DEVMEM_LOST.
 */

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_gem.h>
#include <drm/drm_managed.h>
#include <drm/drm_vma_manager.h>

#include "knpu_devmem.h"
#include "knpu_drv.h"
#include "knpu_gem.h"
#include "knpu_mmu.h"
#include "knpu_regs.h"

static void knpu_devmem_fini(struct drm_device *drm, void *arg)
{
	struct knpu_devmem *devmem = arg;

	gpu_buddy_free_list(&devmem->mm, &devmem->canary_blocks, 0);
	gpu_buddy_fini(&devmem->mm);
	mutex_destroy(&devmem->lock);
}

static u64 __iomem *knpu_devmem_canary_addr(struct knpu_devmem *devmem)
{
	return devmem->cpu + devmem->mm.size - KNPU_PAGE_SIZE;
}

static void knpu_devmem_write_canary(struct knpu_devmem *devmem)
{
	writeq(devmem->canary, knpu_devmem_canary_addr(devmem));
	/* Out of the write-combining buffer before anything can reset the device. */
	wmb();
	readq(knpu_devmem_canary_addr(devmem));
}

/**
 * knpu_devmem_init() - set up the allocator of device memory
 * @kdev: the device, its hardware info read
 *
 * A device without device memory leaves @kdev->devmem NULL.
 *
 * Return: 0 or a negative errno.
 */
int knpu_devmem_init(struct knpu_device *kdev)
{
	struct pci_dev *pdev = to_pci_dev(kdev->drm.dev);
	u64 size = kdev->info.devmem_size;
	struct knpu_devmem *devmem;
	int ret;

	if (!(kdev->info.features & KNPU_FEATURE_DEVMEM) || !size)
		return 0;

	if (pci_resource_len(pdev, KNPU_BAR_DEVMEM) < size) {
		drm_err(&kdev->drm, "BAR%d smaller than the device memory\n", KNPU_BAR_DEVMEM);
		return -ENODEV;
	}

	devmem = drmm_kzalloc(&kdev->drm, sizeof(*devmem), GFP_KERNEL);
	if (!devmem)
		return -ENOMEM;

	ret = pcim_request_region(pdev, KNPU_BAR_DEVMEM, KNPU_DRIVER_NAME);
	if (ret)
		return ret;

	devmem->bar_start = pci_resource_start(pdev, KNPU_BAR_DEVMEM);
	devmem->cpu = devm_ioremap_wc(&pdev->dev, devmem->bar_start, size);
	if (!devmem->cpu)
		return -ENOMEM;

	mutex_init(&devmem->lock);
	ret = gpu_buddy_init(&devmem->mm, size, KNPU_PAGE_SIZE);
	if (ret) {
		mutex_destroy(&devmem->lock);
		return ret;
	}

	INIT_LIST_HEAD(&devmem->canary_blocks);
	ret = drmm_add_action_or_reset(&kdev->drm, knpu_devmem_fini, devmem);
	if (ret)
		return ret;

	ret = gpu_buddy_alloc_blocks(&devmem->mm, size - KNPU_PAGE_SIZE, size, KNPU_PAGE_SIZE,
				     KNPU_PAGE_SIZE, &devmem->canary_blocks,
				     GPU_BUDDY_RANGE_ALLOCATION);
	if (ret)
		return ret;
	devmem->canary = get_random_u64() | 1;
	knpu_devmem_write_canary(devmem);

	kdev->devmem = devmem;
	return 0;
}

/**
 * knpu_devmem_alloc_blocks() - allocate device memory for a buffer
 * @mm: the allocator, its lock held by the caller
 * @size: bytes, page aligned
 * @blocks: receives the blocks, largest first
 *
 * The buddy allocator hands out naturally aligned power-of-two blocks, the
 * largest first, so a buffer mapped at a 2 MiB aligned VA gets 2 MiB device
 * pages for every block of 2 MiB or more.
 *
 * Return: 0, or -ENOMEM when the device memory is exhausted.
 */
int knpu_devmem_alloc_blocks(struct gpu_buddy *mm, u64 size, struct list_head *blocks)
{
	int ret;

	if (size > mm->avail)
		return -ENOMEM;

	ret = gpu_buddy_alloc_blocks(mm, 0, mm->size, size, KNPU_PAGE_SIZE, blocks, 0);
	/* Out of device memory is ENOMEM in the uapi; ENOSPC means out of VA. */
	return ret == -ENOSPC ? -ENOMEM : ret;
}

static void knpu_devmem_bo_free(struct drm_gem_object *obj)
{
	struct knpu_bo *bo = to_knpu_bo(obj);
	struct knpu_devmem *devmem = to_knpu_device(obj->dev)->devmem;

	knpu_bo_fini(bo);

	scoped_guard(mutex, &devmem->lock)
		gpu_buddy_free_list(&devmem->mm, &bo->blocks, 0);

	drm_gem_object_release(obj);
	kfree(bo);
}

static int knpu_devmem_bo_mmap(struct drm_gem_object *obj, struct vm_area_struct *vma)
{
	struct knpu_device *kdev = to_knpu_device(obj->dev);
	struct knpu_devmem *devmem = kdev->devmem;
	u64 start = (vma->vm_pgoff - drm_vma_node_start(&obj->vma_node)) << PAGE_SHIFT;
	u64 end = start + (vma->vm_end - vma->vm_start);
	struct knpu_bo *bo = to_knpu_bo(obj);
	struct gpu_buddy_block *block;
	u64 offset = 0;
	int ret = 0, idx;

	/* Private (copy-on-write) mappings of device memory make no sense. */
	if (is_cow_mapping(vma->vm_flags))
		return -EINVAL;

	if (!drm_dev_enter(obj->dev, &idx))
		return -ENODEV;

	/* drm_dev_unplug() zaps these mappings before the BAR goes away. */
	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
	vma->vm_page_prot = pgprot_decrypted(vma->vm_page_prot);

	list_for_each_entry(block, &bo->blocks, link) {
		u64 size = gpu_buddy_block_size(&devmem->mm, block);
		u64 lo = max(offset, start), hi = min(offset + size, end);

		if (lo < hi) {
			u64 bus = devmem->bar_start + gpu_buddy_block_offset(block) + lo - offset;

			ret = io_remap_pfn_range(vma, vma->vm_start + lo - start,
						 bus >> PAGE_SHIFT, hi - lo, vma->vm_page_prot);
			if (ret)
				break;
		}
		offset += size;
	}

	drm_dev_exit(idx);
	return ret;
}

static const struct vm_operations_struct knpu_devmem_vm_ops = {
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

static const struct drm_gem_object_funcs knpu_devmem_funcs = {
	.free = knpu_devmem_bo_free,
	.open = knpu_bo_open,
	.close = knpu_bo_close,
	.status = knpu_bo_status,
	.export = knpu_bo_prime_export,
	.mmap = knpu_devmem_bo_mmap,
	.vm_ops = &knpu_devmem_vm_ops,
};

/**
 * knpu_devmem_bo_create() - create a zeroed buffer in device memory
 * @kdev: the device
 * @size: bytes, page aligned, non-zero
 * @flags: KNPU_BO_* of the buffer
 *
 * Return: the buffer, with one reference, or an ERR_PTR(): -EOPNOTSUPP
 * without device memory, -ENOMEM when it is exhausted, -ENODEV.
 */
struct knpu_bo *knpu_devmem_bo_create(struct knpu_device *kdev, u64 size, u32 flags)
{
	struct knpu_devmem *devmem = kdev->devmem;
	struct gpu_buddy_block *block;
	struct knpu_bo *bo;
	int ret, idx;

	if (!devmem)
		return ERR_PTR(-EOPNOTSUPP);

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return ERR_PTR(-ENOMEM);

	knpu_bo_init(bo, KNPU_BO_TYPE_DEVMEM, flags);
	/* Before the memory is cleared: a reset in between loses it. */
	bo->devmem_generation = atomic_read(&devmem->generation);
	bo->base.base.funcs = &knpu_devmem_funcs;
	drm_gem_private_object_init(&kdev->drm, &bo->base.base, size);

	scoped_guard(mutex, &devmem->lock)
		ret = knpu_devmem_alloc_blocks(&devmem->mm, size, &bo->blocks);
	if (ret)
		goto err_put;

	if (!drm_dev_enter(&kdev->drm, &idx)) {
		ret = -ENODEV;
		goto err_put;
	}
	list_for_each_entry(block, &bo->blocks, link)
		memset_io(devmem->cpu + gpu_buddy_block_offset(block), 0,
			  gpu_buddy_block_size(&devmem->mm, block));
	drm_dev_exit(idx);

	return bo;

err_put:
	drm_gem_object_put(&bo->base.base);
	return ERR_PTR(ret);
}

/**
 * knpu_devmem_map_locked() - map a device-memory buffer at a device VA
 * @bo: the buffer
 * @ctx: the address space, its lock held
 * @va: where, reserved in @ctx->mm
 * @prot: permission bits, see knpu_pte_prot()
 *
 * Return: 0 or -ENOMEM, with nothing left mapped.
 */
int knpu_devmem_map_locked(struct knpu_bo *bo, struct knpu_context *ctx, u64 va, u64 prot)
{
	struct gpu_buddy *mm = &ctx->kdev->devmem->mm;
	struct gpu_buddy_block *block;
	u64 cur = va;
	int ret;

	lockdep_assert_held(&ctx->lock);

	list_for_each_entry(block, &bo->blocks, link) {
		u64 size = gpu_buddy_block_size(mm, block);

		ret = knpu_context_map_range_locked(ctx, cur, gpu_buddy_block_offset(block),
						    size, prot | KNPU_PTE_DEVMEM);
		if (ret) {
			knpu_context_unmap_locked(ctx, va, cur - va);
			return ret;
		}
		cur += size;
	}

	return 0;
}

/**
 * knpu_devmem_used() - bytes of device memory allocated now
 * @devmem: the device memory
 *
 * Every process's buffers and the driver's canary page.
 *
 * Return: the allocated bytes, in whole blocks.
 */
u64 knpu_devmem_used(struct knpu_devmem *devmem)
{
	guard(mutex)(&devmem->lock);
	return devmem->mm.size - devmem->mm.avail;
}

/**
 * knpu_devmem_check_after_reset() - find out whether a reset cleared device memory
 * @kdev: the device, reset and answering again
 *
 * Starts a new generation, and rewrites the canary, when it was cleared.
 * Called with &knpu_device.reset_lock held, before any job runs again.
 *
 * Return: true when device memory lost its contents.
 */
bool knpu_devmem_check_after_reset(struct knpu_device *kdev)
{
	struct knpu_devmem *devmem = kdev->devmem;

	lockdep_assert_held(&kdev->reset_lock);

	if (!devmem || readq(knpu_devmem_canary_addr(devmem)) == devmem->canary)
		return false;

	atomic_inc(&devmem->generation);
	knpu_devmem_write_canary(devmem);
	return true;
}

/**
 * knpu_bo_contents_lost() - a reset cleared the device memory of a buffer
 * @bo: any buffer; only device-memory buffers can lose their contents
 *
 * Return: true when device memory was cleared since @bo was created.
 */
bool knpu_bo_contents_lost(const struct knpu_bo *bo)
{
	struct knpu_devmem *devmem = to_knpu_device(bo->base.base.dev)->devmem;

	return bo->type == KNPU_BO_TYPE_DEVMEM &&
	       bo->devmem_generation != atomic_read(&devmem->generation);
}

/**
 * knpu_bos_contents_lost() - one of the buffers lost its contents
 * @bos: the buffers of a job
 * @count: how many
 *
 * Return: true when knpu_bo_contents_lost() is true for one of them.
 */
bool knpu_bos_contents_lost(struct drm_gem_object **bos, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++) {
		if (knpu_bo_contents_lost(to_knpu_bo(bos[i])))
			return true;
	}
	return false;
}
