// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Device address spaces: one per open file, each with its own ASID and a
 * four-level page table in coherent host memory (hw-spec 6). Ranges are
 * mapped with 2 MiB block entries where the VA and the target are both
 * 2 MiB aligned, 4 KiB pages elsewhere; a table that becomes empty is freed
 * after the TLB invalidation that makes the device forget it.
 */

#include <linux/dma-mapping.h>
#include <linux/list.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>

#include "knpu_hw.h"
#include "knpu_mmu.h"

#define KNPU_PT_LEVEL_BLOCK	(KNPU_PT_LEVELS - 2)
#define KNPU_PT_LEVEL_PAGE	(KNPU_PT_LEVELS - 1)

static int knpu_pt_init(struct knpu_device *kdev, struct knpu_pt *pt, unsigned int level)
{
	pt->entries = dma_alloc_coherent(kdev->drm.dev, KNPU_PT_SIZE, &pt->dma,
					 GFP_KERNEL);
	if (!pt->entries)
		return -ENOMEM;

	if (level == KNPU_PT_LEVEL_PAGE)
		return 0;

	pt->children = kcalloc(KNPU_PT_ENTRIES, sizeof(*pt->children), GFP_KERNEL);
	if (!pt->children) {
		dma_free_coherent(kdev->drm.dev, KNPU_PT_SIZE, pt->entries, pt->dma);
		return -ENOMEM;
	}

	return 0;
}

