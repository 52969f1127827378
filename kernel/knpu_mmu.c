// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Device address spaces: one per open file, each with its own ASID and a
 * four-level page table in coherent host memory (hw-spec 6).
 */

#include <linux/dma-mapping.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>

#include "knpu_hw.h"
#include "knpu_mmu.h"

static int knpu_pt_init(struct knpu_device *kdev, struct knpu_pt *pt, bool leaf)
{
	pt->entries = dma_alloc_coherent(kdev->drm.dev, KNPU_PT_SIZE, &pt->dma,
					 GFP_KERNEL);
	if (!pt->entries)
		return -ENOMEM;

	if (leaf)
		return 0;

	pt->children = kcalloc(KNPU_PT_ENTRIES, sizeof(*pt->children), GFP_KERNEL);
	if (!pt->children) {
		dma_free_coherent(kdev->drm.dev, KNPU_PT_SIZE, pt->entries, pt->dma);
		return -ENOMEM;
	}

	return 0;
}

static void knpu_pt_fini(struct knpu_device *kdev, struct knpu_pt *pt)
{
	unsigned int i;

	if (pt->children) {
		for (i = 0; i < KNPU_PT_ENTRIES; i++) {
			if (!pt->children[i])
				continue;
			knpu_pt_fini(kdev, pt->children[i]);
			kfree(pt->children[i]);
		}
		kfree(pt->children);
	}
	dma_free_coherent(kdev->drm.dev, KNPU_PT_SIZE, pt->entries, pt->dma);
}

/*
 * The level-3 table that maps @va, created on the way down when @alloc.
 * Returns NULL when it does not exist and !@alloc.
 */
static struct knpu_pt *knpu_pt_walk_locked(struct knpu_context *ctx, u64 va,
					   bool alloc)
{
	struct knpu_pt *pt = &ctx->root;
	unsigned int level;

	lockdep_assert_held(&ctx->lock);

	for (level = 0; level < KNPU_PT_LEVELS - 1; level++) {
		unsigned int idx = knpu_va_index(va, level);
		struct knpu_pt *child = pt->children[idx];
		int ret;

		if (!child) {
			if (!alloc)
				return NULL;

			child = kzalloc(sizeof(*child), GFP_KERNEL);
			if (!child)
				return ERR_PTR(-ENOMEM);

			ret = knpu_pt_init(ctx->kdev, child, level + 1 == KNPU_PT_LEVELS - 1);
			if (ret) {
				kfree(child);
				return ERR_PTR(ret);
			}

			pt->children[idx] = child;
			WRITE_ONCE(pt->entries[idx], cpu_to_le64(knpu_pte_table(child->dma)));
		}
		pt = child;
	}

	return pt;
}

/**
 * knpu_context_map_locked() - map DMA-mapped pages at a device VA
 * @ctx: the address space
 * @va: where, page aligned, in a range reserved in @ctx->mm
 * @sgt: the pages, DMA-mapped for the device
 * @prot: leaf permission bits, see knpu_pte_prot()
 *
 * New entries need no TLB invalidation (hw-spec 6.3). On failure the pages
 * mapped so far are unmapped again.
 *
 * Return: 0 or -ENOMEM.
 */
int knpu_context_map_locked(struct knpu_context *ctx, u64 va,
			    struct sg_table *sgt, u64 prot)
{
	struct sg_dma_page_iter iter;
	u64 cur = va;

	lockdep_assert_held(&ctx->lock);

	for_each_sgtable_dma_page(sgt, &iter, 0) {
		struct knpu_pt *pt = knpu_pt_walk_locked(ctx, cur, true);

		if (IS_ERR(pt)) {
			knpu_context_unmap_locked(ctx, va, cur - va);
			return PTR_ERR(pt);
		}

		WRITE_ONCE(pt->entries[knpu_va_index(cur, KNPU_PT_LEVELS - 1)],
			   cpu_to_le64(knpu_pte_page(sg_page_iter_dma_address(&iter), prot)));
		cur += KNPU_PAGE_SIZE;
	}

	return 0;
}

/**
 * knpu_context_unmap_locked() - remove the mappings of a VA range
 * @ctx: the address space
 * @va: start, page aligned
 * @size: bytes, page aligned
 *
 * Invalidates the device TLB for @ctx before returning, so the pages can be
 * freed afterwards. Page tables stay allocated until the context goes.
 */
void knpu_context_unmap_locked(struct knpu_context *ctx, u64 va, u64 size)
{
	struct knpu_device *kdev = ctx->kdev;
	u64 cur;
	int idx;

	lockdep_assert_held(&ctx->lock);

	if (!size)
		return;

	for (cur = va; cur < va + size; cur += KNPU_PAGE_SIZE) {
		struct knpu_pt *pt = knpu_pt_walk_locked(ctx, cur, false);

		if (pt)
			WRITE_ONCE(pt->entries[knpu_va_index(cur, KNPU_PT_LEVELS - 1)], 0);
	}

	if (drm_dev_enter(&kdev->drm, &idx)) {
		knpu_hw_tlb_invalidate(kdev, ctx->asid);
		drm_dev_exit(idx);
	}
}

/**
 * knpu_context_create() - create an address space and give it an ASID
 * @kdev: the device
 *
 * Return: the context, or an ERR_PTR(): -EBUSY when every ASID is in use,
 * -ENOMEM, -ENODEV when the device is gone.
 */
struct knpu_context *knpu_context_create(struct knpu_device *kdev)
{
	struct knpu_context *ctx;
	int ret, idx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return ERR_PTR(-ENOMEM);

	kref_init(&ctx->ref);
	ctx->kdev = kdev;
	mutex_init(&ctx->lock);
	drm_mm_init(&ctx->mm, KNPU_VA_START, KNPU_VA_SIZE);

	ret = knpu_pt_init(kdev, &ctx->root, false);
	if (ret)
		goto err_free;

	ret = xa_alloc(&kdev->asid_xa, &ctx->asid, ctx,
		       XA_LIMIT(0, kdev->info.num_asids - 1), GFP_KERNEL);
	if (ret)
		goto err_pt;

	if (!drm_dev_enter(&kdev->drm, &idx)) {
		ret = -ENODEV;
		goto err_asid;
	}
	knpu_hw_as_set_root(kdev, ctx->asid, ctx->root.dma);
	drm_dev_exit(idx);

	return ctx;

err_asid:
	xa_erase(&kdev->asid_xa, ctx->asid);
err_pt:
	knpu_pt_fini(kdev, &ctx->root);
err_free:
	drm_mm_takedown(&ctx->mm);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
	return ERR_PTR(ret);
}

void knpu_context_release(struct kref *ref)
{
	struct knpu_context *ctx = container_of(ref, struct knpu_context, ref);
	struct knpu_device *kdev = ctx->kdev;
	int idx;

	if (drm_dev_enter(&kdev->drm, &idx)) {
		knpu_hw_as_clear(kdev, ctx->asid);
		drm_dev_exit(idx);
	}
	xa_erase(&kdev->asid_xa, ctx->asid);

	knpu_pt_fini(kdev, &ctx->root);
	drm_mm_takedown(&ctx->mm);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
}