/* Frees what @pt holds and every table below it; the device must not walk them. */
static void knpu_pt_fini(struct knpu_device *kdev, struct knpu_pt *pt)
{
	unsigned int i;

	/* A root already freed with its unplugged device. */
	if (!pt->entries)
		return;

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

static void knpu_pt_set(struct knpu_pt *pt, unsigned int idx, u64 pte)
{
	WRITE_ONCE(pt->entries[idx], cpu_to_le64(pte));
	pt->used++;
}

static void knpu_pt_clear(struct knpu_pt *pt, unsigned int idx)
{
	WRITE_ONCE(pt->entries[idx], 0);
	pt->used--;
}

/*
 * The table at @level whose entry maps @va, with the tables above it created
 * on the way down. A valid leaf where a table is needed means the VA range
 * was already mapped: -EEXIST.
 */
static struct knpu_pt *knpu_pt_walk_alloc_locked(struct knpu_context *ctx, u64 va,
						 unsigned int level)
{
	struct knpu_pt *pt = &ctx->root;
	unsigned int l;

	lockdep_assert_held(&ctx->lock);

	for (l = 0; l < level; l++) {
		unsigned int idx = knpu_va_index(va, l);
		struct knpu_pt *child = pt->children[idx];

		if (!child) {
			if (drm_WARN_ON(&ctx->kdev->drm, pt->entries[idx]))
				return ERR_PTR(-EEXIST);

			child = kzalloc(sizeof(*child), GFP_KERNEL);
			if (!child)
				return ERR_PTR(-ENOMEM);
			if (knpu_pt_init(ctx->kdev, child, l + 1)) {
				kfree(child);
				return ERR_PTR(-ENOMEM);
			}

			pt->children[idx] = child;
			knpu_pt_set(pt, idx, knpu_pte_table(child->dma));
		}
		pt = child;
	}

	return pt;
}

/* Its device was removed, and its page tables with it (knpu_contexts_unplug()). */
static bool knpu_context_unplugged_locked(struct knpu_context *ctx)
{
	lockdep_assert_held(&ctx->lock);

	return !ctx->root.entries;
}

/* Maps [@va, @va + @size) to [@addr, ...); no unwinding on failure. */
static int knpu_context_map_contiguous_locked(struct knpu_context *ctx, u64 va,
					      u64 addr, u64 size, u64 prot)
{
	bool large_pages = ctx->kdev->info.features & KNPU_FEATURE_LARGE_PAGES;
	u64 done = 0;

	while (done < size) {
		u64 leaf = knpu_mmu_leaf_size(va + done, addr + done, size - done, large_pages);
		unsigned int level = leaf == KNPU_BLOCK_SIZE ? KNPU_PT_LEVEL_BLOCK :
							       KNPU_PT_LEVEL_PAGE;
		struct knpu_pt *pt = knpu_pt_walk_alloc_locked(ctx, va + done, level);

		if (IS_ERR(pt))
			return PTR_ERR(pt);

		/* Fill this table while the leaf size stays the same. */
		do {
			unsigned int idx = knpu_va_index(va + done, level);

			if (drm_WARN_ON(&ctx->kdev->drm, pt->entries[idx]))
				return -EEXIST;
			knpu_pt_set(pt, idx, leaf == KNPU_BLOCK_SIZE ?
					     knpu_pte_block(addr + done, prot) :
					     knpu_pte_page(addr + done, prot));
			done += leaf;
		} while (done < size && knpu_va_index(va + done, level) &&
			 knpu_mmu_leaf_size(va + done, addr + done, size - done,
					    large_pages) == leaf);
	}

	return 0;
}

/**
 * knpu_context_map_range_locked() - map a contiguous range at a device VA
 * @ctx: the address space
 * @va: where, page aligned, in a range reserved in @ctx->mm
 * @addr: bus address, or device-memory offset with %KNPU_PTE_DEVMEM in @prot
 * @size: bytes, page aligned
 * @prot: leaf permission bits, see knpu_pte_prot(), and %KNPU_PTE_DEVMEM
 *
 * New entries need no TLB invalidation (hw-spec 6.3). On failure what was
 * mapped of the range is unmapped again.
 *
 * Return: 0, -ENOMEM, or -ENODEV when the device was removed.
 */
int knpu_context_map_range_locked(struct knpu_context *ctx, u64 va, u64 addr,
				  u64 size, u64 prot)
{
	int ret;

	if (knpu_context_unplugged_locked(ctx))
		return -ENODEV;

	ret = knpu_context_map_contiguous_locked(ctx, va, addr, size, prot);
	if (ret)
		knpu_context_unmap_locked(ctx, va, size);
	return ret;
}

/**
 * knpu_context_map_locked() - map DMA-mapped pages at a device VA
 * @ctx: the address space
 * @va: where, page aligned, in a range reserved in @ctx->mm
 * @sgt: the pages, DMA-mapped for the device
 * @prot: leaf permission bits, see knpu_pte_prot()
 *
 * Each DMA segment is mapped with the largest leaves its alignment allows.
 * New entries need no TLB invalidation (hw-spec 6.3). On failure the pages
 * mapped so far are unmapped again.
 *
 * Return: 0, -ENOMEM, or -ENODEV when the device was removed.
 */
int knpu_context_map_locked(struct knpu_context *ctx, u64 va,
			    struct sg_table *sgt, u64 prot)
{
	struct scatterlist *sg;
	u64 cur = va;
	unsigned int i;
	int ret;

	if (knpu_context_unplugged_locked(ctx))
		return -ENODEV;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		ret = knpu_context_map_contiguous_locked(ctx, cur, sg_dma_address(sg),
							 sg_dma_len(sg), prot);
		cur += sg_dma_len(sg);
		if (ret) {
			knpu_context_unmap_locked(ctx, va, cur - va);
			return ret;
		}
	}

	return 0;
}

/* VA span one entry of a level-@level table covers. */
static u64 knpu_pt_entry_span(unsigned int level)
{
	return BIT_ULL(KNPU_PT_SHIFT_L3 +
		       KNPU_PT_BITS_PER_LEVEL * (KNPU_PT_LEVELS - 1 - level));
}

/*
 * Clears the leaves of [@va, @end) under @pt (a level-@level table) and
 * moves the tables that become empty to @empty, detached from their parent.
 */
static void knpu_pt_unmap(struct knpu_context *ctx, struct knpu_pt *pt,
			  unsigned int level, u64 va, u64 end,
			  struct list_head *empty)
{
	u64 span = knpu_pt_entry_span(level);

	while (va < end) {
		unsigned int idx = knpu_va_index(va, level);
		u64 next = min(round_down(va, span) + span, end);
		struct knpu_pt *child = pt->children ? pt->children[idx] : NULL;

		if (child) {
			knpu_pt_unmap(ctx, child, level + 1, va, next, empty);
			if (!child->used) {
				pt->children[idx] = NULL;
				knpu_pt_clear(pt, idx);
				list_add(&child->free_link, empty);
			}
		} else if (pt->entries[idx]) {
			/* A leaf: ranges are mapped and unmapped whole. */
			drm_WARN_ON(&ctx->kdev->drm, !IS_ALIGNED(va, span) || next - va != span);
			knpu_pt_clear(pt, idx);
		}
		va = next;
	}
}

/**
 * knpu_context_unmap_locked() - remove the mappings of a VA range
 * @ctx: the address space
 * @va: start, page aligned
 * @size: bytes, page aligned; covers whole ranges mapped before
 *
 * Invalidates the device TLB for @ctx before returning, so the pages can be
 * freed afterwards; page tables left empty are freed after the invalidation.
 */
void knpu_context_unmap_locked(struct knpu_context *ctx, u64 va, u64 size)
{
	struct knpu_device *kdev = ctx->kdev;
	struct knpu_pt *pt, *next;
	LIST_HEAD(empty);
	int idx;

	if (!size || knpu_context_unplugged_locked(ctx))
		return;

	knpu_pt_unmap(ctx, &ctx->root, 0, va, va + size, &empty);

	/* A device that is gone was reset first: it walks nothing any more. */
	if (drm_dev_enter(&kdev->drm, &idx)) {
		knpu_hw_tlb_invalidate(kdev, ctx->asid);
		drm_dev_exit(idx);
	}

	list_for_each_entry_safe(pt, next, &empty, free_link) {
		knpu_pt_fini(kdev, pt);
		kfree(pt);
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

	ret = knpu_pt_init(kdev, &ctx->root, 0);
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

/*
 * Frees the page tables of an address space whose device was removed; its
 * buffers' mappings go with them, and unmapping them later is a no-op.
 */
static void knpu_context_unplug(struct knpu_context *ctx)
{
	guard(mutex)(&ctx->lock);
	knpu_pt_fini(ctx->kdev, &ctx->root);
	ctx->root = (struct knpu_pt) { };
}

/* The first live context at or after ASID *@asid, with a reference, or NULL. */
static struct knpu_context *knpu_context_get_next(struct knpu_device *kdev,
						  unsigned long *asid)
{
	struct knpu_context *ctx;

	xa_lock(&kdev->asid_xa);
	xa_for_each_start(&kdev->asid_xa, *asid, ctx, *asid) {
		/* One being released frees its own tables. */
		if (kref_get_unless_zero(&ctx->ref))
			break;
	}
	xa_unlock(&kdev->asid_xa);

	return ctx;
}

/**
 * knpu_contexts_unplug() - free every address space's page tables
 * @kdev: the device, removed and reset: it walks no page table any more
 *
 * The contexts live on with their files, but no coherent memory may outlive
 * the driver's binding.
 */
void knpu_contexts_unplug(struct knpu_device *kdev)
{
	struct knpu_context *ctx;
	unsigned long asid;

	for (asid = 0; (ctx = knpu_context_get_next(kdev, &asid)); asid++) {
		knpu_context_unplug(ctx);
		knpu_context_put(ctx);
	}
}

void knpu_context_release(struct kref *ref)
{
	struct knpu_context *ctx = container_of(ref, struct knpu_context, ref);
	struct knpu_device *kdev = ctx->kdev;
	int idx;

	/*
	 * Cleared and unlisted at once: a device reset restores every listed
	 * address space (knpu_hw_as_restore_all()), and would otherwise make
	 * this one valid again with the page tables freed below.
	 */
	xa_lock(&kdev->asid_xa);
	if (drm_dev_enter(&kdev->drm, &idx)) {
		knpu_hw_as_clear_locked(kdev, ctx->asid);
		drm_dev_exit(idx);
	}
	__xa_erase(&kdev->asid_xa, ctx->asid);
	xa_unlock(&kdev->asid_xa);

	/* Every buffer unmapped itself: only the root is left. */
	drm_WARN_ON(&kdev->drm, ctx->root.used);
	drm_WARN_ON(&kdev->drm, atomic64_read(&ctx->pinned_bytes));
	knpu_pt_fini(kdev, &ctx->root);
	drm_mm_takedown(&ctx->mm);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
}
